/**
 * What a @UseCircuitBreaker method does per call once the explorer has bound it to its
 * application's breaker: nesting, shape (sync / Promise / Observable) and fallbacks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Observable, from, isObservable, of } from 'rxjs';
import type { Subscriber } from 'rxjs';
import { CircuitBreaker } from './core/circuit-breaker.js';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './core/errors.js';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/** The chain of breakers whose calls are in progress in the current async context. */
interface ActiveCall {
  readonly breaker: CircuitBreaker;
  readonly parent: ActiveCall | undefined;
  /** Set when the breaker has a timeout: aborts when the call times out. */
  signal: AbortSignal | undefined;
}
const activeCalls = new AsyncLocalStorage<ActiveCall>();

/**
 * The AbortSignal of the @UseCircuitBreaker call in progress in this async context: pass it to
 * `fetch` or any abortable client so a timed-out call stops its work. Defined only while a
 * decorated method runs under a breaker that has a `timeoutMs`.
 *
 * ```ts
 * @UseCircuitBreaker('payments')
 * async price(id: string) {
 *   const res = await fetch(`${base}/prices/${id}`, { signal: circuitBreakerSignal() });
 * }
 * ```
 */
export function circuitBreakerSignal(): AbortSignal | undefined {
  return activeCalls.getStore()?.signal;
}

function isActive(breaker: CircuitBreaker): boolean {
  for (let call = activeCalls.getStore(); call !== undefined; call = call.parent) {
    if (call.breaker === breaker) return true;
  }
  return false;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export type MethodShape = 'auto' | 'promise' | 'observable';

export type FallbackInvoker = (instance: unknown, args: unknown[], error: unknown) => unknown;

export class MethodBinding {
  /** Promise-shaped (metadata says so, or a call returned a promise): an open circuit then rejects instead of throwing. */
  private returnsPromise: boolean;

  constructor(
    readonly breaker: CircuitBreaker,
    readonly shape: MethodShape,
    private readonly fallback: FallbackInvoker | undefined,
  ) {
    this.returnsPromise = shape === 'promise';
  }

  invoke(instance: unknown, original: AnyMethod, args: unknown[]): unknown {
    const breaker = this.breaker;
    // A call through this breaker is already in progress here (a decorated controller calling a
    // decorated provider on the same breaker): only the outer call is admitted and recorded.
    if (isActive(breaker)) return original.apply(instance, args);
    if (this.shape === 'observable') return this.invokeObservable(instance, original, args);
    let result: unknown;
    const call: ActiveCall = { breaker, parent: activeCalls.getStore(), signal: undefined };
    // Declaring the signal parameter only under a timeout: the engine then makes an AbortController.
    const fn =
      breaker.options.timeoutMs === undefined
        ? () => original.apply(instance, args)
        : (signal?: AbortSignal) => {
            call.signal = signal;
            return original.apply(instance, args);
          };
    try {
      result = activeCalls.run(call, () => (this.returnsPromise ? breaker.execute(fn) : breaker.executeSync(fn)));
    } catch (error) {
      return this.recover(instance, args, error);
    }
    if (!this.returnsPromise && isThenable(result)) this.returnsPromise = true;
    if (this.fallback !== undefined && isThenable(result)) {
      return Promise.resolve(result).then(undefined, (error: unknown) => this.recover(instance, args, error));
    }
    return result;
  }

  /** Fallback for an open circuit, a timeout or a recorded failure; anything else is rethrown. */
  private recover(instance: unknown, args: unknown[], error: unknown): unknown {
    if (this.fallback === undefined || !this.fallsBackOn(error)) throw error;
    return this.fallback(instance, args, error);
  }

  private fallsBackOn(error: unknown): boolean {
    return error instanceof CircuitOpenError || error instanceof CircuitBreakerTimeoutError || this.breaker.countsAsFailure(error);
  }

  /** Subscribe is the call; unsubscribing before it settles counts as neither outcome. */
  private invokeObservable(instance: unknown, original: AnyMethod, args: unknown[]): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      const breaker = this.breaker;
      let permit: number;
      try {
        permit = breaker.acquirePermission();
      } catch (error) {
        this.failObservable(subscriber, instance, args, error);
        return undefined;
      }
      const startedAt = breaker.now();
      let settled = false;
      let last: unknown;
      // The deadline runs on a breaker-owned timer, so dispose() (app.close()) clears it.
      let stopTimer = (): void => {};
      let source: unknown;
      try {
        source = original.apply(instance, args);
      } catch (error) {
        settled = true;
        breaker.recordFailure(permit, error, startedAt);
        this.failObservable(subscriber, instance, args, error);
        return undefined;
      }
      const source$ = isObservable(source) ? source : isThenable(source) ? from(source) : of(source);
      const timeoutMs = breaker.options.timeoutMs;
      let inner: { unsubscribe(): void } | undefined;
      if (timeoutMs !== undefined) {
        stopTimer = breaker.schedule(
          () => {
            if (settled) return;
            settled = true;
            inner?.unsubscribe();
            const error = new CircuitBreakerTimeoutError(breaker.name, timeoutMs);
            breaker.recordFailure(permit, error, startedAt);
            this.failObservable(subscriber, instance, args, error);
          },
          timeoutMs,
        );
      }
      inner = source$.subscribe({
        next: (value) => {
          last = value;
          subscriber.next(value);
        },
        error: (error: unknown) => {
          if (settled) return;
          settled = true;
          stopTimer();
          breaker.recordFailure(permit, error, startedAt);
          this.failObservable(subscriber, instance, args, error);
        },
        complete: () => {
          if (settled) return;
          settled = true;
          stopTimer();
          breaker.recordSuccess(permit, last, startedAt);
          subscriber.complete();
        },
      });
      return () => {
        if (!settled) {
          settled = true;
          stopTimer();
          breaker.releasePermission(permit);
        }
        inner?.unsubscribe();
      };
    });
  }

  private failObservable(subscriber: Subscriber<unknown>, instance: unknown, args: unknown[], error: unknown): void {
    if (this.fallback === undefined || !this.fallsBackOn(error)) {
      subscriber.error(error);
      return;
    }
    let replacement: unknown;
    try {
      replacement = this.fallback(instance, args, error);
    } catch (fallbackError) {
      subscriber.error(fallbackError);
      return;
    }
    const replacement$ = isObservable(replacement) ? replacement : isThenable(replacement) ? from(replacement) : of(replacement);
    replacement$.subscribe(subscriber);
  }
}

