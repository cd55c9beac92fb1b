/**
 * Time source of a breaker. `now()` is read on the paths that need it (open, half-open, timeouts,
 * slow-call and time-window tracking), never on the plain closed success path.
 *
 * `setTimeout` / `clearTimeout` are optional: a clock that provides them also drives the breaker's
 * timers (per-call deadlines, half-open probe timeouts, health-check polls), which is what makes
 * {@link ManualClock} fully deterministic in tests. Without them the global timers are used, unref'd
 * (a deadline timer is ref'd only when the process would otherwise exit with a call waiting on it:
 * deadlines.ts, holdWaitingCalls).
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

/**
 * Whether a global timer from {@link scheduleTimer} keeps the process alive. A deadline does while a
 * call waits on it (the caller's promise is real work: `await breaker.execute(hung)` at the top of a
 * script must reject with its timeout, not let the process exit under it), and stops as soon as no
 * call does. Timers of a clock's own (ManualClock) are left alone.
 */
export function holdProcess(clock: Clock, handle: unknown, hold: boolean): void {
  if (hasTimers(clock) || handle === undefined) return;
  const timer = handle as ReturnType<typeof setTimeout>;
  if (hold) timer.ref();
  else timer.unref();
}

export function cancelTimer(clock: Clock, handle: unknown): void {
  if (hasTimers(clock)) clock.clearTimeout!(handle);
  else clearTimeout(handle as ReturnType<typeof setTimeout>);
}

/** {@link scheduleTimer}, and the function that cancels it. */
export function cancellableTimer(clock: Clock, callback: () => void, delayMs: number): () => void {
  const handle = scheduleTimer(clock, callback, delayMs);
  return () => cancelTimer(clock, handle);
}

/** The clock brings its own timers (its own or its class's; never ones inherited from Object.prototype). */
function hasTimers(clock: Clock): boolean {
  return clock.setTimeout !== undefined && clock.setTimeout !== (Object.prototype as { setTimeout?: unknown }).setTimeout;
}
