import type { FleetWindowSpec } from '../fleet/store.js';
import { MAX_TIMER_MS, own } from '../validator.js';
import type { SlidingWindow, WindowType } from './sliding-window.js';
import { FAILURE, SLOW } from './sliding-window.js';

/** The calls of the last `durationMs`, kept in `buckets` equal slices that expire one at a time. */
export interface TimeWindowOptions {
  type: 'time';
  /** Window length in milliseconds, in (0, 2147483647]. Required (no default), like a count window's `size`. */
  durationMs: number;
  /**
   * Number of slices; the window's resolution is `durationMs / buckets`, at least 1 ms.
   * Integer in [1, 1000]. Default 10 (fewer for a window shorter than 10 ms).
   */
  buckets?: number;
}

export const DEFAULT_TIME_WINDOW_BUCKETS = 10;

export const timeWindow: WindowType<TimeWindowOptions, Required<TimeWindowOptions>> = {
  keys: ['durationMs', 'buckets'],
  resolve(v, options) {
    // Required, as the type says: a silent 60 s would be a window length nobody chose.
    const durationMs = v.number(
      'slidingWindow.durationMs',
      own(options, 'durationMs'),
      undefined,
      (n) => n > 0 && n <= MAX_TIMER_MS,
      `a number of ms in (0, ${MAX_TIMER_MS}] (required: a time window needs its durationMs, e.g. 60000)`,
    );
    const rawBuckets = own(options, 'buckets');
    // The default keeps a slice at least 1 ms long in windows shorter than 10 ms.
    const buckets = rawBuckets === undefined ? Math.max(1, Math.min(DEFAULT_TIME_WINDOW_BUCKETS, Math.floor(durationMs))) : v.integer('slidingWindow.buckets', rawBuckets, 1, 1000, 'an integer in [1, 1000]');
    if (durationMs / buckets < 1) {
      v.fail('slidingWindow.buckets', buckets, `an integer in [1, ${Math.floor(durationMs)}] for durationMs = ${durationMs} (a slice, durationMs / buckets, lasts at least 1 ms)`);
    }
    return { type: 'time', durationMs, buckets };
  },
  create: ({ durationMs, buckets }) => new TimeWindow(durationMs, buckets),
  capacity: () => Number.POSITIVE_INFINITY,
  fleet: ({ durationMs, buckets }): FleetWindowSpec => ({ bucketMs: durationMs / buckets, buckets, countLimit: 0 }),
};

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
  readonly sliceMs: number;
  private readonly bucketCalls: Int32Array;
  private readonly bucketFailures: Int32Array;
  private readonly bucketSlow: Int32Array;
  /** Absolute slice number (floor(now / sliceMs)) of the newest slice, NaN while never used. */
  private head = Number.NaN;
  /** The newest slice's position in the arrays, and when it ends: a call before then needs no arithmetic. */
  private headSlot = 0;
  private headEndsAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly durationMs: number,
    readonly buckets: number,
  ) {
    this.sliceMs = durationMs / buckets;
    this.bucketCalls = new Int32Array(buckets);
    this.bucketFailures = new Int32Array(buckets);
    this.bucketSlow = new Int32Array(buckets);
  }

  record(outcome: number, nowMs: number): void {
    // Before the newest slice ends (or a clock that stepped back): it goes into the newest slice.
    if (nowMs >= this.headEndsAt) this.advance(nowMs);
    const slot = this.headSlot;
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

  recordSuccess(nowMs: number): void {
    this.record(0, nowMs);
  }

  advance(nowMs: number): void {
    const current = Math.floor(nowMs / this.sliceMs);
    const head = this.head;
    if (current <= head) return; // same slice, or a clock that stepped back: keep the newest slice
    if (head === head) {
      // Clear every slice that elapsed, at most all of them: an idle window keeps nothing stale.
      const steps = Math.min(current - head, this.buckets);
      for (let i = 1; i <= steps; i++) this.clearSlot(this.slot(head + i));
    }
    this.head = current;
    this.headSlot = this.slot(current);
    this.headEndsAt = (current + 1) * this.sliceMs;
  }

  clear(): void {
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
    this.calls = this.failures = this.slowCalls = 0;
    this.head = Number.NaN;
    this.headEndsAt = Number.NEGATIVE_INFINITY;
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
