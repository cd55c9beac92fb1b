/**
 * Shared helpers for the core engine's unit tests. Time only moves through ManualClock.advance;
 * promise continuations are flushed with microtask loops, never with real timers.
 */
import { CircuitBreaker, ManualClock } from '../../../lib/index.js';
import type { CircuitBreakerSettings, StateChangeEvent } from '../../../lib/index.js';

export const NAME = 'payments';

export interface Harness {
  clock: ManualClock;
  breaker: CircuitBreaker;
  /** Every state change, in order. */
  events: StateChangeEvent[];
}

/** A breaker on a fresh ManualClock, with its state changes recorded. */
export function setup(settings: CircuitBreakerSettings = {}, name = NAME): Harness {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ name, clock, ...settings });
  const events: StateChangeEvent[] = [];
  breaker.onStateChange((event) => events.push(event));
  return { clock, breaker, events };
}

/** Runs `count` sync calls that throw; returns the last error thrown to the caller. */
export function failSync(breaker: CircuitBreaker, count = 1, error: unknown = new Error('boom')): unknown {
  let thrown: unknown;
  for (let i = 0; i < count; i++) {
    thrown = thrownBy(() =>
      breaker.executeSync((): never => {
        throw error;
      }),
    );
  }
  return thrown;
}

/** Runs `count` sync calls that succeed. */
export function succeedSync(breaker: CircuitBreaker, count = 1): void {
  for (let i = 0; i < count; i++) breaker.executeSync(() => 'ok');
}

/** A sync call that lasts `durationMs` on the manual clock (the clock moves inside fn). */
export function slowSync(breaker: CircuitBreaker, clock: ManualClock, durationMs: number, fail = false): unknown {
  const fn = (): string => {
    clock.advance(durationMs);
    if (fail) throw new Error('slow failure');
    return 'ok';
  };
  return fail ? thrownBy(() => breaker.executeSync(fn)) : breaker.executeSync(fn);
}

/** The error `fn` throws synchronously; fails the test if it does not throw. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the function to throw synchronously');
}

export async function flush(ticks = 30): Promise<void> {
  for (let i = 0; i < ticks; i++) await Promise.resolve();
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface Tracked<T> {
  status: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  reason?: unknown;
  /** Settles (never rejects) once the tracked promise settled. */
  done: Promise<void>;
}

/** Observes a promise without leaving a rejection unhandled. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { status: 'pending', done: Promise.resolve() };
  tracked.done = promise.then(
    (value) => {
      tracked.status = 'fulfilled';
      tracked.value = value;
    },
    (reason: unknown) => {
      tracked.status = 'rejected';
      tracked.reason = reason;
    },
  );
  return tracked;
}

/** Starts an async call through the breaker that settles only when the returned deferred does. */
export function pendingCall<T = string>(breaker: CircuitBreaker): { deferred: Deferred<T>; call: Tracked<T> } {
  const d = deferred<T>();
  const call = track(breaker.execute(() => d.promise));
  return { deferred: d, call };
}

export class IgnoredError extends Error {
  override readonly name = 'IgnoredError';
}

/** isFailure that ignores IgnoredError. */
export const ignoreIgnoredError = (error: unknown): boolean => !(error instanceof IgnoredError);
