/**
 * Where bindings live: on each instance Nest creates, keyed by the decorated function's metadata
 * (a subclass's override and the base method it calls through `super` each find their own). The
 * class is only a last resort, used when exactly one running application bound it.
 */
import type { MethodBinding } from './method-binding.js';

/** Decorated function's metadata object -> its binding, for one class in one application. */
export type Bindings = ReadonlyMap<object, MethodBinding>;

const INSTANCE_BINDINGS = Symbol('nestjs-breaker:bindings');
type BindingHost = { [INSTANCE_BINDINGS]?: Bindings };

const classBindings = new WeakMap<object, Set<Bindings>>();

export function bindInstance(instance: unknown, bindings: Bindings): void {
  if (instance === null || typeof instance !== 'object') return;
  Object.defineProperty(instance, INSTANCE_BINDINGS, { value: bindings, enumerable: false, configurable: true, writable: true });
}

/** Registers `bindings` for instances of `type` nobody bound; returns the function that removes it. */
export function bindClass(type: object, bindings: Bindings): () => void {
  let set = classBindings.get(type);
  if (set === undefined) classBindings.set(type, (set = new Set()));
  set.add(bindings);
  return () => {
    set.delete(bindings);
  };
}

export function findBinding(self: unknown, token: object): MethodBinding | undefined {
  if (self === null || typeof self !== 'object') return undefined;
  const own = (self as BindingHost)[INSTANCE_BINDINGS];
  if (own !== undefined) return own.get(token);
  const candidates = classBindings.get((self as { constructor: object }).constructor);
  if (candidates === undefined || candidates.size !== 1) return undefined;
  for (const only of candidates) return only.get(token);
  return undefined;
}
