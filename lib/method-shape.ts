/**
 * What a decorated method returns: read from `design:returntype` as a hint at bootstrap, then
 * learned from the values it returns. The value wins: metadata is missing for an inferred return
 * type, a type-only import, or a compiler setup that emits none.
 */
import { isObservable } from 'rxjs';
import type { Observable } from 'rxjs';

/**
 * - `unknown`: no hint and never called yet.
 * - `sync`: returns plain values (an open circuit throws).
 * - `promise`: returns promises (an open circuit rejects).
 * - `observable`: returns Observables (subscribe is the call; an open circuit errors the subscriber).
 */
export type MethodShape = 'unknown' | 'sync' | 'promise' | 'observable';

const AsyncFunction = (async () => {}).constructor;

/** The shape the method's declaration promises, or `unknown` when it tells nothing reliable. */
export function shapeHint(prototype: object, key: string | symbol, original: unknown): MethodShape {
  // An `async` method always returns a promise. The name check also covers one made in another
  // realm (a vm context, a test runner's module registry), where `instanceof` fails.
  if (original instanceof AsyncFunction || (typeof original === 'function' && original.constructor?.name === 'AsyncFunction')) return 'promise';
  const returnType: unknown = Reflect.getMetadata('design:returntype', prototype, key);
  // Undefined: no annotation (or `void`). Object: an interface, a union, `any`, a type-only import.
  if (typeof returnType !== 'function' || returnType === Object) return 'unknown';
  const proto = (returnType as { prototype?: unknown }).prototype;
  if (proto === null || typeof proto !== 'object') return 'unknown';
  const members = proto as { subscribe?: unknown; lift?: unknown; then?: unknown };
  // Any rxjs copy's Observable (or Subject...): the same duck test as rxjs' isObservable.
  if ((returnType as { name?: unknown }).name === 'Observable' || (typeof members.subscribe === 'function' && typeof members.lift === 'function')) {
    return 'observable';
  }
  if (typeof members.then === 'function') return 'promise';
  return 'sync';
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function isObservableValue(value: unknown): value is Observable<unknown> {
  return isObservable(value);
}
