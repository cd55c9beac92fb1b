/** Timers a breaker arms for others (the Nest layer times Observable calls with them); dispose() clears them all. */
import type { Clock } from './clock.js';
import { cancelTimer, scheduleTimer } from './clock.js';

export class OwnedTimers {
  /** Made on first use: most breakers never arm one. */
  private handles: Set<unknown> | null = null;

  /** Runs `callback` after `delayMs` on `clock`; returns a function that cancels it. */
  schedule(clock: Clock, callback: () => void, delayMs: number): () => void {
    const handles = (this.handles ??= new Set());
    let handle: unknown;
    const fire = (): void => {
      handles.delete(handle);
      callback();
    };
    handle = scheduleTimer(clock, fire, delayMs);
    handles.add(handle);
    return () => {
      if (handles.delete(handle)) cancelTimer(clock, handle);
    };
  }

  clear(clock: Clock): void {
    if (this.handles === null) return;
    for (const handle of this.handles) cancelTimer(clock, handle);
    this.handles.clear();
  }
}
