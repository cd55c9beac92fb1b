import type { Clock } from './clock.js';

interface ManualTimer {
  readonly dueAt: number;
  readonly seq: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to, with timers that fire inside {@link ManualClock.advance}.
 * For tests of code that uses breakers: no sleeping, no fake global timers, fully deterministic.
 *
 * ```ts
 * const clock = new ManualClock();
 * const breaker = new CircuitBreaker({ name: 'payments', clock, openDurationMs: 1_000 });
 * clock.advance(1_000); // timers due by then run, in due order
 * ```
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const timer: ManualTimer = { dueAt: this.current + Math.max(0, delayMs), seq: this.seq++, callback };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const index = this.timers.indexOf(handle as ManualTimer);
    if (index !== -1) this.timers.splice(index, 1);
  }

  /** Number of timers scheduled and not yet fired or cleared (a breaker's leak check in tests). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way at its own due time. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.dueAt <= target && (next === undefined || timer.dueAt < next.dueAt || (timer.dueAt === next.dueAt && timer.seq < next.seq))) {
          next = timer;
        }
      }
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = Math.max(this.current, next.dueAt);
      next.callback();
    }
    this.current = target;
  }
}
