/**
 * A clock for time windows that costs a field read instead of a `performance.now()` per call (a
 * clock read costs about as much as the `await` a breaker wraps). One ticker, shared by every
 * breaker of the process, refreshes the time every {@link COARSE_CLOCK_RESOLUTION_MS}; it is
 * unref'd (it never keeps the process alive) and stops after one tick without a read, so an idle
 * process has no timer at all.
 *
 * Two readers, both only on the default clock (an injected clock, a ManualClock in tests, is
 * always read directly):
 * - time windows whose slices last at least {@link COARSE_CLOCK_MIN_SLICE_MS}: an outcome lands in
 *   the slice that was current up to 10 ms before it completed (longer while the event loop is
 *   blocked), at most 1 % of a slice;
 * - the start of a call with `timeoutMs` and no slow-call tracking: its deadline gets the resolution
 *   on top, so a timeout fires up to 10 ms late, never early while the event loop is responsive (a
 *   call started during a long synchronous block reads the time from before the block).
 */
import type { Clock } from './clock.js';
import { monotonicClock } from './clock.js';

export const COARSE_CLOCK_RESOLUTION_MS = 10;
export const COARSE_CLOCK_MIN_SLICE_MS = 1_000;

let cachedNow = 0;
let ticker: ReturnType<typeof setInterval> | undefined;
let readSinceTick = false;

function tick(): void {
  if (!readSinceTick) {
    clearInterval(ticker);
    ticker = undefined;
    return;
  }
  readSinceTick = false;
  cachedNow = monotonicClock.now();
}

export const coarseClock: Clock = {
  now(): number {
    readSinceTick = true;
    if (ticker === undefined) {
      cachedNow = monotonicClock.now();
      ticker = setInterval(tick, COARSE_CLOCK_RESOLUTION_MS);
      ticker.unref();
    }
    return cachedNow;
  },
};

/** The clock a window reads: the coarse one where its resolution is negligible, else the breaker's. */
export function windowClock(clock: Clock, sliceMs: number): Clock {
  return clock === monotonicClock && sliceMs >= COARSE_CLOCK_MIN_SLICE_MS ? coarseClock : clock;
}
