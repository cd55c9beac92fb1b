/**
 * Runs one call through a breaker: admission, the shape of what `fn` returns (a value, a throw, a
 * promise or another thenable), per-call timeouts and the rejection of a call the circuit does not
 * admit. The breaker's fast path (closed, no timeout, no slow-call tracking, a native promise) lives
 * in CircuitBreaker.execute itself; everything else comes here.
 *
 * Hot-path rules (bench/ measures them): no clock read unless a timeout or slow-call tracking needs
 * it; no timer and no AbortController per call (deadlines.ts); no stack capture per rejection.
 */
import { AsyncResource } from 'node:async_hooks';
import type { CircuitBreaker } from './circuit-breaker.js';
import { monotonicClock } from './clock.js';
import { COARSE_CLOCK_RESOLUTION_MS, coarseClock } from './coarse-clock.js';
import { DeadlineQueue, PendingCall, promiseFor } from './deadlines.js';
import { CircuitBreakerTimeoutError } from './errors.js';
import { NOT_PERMITTED, TIMED_OUT } from './states/state.js';

const promiseThen = Promise.prototype.then;

type Thenable = { then: (onFulfilled: (value: unknown) => unknown, onRejected: (reason: unknown) => unknown) => unknown };

export function isThenable(value: unknown): value is Thenable {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs `fn` through `breaker` (every path but execute's closed fast path). `sync` is the shape of the
 * entry point: executeSync returns fn's value and throws (its own error, or CircuitOpenError) as it
 * comes; execute turns both into a promise. A thenable fn returns is followed either way.
 */
export function runCall<T>(breaker: CircuitBreaker, fn: (signal?: AbortSignal) => T, sync: boolean): unknown {
  if (typeof fn !== 'function') {
    const error = new TypeError(`Circuit breaker "${breaker.name}": ${sync ? 'executeSync' : 'execute'}() expects a function, got ${typeof fn}`);
    if (sync) throw error;
    return Promise.reject(error);
  }
  const permit = breaker.acquire();
  if (permit === NOT_PERMITTED) {
    const error = breaker.rejection();
    if (sync) throw error;
    return breaker.rejections!.promiseFor(error);
  }
  const opts = breaker.opts;
  if (opts.timeoutMs !== undefined) return runTimed(breaker, fn, permit, sync);
  // A start is read for slow-call tracking, or while an observer needs every call's duration (a recorder).
  const startedAt = opts.slowCallDurationMs !== undefined || breaker.timedObservers !== 0 ? opts.clock.now() : Number.NaN;
  let result: T;
  try {
    result = fn();
    if (isThenable(result)) {
      if (result instanceof Promise) {
        // No clock needed: record through the reactions made once per generation (no closure, no
        // async frame, no promise of ours per call). With a start to time from, through reactions
        // of this call's own. Either way the caller gets fn's own promise (docs/engine.md).
        return startedAt !== startedAt ? observe(breaker, result, permit) : observeTimed(breaker, result, permit, startedAt);
      }
      return follow(breaker, result, permit, startedAt);
    }
  } catch (error) {
    // fn threw, or its result's `then` did: the call failed now.
    breaker.recordError(permit, error, startedAt);
    if (sync) throw error;
    return Promise.reject(error);
  }
  breaker.recordResult(permit, result, startedAt);
  return sync ? result : Promise.resolve(result);
}

/**
 * The reactions that record a native promise's outcome for one permit: made once per generation, not
 * per call. They observe the promise beside the caller (execute hands back fn's own promise), so they
 * never throw and never rethrow: what they return goes nowhere.
 */
export interface Reactions {
  readonly permit: number;
  readonly fulfilled: (value: unknown) => void;
  readonly rejected: (error: unknown) => void;
}

/** Before the first promise: no permit matches. */
export const NO_REACTIONS: Reactions = { permit: -1, fulfilled: () => {}, rejected: () => {} };

export function makeReactions(breaker: CircuitBreaker, permit: number, startedAt = Number.NaN): Reactions {
  return {
    permit,
    fulfilled: (value) => {
      try {
        breaker.recordResult(permit, value, startedAt);
      } catch (error) {
        reportRecordingError(breaker, error);
      }
    },
    rejected: (error) => {
      try {
        breaker.recordError(permit, error, startedAt);
      } catch (internal) {
        reportRecordingError(breaker, internal);
      }
    },
  };
}

function reportRecordingError(breaker: CircuitBreaker, error: unknown): void {
  breaker.onInternalError(error, `recording a call of circuit breaker "${breaker.name}"`);
}

/**
 * Records a native promise's outcome without a promise of our own in between: the reactions are
 * registered on `promise` before the caller can register its own, so the outcome is recorded before
 * the caller resumes, one microtask sooner than a `then` chain would let it (bench/: closed success
 * about 1.9x a bare await instead of 2.3-2.6x on the same host). The caller gets fn's own promise back.
 */
export function observe(breaker: CircuitBreaker, promise: Promise<unknown>, permit: number): Promise<unknown> {
  let reactions = breaker.reactions;
  if (reactions.permit !== permit) breaker.reactions = reactions = makeReactions(breaker, permit);
  void promise.then(reactions.fulfilled, reactions.rejected);
  return promise;
}

/** {@link observe} for a call with a start (slow-call tracking, a recorder): reactions of its own. */
function observeTimed(breaker: CircuitBreaker, promise: Promise<unknown>, permit: number, startedAt: number): Promise<unknown> {
  const reactions = makeReactions(breaker, permit, startedAt);
  void promise.then(reactions.fulfilled, reactions.rejected);
  return promise;
}

/** execute's fast path, for a result that is not a native promise: followed if a thenable, else recorded. */
export function settleOther(breaker: CircuitBreaker, result: unknown, permit: number): Promise<unknown> {
  try {
    if (isThenable(result)) return follow(breaker, result, permit, Number.NaN);
  } catch (error) {
    breaker.recordError(permit, error, Number.NaN); // a `then` getter that throws
    return Promise.reject(error);
  }
  breaker.recordResult(permit, result, Number.NaN);
  return Promise.resolve(result);
}

async function follow(breaker: CircuitBreaker, thenable: Thenable, permit: number, startedAt: number): Promise<unknown> {
  let value: unknown;
  try {
    value = await thenable;
  } catch (error) {
    breaker.recordError(permit, error, startedAt);
    throw error;
  }
  breaker.recordResult(permit, value, startedAt);
  return value;
}

function runTimed<T>(breaker: CircuitBreaker, fn: (signal?: AbortSignal) => T, permit: number, sync: boolean): unknown {
  const opts = breaker.opts;
  // On the default clock, without slow-call tracking, a timed call reads the shared coarse clock (a
  // clock read costs as much as the await itself). Its deadline then gets the clock's resolution on
  // top: a timeout fires up to 10 ms late, never early.
  const coarse = opts.clock === monotonicClock && opts.slowCallDurationMs === undefined && breaker.timedObservers === 0;
  const startedAt = coarse ? coarseClock.now() : opts.clock.now();
  const timeoutMs = opts.timeoutMs!;
  const controller = fn.length > 0 ? new AbortController() : undefined;
  let result: T;
  try {
    result = controller === undefined ? fn() : fn(controller.signal);
  } catch (error) {
    breaker.recordError(permit, error, startedAt);
    if (sync) throw error;
    return Promise.reject(error);
  }
  let then: Thenable['then'] | undefined;
  try {
    // A native promise (the usual case) skips the generic thenable test.
    then = result instanceof Promise ? (result.then as Thenable['then']) : isThenable(result) ? result.then : undefined;
  } catch (error) {
    // A `then` getter that throws: the call failed now.
    breaker.recordError(permit, error, startedAt);
    if (sync) throw error;
    return Promise.reject(error);
  }
  if (then === undefined) {
    // A sync function cannot be interrupted; it is recorded like any other call.
    breaker.recordResult(permit, result, startedAt);
    return sync ? result : Promise.resolve(result);
  }
  // Also after dispose(): a call to a hung dependency must still time out (the queue then keeps no
  // timer once it is empty; see DeadlineQueue.drain).
  const queue = (breaker.deadlines ??= newDeadlineQueue(breaker));
  const call = queue.take() ?? newPendingCall(breaker);
  call.done = false;
  call.permit = permit;
  call.startedAt = startedAt;
  call.timeoutMs = timeoutMs;
  call.deadline = startedAt + timeoutMs + (coarse ? COARSE_CLOCK_RESOLUTION_MS : 0);
  call.controller = controller;
  call.native = then === promiseThen;
  const promise = promiseFor(call);
  // An AsyncResource: about 70 ns here, where AsyncLocalStorage.snapshot() costs about 15 µs on Node 20.
  if (breaker.listening) call.context = new AsyncResource('CircuitBreakerTimedCall');
  queue.add(call, startedAt);
  try {
    if (call.native) (result as Promise<unknown>).then(call.fulfilled, call.rejected);
    else then.call(result, call.fulfilled, call.rejected);
  } catch (error) {
    // A thenable whose then() throws: the call failed now, not at its deadline.
    settledInTime(breaker, call, error, true);
  }
  return promise;
}

function newDeadlineQueue(breaker: CircuitBreaker): DeadlineQueue {
  const queue = new DeadlineQueue(
    () => breaker.opts.clock,
    (expired, now) => expire(breaker, expired, now),
  );
  if (breaker.disposed) queue.drain();
  return queue;
}

function newPendingCall(breaker: CircuitBreaker): PendingCall {
  const call: PendingCall = new PendingCall(
    (value) => settledInTime(breaker, call, value, false),
    (error) => settledInTime(breaker, call, error, true),
  );
  return call;
}

function settledInTime(breaker: CircuitBreaker, call: PendingCall, outcome: unknown, failed: boolean): void {
  if (call.done) return; // timed out first: the late outcome is ignored
  call.done = true;
  const queue = breaker.deadlines!;
  queue.remove(call);
  if (failed) {
    breaker.recordError(call.permit, outcome, call.startedAt);
    call.reject(outcome);
  } else {
    breaker.recordResult(call.permit, outcome, call.startedAt);
    call.resolve(outcome);
  }
  if (call.native) queue.recycle(call);
}

function expire(breaker: CircuitBreaker, call: PendingCall, nowMs: number): void {
  if (call.context === undefined) timeOut(breaker, call, nowMs);
  else call.context.runInAsyncScope(timeOut, null, breaker, call, nowMs);
}

function timeOut(breaker: CircuitBreaker, call: PendingCall, nowMs: number): void {
  const error = new CircuitBreakerTimeoutError(breaker.name, call.timeoutMs);
  if (call.controller !== undefined) call.controller.abort(error);
  breaker.complete(call.permit, TIMED_OUT, call.startedAt, error, nowMs);
  call.reject(error);
}
