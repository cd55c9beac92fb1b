/**
 * The Nest layer's calls into the engine that run or record a whole call, kept in one place, so a
 * change of the engine's entry points is followed here only.
 */
import type { CircuitBreaker } from './core/circuit-breaker.js';
import { CircuitBreakerTimeoutError } from './core/errors.js';
import { isThenable } from './method-shape.js';

/**
 * Runs `fn` (known to return promises) through the breaker: its promise, tracked (timeout,
 * AbortSignal when `fn` declares a parameter), or a rejected promise when the circuit refuses it.
 * A synchronous throw from `fn` is recorded and comes back as a rejection; a plain value it returns
 * after all is recorded as a success and comes back resolved.
 */
export function executePromise(breaker: CircuitBreaker, fn: (signal?: AbortSignal) => unknown): PromiseLike<unknown> {
  // execute() always answers with a promise: a refusal, a sync throw and a plain value included.
  return breaker.execute(fn);
}

/** Start time to pass to `record*`: read only when the breaker measures slow calls. */
export function startTime(breaker: CircuitBreaker): number {
  return breaker.options.slowCallDurationMs === undefined && breaker.timedObservers === 0 ? Number.NaN : breaker.now();
}

/**
 * Records the outcome of a promise a permitted call returned when its shape was not known in
 * advance (the engine's own tracking needs the function before the call): success, failure, or a
 * timeout after `timeoutMs` that aborts `controller` and ignores the late outcome. The timer is
 * the breaker's, so `dispose()` (app.close()) clears it.
 */
export function trackPromise(
  breaker: CircuitBreaker,
  permit: number,
  promise: PromiseLike<unknown>,
  startedAt: number,
  controller: AbortController | undefined,
): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let done = false;
    const timeoutMs = breaker.options.timeoutMs;
    const stopTimer =
      timeoutMs === undefined
        ? undefined
        : breaker.schedule(() => {
            if (done) return;
            done = true;
            const error = new CircuitBreakerTimeoutError(breaker.name, timeoutMs);
            controller?.abort(error);
            breaker.recordFailure(permit, error, startedAt);
            reject(error);
          }, timeoutMs);
    const settle = (failed: boolean, outcome: unknown): void => {
      if (done) return;
      done = true;
      stopTimer?.();
      if (failed) {
        breaker.recordFailure(permit, outcome, startedAt);
        reject(outcome);
      } else {
        breaker.recordSuccess(permit, outcome, startedAt);
        resolve(outcome);
      }
    };
    try {
      promise.then(
        (value) => settle(false, value),
        (error: unknown) => settle(true, error),
      );
    } catch (error) {
      settle(true, error); // a thenable whose then() throws failed now
    }
  });
}