// ---------------------------------------------------------------- where bindings live

const INSTANCE_BINDINGS = Symbol('nestjs-breaker:bindings');
/** Request-scoped classes: Nest builds their instances per request, so bindings live on the class. */
const classBindings = new WeakMap<object, Map<string | symbol, MethodBinding>>();

type BindingHost = { [INSTANCE_BINDINGS]?: Map<string | symbol, MethodBinding> };

export function bindInstance(instance: object, method: string | symbol, binding: MethodBinding): void {
  const host = instance as BindingHost;
  let bindings = Object.prototype.hasOwnProperty.call(host, INSTANCE_BINDINGS) ? host[INSTANCE_BINDINGS] : undefined;
  if (bindings === undefined) {
    bindings = new Map();
    Object.defineProperty(host, INSTANCE_BINDINGS, { value: bindings, enumerable: false, configurable: true });
  }
  bindings.set(method, binding);
}

export function bindClass(type: object, method: string | symbol, binding: MethodBinding): void {
  let bindings = classBindings.get(type);
  if (bindings === undefined) classBindings.set(type, (bindings = new Map()));
  bindings.set(method, binding);
}

export function findBinding(self: unknown, method: string | symbol): MethodBinding | undefined {
  if (self === null || typeof self !== 'object') return undefined;
  const own = (self as BindingHost)[INSTANCE_BINDINGS]?.get(method);
  if (own !== undefined) return own;
  return classBindings.get((self as { constructor: object }).constructor)?.get(method);
}
