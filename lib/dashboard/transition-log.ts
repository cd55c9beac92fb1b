/**
 * The last transitions of every breaker, numbered, for streams that have not been sent them yet.
 * A stream that falls further behind than the log reaches is sent a snapshot instead.
 */
import type { DashboardTransition } from './dashboard-events.js';

export class TransitionLog {
  private readonly entries: { readonly id: number; readonly json: string }[] = [];
  /** The id of the newest transition; 0 before the first. */
  lastId = 0;

  constructor(private readonly capacity: number) {}

  nextId(): number {
    return this.lastId + 1;
  }

  add(transition: DashboardTransition): void {
    this.lastId = transition.id;
    this.entries.push({ id: transition.id, json: JSON.stringify(transition) });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** True when every transition after `id` is still here. */
  reaches(id: number): boolean {
    return id >= (this.entries[0]?.id ?? this.lastId + 1) - 1;
  }

  /** The transitions after `id`, as the JSON array of a `transitions` event. */
  jsonAfter(id: number): string {
    return `[${this.entries
      .filter((entry) => entry.id > id)
      .map((entry) => entry.json)
      .join(',')}]`;
  }
}
