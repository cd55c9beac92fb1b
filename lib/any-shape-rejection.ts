import { Observable } from 'rxjs';

/**
 * What a decorated method whose shape is still unknown returns when its breaker refuses the call
 * (the method cannot be called to find out: an open circuit never calls it). It fails the way the
 * caller consumes it: an Observable whose subscribers get the error (so `catchError`, `subscribe`,
 * `lastValueFrom` and Nest's router see it), and a thenable that rejects with it (so `await`,
 * `.then`, `.catch` and `Promise.all` see it). It never throws on its own, and it creates no rejected
 * promise until someone calls `then`, so an unconsumed one raises no unhandled rejection.
 */
export class AnyShapeRejection extends Observable<never> implements PromiseLike<never> {
  constructor(readonly error: unknown) {
    super((subscriber) => subscriber.error(error));
  }

  then<A = never, B = never>(
    onFulfilled?: ((value: never) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return Promise.reject(this.error).then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<B> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<never> {
    return Promise.reject(this.error).finally(onFinally);
  }
}
