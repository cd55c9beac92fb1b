/**
 * What a @UseCircuitBreaker method does per call once the explorer has bound it to its
 * application's breaker: nesting, shape (sync / Promise / Observable) and fallbacks.
 *
 * The shape is learned per binding (one decorated method of one class in one application): from
 * the declaration when it tells (an `async` method, a `Promise` or `Observable` return type), else
 * from the first value the method returns. See docs/nestjs.md, "How methods are protected".
 */
import { throwError } from 'rxjs';
import type { Subscriber } from 'rxjs';
import type { CircuitBreaker } from './core/circuit-breaker.js';
import type { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './core/errors.js';
import { AnyShapeResult } from './any-shape-result.js';
import { executePromise, startTime, trackPromise } from './breaker-calls.js';
import { ActiveCall, beginCall, isNested, runInCall } from './call-context.js';
import { isObservableValue, isThenable } from './method-shape.js';
import type { MethodShape } from './method-shape.js';
import { observeCall, toObservable } from './observable-call.js';
import type { ObservableCallHost } from './observable-call.js';

export type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

export type FallbackInvoker = (instance: unknown, args: unknown[], error: unknown) => unknown;

/**
 * The breaker of one call of a keyed method (`@UseCircuitBreaker('shards', { key })`): the key
 * function applied to the method's arguments, looked up in the family. Throws for a key function
 * that throws or a key the family refuses.
 */
export type KeyedBreaker = (instance: unknown, args: unknown[]) => CircuitBreaker;

export class MethodBinding {
  private learned: MethodShape;
  /**
   * The async context a call runs in (call-context.ts) serves two things: the nesting exemption
   * and `circuitBreakerSignal()`. Entering it costs on every call, and once a process has entered
   * one, Node keeps promise hooks on for every promise of the process. So a Promise call skips it
   * when neither can apply: this is the only decorated method of its breaker (no other one can
   * nest inside it) and the breaker has no `timeoutMs` (no signal). A call of this method made
   * synchronously inside its own call (recursion) is still exempt, and from then on every call
   * enters the context (`reentered`): a recursion after an `await` is caught only from then on.
   */
  private sole = false;
  private reentered = false;
  /** Calls of this method running their synchronous part right now (recursion detector while `sole`). */
  private depth = 0;

  /** `breaker`: the method's breaker, or, for a keyed method, a function finding each call's. */
  constructor(
    private readonly breakerOf: CircuitBreaker | KeyedBreaker,
    hint: MethodShape,
    private readonly fallback: FallbackInvoker | undefined,
    /** Told about calls that failed under the breaker (`failedCalls$`), in the caller's context. */
    private readonly registry?: CircuitBreakerRegistry,
  ) {
    this.learned = hint;
  }

  /** No other decorated method uses this binding's breaker (the explorer tells, at bootstrap). @internal */
  soleUserOfItsBreaker(): void {
    this.sole = true;
  }

  /** The breaker of a named method (undefined for a keyed one: each call finds its own). */
  get breaker(): CircuitBreaker | undefined {
    return typeof this.breakerOf === 'function' ? undefined : this.breakerOf;
  }

  /** The shape known so far (the hint, then what the method returned). */
  get shape(): MethodShape {
    return this.learned;
  }

  invoke(instance: unknown, original: AnyMethod, args: unknown[]): unknown {
    const shape = this.learned;
    let breaker: CircuitBreaker;
    if (typeof this.breakerOf === 'function') {
      try {
        breaker = this.breakerOf(instance, args);
      } catch (error) {
        // A key that names no breaker: the caller's own error, in the method's shape, never recorded.
        return this.keyFailed(error);
      }
    } else {
      breaker = this.breakerOf;
    }
    // Nesting is decided at subscribe time for Observables (subscribe is the call).
    if (shape === 'observable') return observeCall(this.observableHost(breaker, instance, args), () => original.apply(instance, args));
    // A call through this breaker is in progress here (a decorated controller calling a decorated
    // provider on the same breaker): only the outer call is admitted and recorded.
    if (this.depth > 0) {
      // Called from inside its own call, synchronously, while that call ran without the async
      // context (see `sole`): nested, so it runs directly; later calls enter the context, so that
      // a call of this method after an await inside its own call is seen as nested too.
      this.reentered = true;
      return shape === 'promise' ? original.apply(instance, args) : this.invokeNested(breaker, instance, original, args);
    }
    if (isNested(breaker)) return shape === 'promise' ? original.apply(instance, args) : this.invokeNested(breaker, instance, original, args);
    if (shape === 'promise') return this.invokePromise(breaker, instance, original, args);
    return this.invokeAnyShape(breaker, instance, original, args);
  }

  private keyFailed(error: unknown): unknown {
    switch (this.learned) {
      case 'observable':
        return throwError(() => error);
      case 'promise':
        return Promise.reject(error);
      case 'sync':
        throw error;
      default:
        return AnyShapeResult.rejected(error);
    }
  }

  /**
   * Runs directly, but an Observable it returns is still a call of its own when subscribed later
   * (the exemption is decided at subscribe time for Observables).
   */
  private invokeNested(breaker: CircuitBreaker, instance: unknown, original: AnyMethod, args: unknown[]): unknown {
    let result: unknown;
    try {
      result = original.apply(instance, args);
    } catch (error) {
      if (this.learned === 'unknown') this.learned = 'sync'; // see invokeAnyShape
      throw error;
    }
    if (!isObservableValue(result)) {
      if (this.learned === 'unknown') this.learned = isThenable(result) ? 'promise' : 'sync';
      return result;
    }
    this.learned = 'observable';
    return observeCall(this.observableHost(breaker, instance, args), () => result);
  }

  private invokePromise(breaker: CircuitBreaker, instance: unknown, original: AnyMethod, args: unknown[]): Promise<unknown> {
    if (this.alone(breaker)) return this.invokePromiseAlone(breaker, instance, original, args);
    const call = beginCall(breaker);
    // Declaring the signal parameter only under a timeout: the engine then makes an AbortController.
    const fn =
      breaker.options.timeoutMs === undefined
        ? () => original.apply(instance, args)
        : (signal?: AbortSignal) => {
            call.signal = signal;
            return original.apply(instance, args);
          };
    const result = runInCall(call, executePromise, breaker, fn);
    return Promise.resolve(result).then(
      (value) => {
        call.settled = true;
        return value;
      },
      (error: unknown) => {
        call.settled = true;
        return this.recover(breaker, instance, args, error);
      },
    );
  }

  /** Calls may skip the async context (see `sole`). */
  private alone(breaker: CircuitBreaker): boolean {
    return this.sole && !this.reentered && breaker.options.timeoutMs === undefined;
  }

  /** The original method's synchronous part, counted in `depth` (runs without the async context). */
  private callCounted(original: AnyMethod, instance: unknown, args: unknown[]): unknown {
    this.depth++;
    try {
      return original.apply(instance, args);
    } finally {
      this.depth--;
    }
  }

  /** invokePromise without an async context (see `sole`). */
  private invokePromiseAlone(breaker: CircuitBreaker, instance: unknown, original: AnyMethod, args: unknown[]): Promise<unknown> {
    this.depth++;
    let result: PromiseLike<unknown>;
    try {
      result = executePromise(breaker, () => original.apply(instance, args));
    } finally {
      this.depth--;
    }
    // Nothing to do on failure without a fallback and without a failedCalls$ listener: the
    // engine's promise is the answer (no extra promise per call).
    if (this.fallback === undefined && this.registry?.watchesFailedCalls !== true) return result as Promise<unknown>;
    return Promise.resolve(result).then(undefined, (error: unknown) => this.recover(breaker, instance, args, error));
  }

  /** Shape unknown or sync so far: the value returned decides how the call is recorded. */
  private invokeAnyShape(breaker: CircuitBreaker, instance: unknown, original: AnyMethod, args: unknown[]): unknown {
    let permit: number;
    try {
      permit = breaker.acquirePermission();
    } catch (error) {
      return this.refused(breaker, instance, args, error);
    }
    const alone = this.alone(breaker);
    // Without the async context, the call is tracked here only (nothing reads it).
    const call = alone ? new ActiveCall(breaker, undefined) : beginCall(breaker);
    // Only while the shape is unknown: a promise-returning method reads it at its start.
    const controller = this.learned === 'unknown' && breaker.options.timeoutMs !== undefined ? new AbortController() : undefined;
    call.signal = controller?.signal;
    const startedAt = startTime(breaker);
    let result: unknown;
    let observable: boolean;
    let thenable: boolean;
    try {
      result = alone ? this.callCounted(original, instance, args) : runInCall(call, callOriginal, original, instance, args);
      observable = isObservableValue(result);
      thenable = !observable && isThenable(result);
    } catch (error) {
      call.settled = true;
      // A synchronous throw is evidence of a sync method: an async function only rejects, and an
      // Observable method never throws synchronously (docs/nestjs.md). Without this, a method that
      // has only failed so far would answer an open circuit with an AnyShapeResult a sync caller
      // cannot use (`rates.current() * 10` would be NaN, not a 503).
      if (this.learned === 'unknown') this.learned = 'sync';
      breaker.recordFailure(permit, error, startedAt);
      return this.recover(breaker, instance, args, error);
    }
    if (observable) {
      // Subscribe is the call: this permit goes back, each subscription takes its own.
      call.settled = true;
      breaker.releasePermission(permit);
      this.learned = 'observable';
      return observeCall(this.observableHost(breaker, instance, args), () => result);
    }
    if (thenable) {
      this.learned = 'promise';
      return trackPromise(breaker, permit, result as PromiseLike<unknown>, startedAt, controller).then(
        (value) => {
          call.settled = true;
          return value;
        },
        (error: unknown) => {
          call.settled = true;
          return this.recover(breaker, instance, args, error);
        },
      );
    }
    call.settled = true;
    this.learned = 'sync';
    breaker.recordSuccess(permit, result, startedAt);
    return result;
  }

  /**
   * The breaker refused a call of a sync method (throw) or of one whose shape is still unknown:
   * the method cannot be called to find out, so the refusal, or the fallback's answer to it, is
   * given in a form that works whichever way it is consumed (Observable or promise).
   */
  private refused(breaker: CircuitBreaker, instance: unknown, args: unknown[], error: unknown): unknown {
    if (this.learned === 'sync') return this.recover(breaker, instance, args, error);
    if (this.fallback === undefined) {
      this.report(breaker, error, false);
      return AnyShapeResult.rejected(error);
    }
    this.report(breaker, error, true);
    let replacement: unknown;
    try {
      replacement = this.fallback(instance, args, error);
    } catch (fallbackError) {
      return AnyShapeResult.rejected(fallbackError);
    }
    return AnyShapeResult.of(replacement);
  }

  /** Fallback for an open circuit, a timeout or a recorded failure; anything else is rethrown. */
  private recover(breaker: CircuitBreaker, instance: unknown, args: unknown[], error: unknown): unknown {
    if (this.fallback === undefined || !fallsBackOn(breaker, error)) {
      this.report(breaker, error, false);
      throw error;
    }
    this.report(breaker, error, true);
    return this.fallback(instance, args, error);
  }

  /** `failedCalls$`, when someone listens: a failure under the breaker, answered by the fallback or not. */
  private report(breaker: CircuitBreaker, error: unknown, fallback: boolean): void {
    const registry = this.registry;
    if (registry === undefined || !registry.watchesFailedCalls) return;
    if (!fallback && !fallsBackOn(breaker, error)) return; // ignored by the breaker: not its failure
    registry.reportFailedCall({ name: breaker.name, error, fallback });
  }

  private observableHost(breaker: CircuitBreaker, instance: unknown, args: unknown[]): ObservableCallHost {
    return {
      breaker,
      failSubscriber: (subscriber, error) => this.failSubscriber(breaker, subscriber, instance, args, error),
    };
  }

  private failSubscriber(breaker: CircuitBreaker, subscriber: Subscriber<unknown>, instance: unknown, args: unknown[], error: unknown): void {
    if (this.fallback === undefined || !fallsBackOn(breaker, error)) {
      this.report(breaker, error, false);
      subscriber.error(error);
      return;
    }
    this.report(breaker, error, true);
    let replacement: unknown;
    try {
      replacement = this.fallback(instance, args, error);
    } catch (fallbackError) {
      subscriber.error(fallbackError);
      return;
    }
    toObservable(replacement).subscribe(subscriber);
  }
}

function fallsBackOn(breaker: CircuitBreaker, error: unknown): boolean {
  return error instanceof CircuitOpenError || error instanceof CircuitBreakerTimeoutError || breaker.countsAsFailure(error);
}

function callOriginal(original: AnyMethod, instance: unknown, args: unknown[]): unknown {
  return original.apply(instance, args);
}
