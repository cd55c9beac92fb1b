/**
 * Time source of a breaker. `now()` is read on the paths that need it (open, half-open, timeouts,
 * slow-call and time-window tracking), never on the plain closed success path.
 *
 * `setTimeout` / `clearTimeout` are optional: a clock that provides them also drives the breaker's
 * timers (per-call deadlines, half-open probe timeouts, health-check polls), which is what makes
 * {@link ManualClock} fully deterministic in tests. Without them the global timers are used, unref'd.
 */
export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
  setTimeout?(callback: () => void, delayMs: number): unknown;
  clearTimeout?(handle: unknown): void;
}

const timeOrigin = performance.timeOrigin;

/** Monotonic, and reads as epoch milliseconds (`performance.timeOrigin + performance.now()`). */
export const monotonicClock: Clock = {
  now: () => timeOrigin + performance.now(),
};

/**
 * Runs `callback` after `delayMs` on the clock's timers, or on an unref'd global timer so that a
 * breaker never keeps the process alive.
 */
export function scheduleTimer(clock: Clock, callback: () => void, delayMs: number): unknown {
  if (hasTimers(clock)) return clock.setTimeout!(callback, delayMs);
  const handle = setTimeout(callback, delayMs);
  handle.unref();
  return handle;
}

export function cancelTimer(clock: Clock, handle: unknown): void {
  if (hasTimers(clock)) clock.clearTimeout!(handle);
  else clearTimeout(handle as ReturnType<typeof setTimeout>);
}

/** The clock brings its own timers (its own or its class's; never ones inherited from Object.prototype). */
function hasTimers(clock: Clock): boolean {
  return clock.setTimeout !== undefined && clock.setTimeout !== (Object.prototype as { setTimeout?: unknown }).setTimeout;
}
