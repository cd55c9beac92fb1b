/**
 * Observable-returning methods: subscribing is the call. The permit is taken at subscribe, the
 * outcome is recorded when the source completes or errors (or times out), and unsubscribing
 * before that counts as neither. The subscriber never sees a synchronous throw: an open circuit,
 * a throwing method and a timeout all arrive as an error notification (or the fallback's values).
 */
import { Observable, from, of } from 'rxjs';
import type { Subscriber, Subscription, TeardownLogic } from 'rxjs';
import type { CircuitBreaker } from './core/circuit-breaker.js';
import { CircuitBreakerTimeoutError } from './core/errors.js';
import { startTime } from './breaker-calls.js';
import { beginCall, isNested, runInCall } from './call-context.js';
import type { ActiveCall } from './call-context.js';
import { isObservableValue, isThenable } from './method-shape.js';

export interface ObservableCallHost {
  readonly breaker: CircuitBreaker;
  /** Ends the subscriber's stream for `error`: with the fallback's values, or with the error. */
  failSubscriber(subscriber: Subscriber<unknown>, error: unknown): void;
}

export function toObservable(value: unknown): Observable<unknown> {
  if (isObservableValue(value)) return value;
  return isThenable(value) ? from(value) : of(value);
}

/**
 * An Observable whose every subscription is a call through `host.breaker`; `produce` makes the
 * source (calls the method) once the call is admitted. A subscription made while a call through
 * the same breaker is in progress in its async context runs directly.
 */
export function observeCall(host: ObservableCallHost, produce: () => unknown): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const breaker = host.breaker;
    if (isNested(breaker)) return subscribeDirectly(produce, subscriber);
    let permit: number;
    try {
      permit = breaker.acquirePermission();
    } catch (error) {
      host.failSubscriber(subscriber, error);
      return undefined;
    }
    const call = beginCall(breaker);
    return runInCall(call, subscribeThrough, call, host, produce, subscriber, permit);
  });
}

function subscribeDirectly(produce: () => unknown, subscriber: Subscriber<unknown>): TeardownLogic {
  let source$: Observable<unknown>;
  try {
    source$ = toObservable(produce());
  } catch (error) {
    subscriber.error(error);
    return undefined;
  }
  return source$.subscribe(subscriber);
}

function subscribeThrough(
  call: ActiveCall,
  host: ObservableCallHost,
  produce: () => unknown,
  subscriber: Subscriber<unknown>,
  permit: number,
): TeardownLogic {
  const breaker = host.breaker;
  const startedAt = startTime(breaker);
  const timeoutMs = breaker.options.timeoutMs;
  const controller = timeoutMs === undefined ? undefined : new AbortController();
  call.signal = controller?.signal;
  let inner: Subscription | undefined;
  let stopTimer: (() => void) | undefined;
  /** True for the first outcome only; later ones (a late value after a timeout) are ignored. */
  const finish = (): boolean => {
    if (call.settled) return false;
    call.settled = true;
    stopTimer?.();
    return true;
  };

  let source$: Observable<unknown>;
  try {
    source$ = toObservable(produce());
  } catch (error) {
    finish();
    breaker.recordFailure(permit, error, startedAt);
    host.failSubscriber(subscriber, error);
    return undefined;
  }
  if (timeoutMs !== undefined) {
    // The breaker's timer: dispose() (app.close()) clears it.
    stopTimer = breaker.schedule(() => {
      if (!finish()) return;
      inner?.unsubscribe();
      const error = new CircuitBreakerTimeoutError(breaker.name, timeoutMs);
      controller?.abort(error);
      breaker.recordFailure(permit, error, startedAt);
      host.failSubscriber(subscriber, error);
    }, timeoutMs);
  }
  let last: unknown;
  inner = source$.subscribe({
    next: (value) => {
      last = value;
      subscriber.next(value);
    },
    error: (error: unknown) => {
      if (!finish()) return;
      breaker.recordFailure(permit, error, startedAt);
      host.failSubscriber(subscriber, error);
    },
    complete: () => {
      if (!finish()) return;
      breaker.recordSuccess(permit, last, startedAt);
      subscriber.complete();
    },
  });
  return () => {
    if (finish()) breaker.releasePermission(permit);
    inner?.unsubscribe();
  };
}
