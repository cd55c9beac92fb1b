import { Observable, from, lastValueFrom } from 'rxjs';
import type { Subscriber, TeardownLogic } from 'rxjs';
import { isObservableValue, isThenable } from './method-shape.js';

/**
 * What a decorated method whose shape is still unknown returns when its breaker refuses the call
 * (the method cannot be called to find out: an open circuit never calls it): the refusal, or the
 * fallback's answer to it, in a form every caller can consume. It is an Observable (so `pipe`,
 * `catchError`, `subscribe`, `lastValueFrom` and Nest's router work) and a thenable (so `await`,
 * `.then`, `.catch` and `Promise.all` work), and it never throws on its own.
 */
export class AnyShapeResult extends Observable<unknown> implements PromiseLike<unknown> {
  private constructor(
    subscribe: (subscriber: Subscriber<unknown>) => TeardownLogic,
    /** Makes the promise side; called per `then`, so nothing is created for an unconsumed result. */
    private readonly settle: () => Promise<unknown>,
  ) {
    super(subscribe);
  }

  /**
   * Fails with `error` whichever way it is consumed. No rejected promise exists until someone
   * calls `then`, so an unconsumed one raises no unhandled rejection.
   */
  static rejected(error: unknown): AnyShapeResult {
    return new AnyShapeResult(
      (subscriber) => subscriber.error(error),
      () => Promise.reject(error),
    );
  }

  /**
   * Answers with `value` (a fallback's result): a plain value is emitted then completes, a promise
   * is followed, an Observable is subscribed to (awaiting it gives its last value, `undefined` if
   * it emits none, as Nest's router does).
   */
  static of(value: unknown): AnyShapeResult {
    if (isObservableValue(value)) {
      return new AnyShapeResult(
        (subscriber) => value.subscribe(subscriber),
        () => lastValueFrom(value, { defaultValue: undefined }),
      );
    }
    if (isThenable(value)) {
      return new AnyShapeResult(
        (subscriber) => from(value).subscribe(subscriber),
        () => Promise.resolve(value),
      );
    }
    return new AnyShapeResult(
      (subscriber) => {
        subscriber.next(value);
        subscriber.complete();
      },
      () => Promise.resolve(value),
    );
  }

  then<A = unknown, B = never>(
    onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.settle().then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<unknown> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this.settle().finally(onFinally);
  }
}
