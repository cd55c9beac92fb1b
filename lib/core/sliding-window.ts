/**
 * The calls a breaker judges its rates on. Both implementations are O(1) per recorded call (a time
 * window's rotation is amortised: each bucket is cleared at most once per period) and hold
 * memory proportional to their size only.
 */
export interface SlidingWindow {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** True when `record` and `advance` use the time they are given. */
  readonly usesTime: boolean;
  /** Records one completed call. `outcome` is a bit set of {@link FAILURE} and {@link SLOW}. */
  record(outcome: number, nowMs: number): void;
  /** Drops outcomes that have aged out by `nowMs` (time windows only). */
  advance(nowMs: number): void;
  clear(): void;
}

export const FAILURE = 1;
export const SLOW = 2;

/** The last `size` calls, as a ring of outcome bytes. */
export class CountWindow implements SlidingWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly usesTime = false;
  private readonly ring: Uint8Array;
  private next = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  record(outcome: number): void {
    const i = this.next;
    if (this.calls === this.size) {
      const evicted = this.ring[i]!;
      this.failures -= evicted & FAILURE;
      this.slowCalls -= (evicted & SLOW) >> 1;
    } else {
      this.calls++;
    }
    this.ring[i] = outcome;
    this.failures += outcome & FAILURE;
    this.slowCalls += (outcome & SLOW) >> 1;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  advance(): void {}

  clear(): void {
    this.calls = this.failures = this.slowCalls = 0;
    this.next = 0;
  }
}

/**
 * The calls of the last `durationMs`, in `buckets` slices of `durationMs / buckets` each. An outcome
 * leaves the window when its whole slice has aged out, so the window covers between
 * `durationMs - durationMs / buckets` and `durationMs` of history (its resolution is one slice).
 */
export class TimeWindow implements SlidingWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly usesTime = true;
  private readonly bucketMs: number;
  private readonly bucketCalls: Int32Array;
  private readonly bucketFailures: Int32Array;
  private readonly bucketSlow: Int32Array;
  /** Absolute slice number (floor(now / bucketMs)) of the newest slice, NaN while never used. */
  private head = Number.NaN;

  constructor(
    readonly durationMs: number,
    readonly buckets: number,
  ) {
    this.bucketMs = durationMs / buckets;
    this.bucketCalls = new Int32Array(buckets);
    this.bucketFailures = new Int32Array(buckets);
    this.bucketSlow = new Int32Array(buckets);
  }

  record(outcome: number, nowMs: number): void {
    this.advance(nowMs);
    const slot = this.slot(this.head);
    this.bucketCalls[slot]!++;
    this.calls++;
    if (outcome & FAILURE) {
      this.bucketFailures[slot]!++;
      this.failures++;
    }
    if (outcome & SLOW) {
      this.bucketSlow[slot]!++;
      this.slowCalls++;
    }
  }

  advance(nowMs: number): void {
    const current = Math.floor(nowMs / this.bucketMs);
    const head = this.head;
    if (current <= head) return; // same slice, or a clock that stepped back: keep the newest slice
    if (head !== head) {
      this.head = current; // first use
      return;
    }
    // Clear every slice that elapsed, at most all of them: an idle window keeps nothing stale.
    const steps = Math.min(current - head, this.buckets);
    for (let i = 1; i <= steps; i++) this.clearSlot(this.slot(head + i));
    this.head = current;
  }

  clear(): void {
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
    this.calls = this.failures = this.slowCalls = 0;
    this.head = Number.NaN;
  }

  private clearSlot(slot: number): void {
    this.calls -= this.bucketCalls[slot]!;
    this.failures -= this.bucketFailures[slot]!;
    this.slowCalls -= this.bucketSlow[slot]!;
    this.bucketCalls[slot] = 0;
    this.bucketFailures[slot] = 0;
    this.bucketSlow[slot] = 0;
  }

  private slot(absolute: number): number {
    const slot = absolute % this.buckets;
    return slot < 0 ? slot + this.buckets : slot;
  }
}

export function createWindow(options: { type: 'count'; size: number } | { type: 'time'; durationMs: number; buckets: number }): SlidingWindow {
  return options.type === 'count' ? new CountWindow(options.size) : new TimeWindow(options.durationMs, options.buckets);
}
