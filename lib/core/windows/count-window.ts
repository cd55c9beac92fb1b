import type { FleetWindowSpec } from '../fleet/store.js';
import { own } from '../validator.js';
import type { SlidingWindow, WindowType } from './sliding-window.js';
import { FAILURE, SLOW } from './sliding-window.js';

/** The last `size` recorded calls. */
export interface CountWindowOptions {
  type: 'count';
  /** Number of calls kept. Integer in [1, 1_000_000]. Required (100 is only the default window's size). */
  size: number;
}

export const DEFAULT_COUNT_WINDOW_SIZE = 100;

/** A count window's fleet copy: 1 s slices, summed (newest first) back at most 60 s or `size` calls. */
export const COUNT_WINDOW_BUCKET_MS = 1_000;
export const COUNT_WINDOW_HORIZON_BUCKETS = 60;

export const countWindow: WindowType<CountWindowOptions> = {
  keys: ['size'],
  resolve(v, options) {
    return { type: 'count', size: v.integer('slidingWindow.size', own(options, 'size'), 1, 1_000_000, 'an integer in [1, 1000000] (required: a count window needs its size, e.g. 100)') };
  },
  create: ({ size }) => new CountWindow(size),
  capacity: ({ size }) => size,
  fleet: ({ size }): FleetWindowSpec => ({ bucketMs: COUNT_WINDOW_BUCKET_MS, buckets: COUNT_WINDOW_HORIZON_BUCKETS, countLimit: size }),
};

/** The last `size` calls, as a ring of outcome bytes. */
export class CountWindow implements SlidingWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  readonly usesTime = false;
  readonly sliceMs = 0;
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

  recordSuccess(): void {
    // A full window of plain successes: every slot holds 0 and another 0 changes nothing (where the
    // ring stands does not matter while it is all zeros).
    if (this.calls === this.size && this.failures === 0 && this.slowCalls === 0) return;
    this.record(0);
  }

  advance(): void {}

  clear(): void {
    this.calls = this.failures = this.slowCalls = 0;
    this.next = 0;
  }
}
