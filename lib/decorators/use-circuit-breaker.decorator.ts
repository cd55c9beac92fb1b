import { CircuitBreakerConfigError } from '../core/errors.js';
import { USE_CIRCUIT_BREAKER_METADATA } from '../circuit-breaker.constants.js';
import type { UseCircuitBreakerOptions } from '../interfaces/circuit-breaker-module-options.interface.js';
import { findBinding } from '../binding-store.js';

/** What @UseCircuitBreaker records; read by the explorer at bootstrap. */
export interface UseCircuitBreakerMetadata {
  /** The explicit name, or undefined for `ClassName.methodName`. */
  readonly name: string | undefined;
  readonly options: UseCircuitBreakerOptions;
  readonly original: (...args: unknown[]) => unknown;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

const warnedUnbound = new WeakSet<object>();

/**
 * Runs the method through a circuit breaker: `name` (declared in CircuitBreakerModule, or by this
 * decorator's `options`) or, when omitted, a breaker named `ClassName.methodName` built from the
 * options registered under that name, else from `defaults`. With a `key` function, `name` is a
 * family of keyed breakers and each call goes through the breaker of its key (docs/keyed-breakers.md). Works on controller route handlers and
 * provider methods; sync methods stay sync, Promise methods stay Promise, Observable methods stay
 * Observable (subscribe is the call). The shape comes from the values the method returns, so no
 * return type annotation is needed (docs/nestjs.md, "How methods are protected").
 *
 * The method is replaced at decoration time by a thin wrapper that keeps its metadata, `name` and
 * `length`, so the router, guards, pipes and other decorators see the same handler whichever order
 * the decorators come in. At bootstrap each instance is bound to its own application's breaker.
 */
export function UseCircuitBreaker(name?: string, options: UseCircuitBreakerOptions = {}): MethodDecorator {
  const site = (target: object, key: string | symbol): string =>
    `${(typeof target === 'function' ? target : target.constructor).name}.${String(key)}`;
  return (target, key, descriptor) => {
    if (descriptor === undefined || typeof descriptor.value !== 'function') {
      throw new TypeError(`@UseCircuitBreaker() decorates methods only; ${site(target, key)} is not a method`);
    }
    if (typeof target === 'function') {
      throw new TypeError(`@UseCircuitBreaker() decorates instance methods only; ${site(target, key)} is static`);
    }
    const where = site(target, key);
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.includes('*'))) {
      throw new CircuitBreakerConfigError(
        where,
        'name',
        name,
        'a non-empty string without "*" (patterns belong in CircuitBreakerModule.forRoot({ breakers })), or nothing for "ClassName.methodName"',
      );
    }
    if (options === null || typeof options !== 'object') {
      throw new CircuitBreakerConfigError(name ?? where, 'options', options, 'an object { fallback?, options? }');
    }
    for (const k of Object.keys(options)) {
      if (k !== 'fallback' && k !== 'options' && k !== 'key') {
        throw new CircuitBreakerConfigError(name ?? where, k, (options as Record<string, unknown>)[k], 'absent (known options: fallback, options, key)');
      }
    }
    if (options.key !== undefined && typeof options.key !== 'function') {
      throw new CircuitBreakerConfigError(name ?? where, 'key', options.key, "a function returning each call's key from the method's arguments");
    }
    const settings = options.options;
    if (settings !== undefined && (settings === null || typeof settings !== 'object' || Array.isArray(settings))) {
      throw new CircuitBreakerConfigError(name ?? where, 'options', settings, 'an object of breaker options (checked at bootstrap)');
    }
    const fallback = options.fallback;
    if (fallback !== undefined && typeof fallback !== 'function' && (typeof fallback !== 'string' || fallback.length === 0)) {
      throw new CircuitBreakerConfigError(name ?? where, 'fallback', fallback, 'a method name of the same class or a function');
    }
    const original = descriptor.value as unknown as AnyMethod;
    if (Reflect.getMetadata(USE_CIRCUIT_BREAKER_METADATA, original) !== undefined) {
      throw new TypeError(`@UseCircuitBreaker() is applied twice to ${where}`);
    }

    const metadata: UseCircuitBreakerMetadata = { name, options, original };
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const binding = findBinding(this, metadata);
      if (binding === undefined) {
        // Not an instance Nest created (or called before bootstrap): run unprotected, say so once.
        if (this !== null && typeof this === 'object' && !warnedUnbound.has(this)) {
          warnedUnbound.add(this);
          process.emitWarning(`${where} ran without its circuit breaker: the instance is not managed by a bootstrapped Nest application`, {
            code: 'CIRCUIT_BREAKER_UNBOUND',
          });
        }
        return original.apply(this, args);
      }
      return binding.invoke(this, original, args);
    };
    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapped);
    }
    Object.defineProperty(wrapped, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapped, 'length', { value: original.length, configurable: true });
    Reflect.defineMetadata(USE_CIRCUIT_BREAKER_METADATA, metadata, wrapped);
    (descriptor as TypedPropertyDescriptor<unknown>).value = wrapped;
    return descriptor;
  };
}
