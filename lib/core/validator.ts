/**
 * Reads and checks option values for one breaker: every failure is a
 * {@link CircuitBreakerConfigError} naming the breaker, the option, the value and what is allowed.
 *
 * Values are read from an object's own properties only: an option inherited from a polluted
 * `Object.prototype` (or any prototype) must not change a breaker.
 */
import { CircuitBreakerConfigError } from './errors.js';

/** setTimeout's largest delay; a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `object[key]` if `object` has it as its own property, else undefined. */
export function own(object: object, key: string): unknown {
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

/**
 * A method of `object` defined by the object or one of its classes, never one inherited from
 * `Object.prototype` (where a polluted prototype would put it).
 */
export function methodOf(object: object, key: string): ((...args: never[]) => unknown) | undefined {
  for (let o: object | null = object; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.hasOwn(o, key)) {
      const value = (o as Record<string, unknown>)[key];
      return typeof value === 'function' ? (value as (...args: never[]) => unknown) : undefined;
    }
  }
  return undefined;
}

/** A plain object: `{ ... }` or `Object.create(null)`, not an array, a class instance or a function. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export class Validator {
  constructor(readonly breaker: string) {}

  fail(option: string, value: unknown, allowed: string): never {
    throw new CircuitBreakerConfigError(this.breaker, option, value, allowed);
  }

  /** Rejects own keys outside `keys` (a typo must not silently do nothing). */
  onlyKeys(option: string, object: object, keys: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (!keys.includes(key)) this.fail(`${option}.${key}`, (object as Record<string, unknown>)[key], `absent (known keys: ${keys.join(', ')})`);
    }
  }

  number(option: string, value: unknown, fallback: number | undefined, ok: (n: number) => boolean, allowed: string): number {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) this.fail(option, value, allowed);
    return value as number;
  }

  integer(option: string, value: unknown, min: number, max: number, allowed: string): number {
    return this.number(option, value, undefined, (n) => Number.isInteger(n) && n >= min && n <= max, allowed);
  }

  percent(option: string, value: unknown, fallback: number): number {
    return this.number(option, value, fallback, (n) => n > 0 && n <= 100, 'a percentage in (0, 100]');
  }

  duration(option: string, value: unknown, fallback: number): number {
    return this.number(option, value, fallback, (n) => n > 0 && n <= MAX_TIMER_MS, `a number of ms in (0, ${MAX_TIMER_MS}]`);
  }

  optionalDuration(option: string, value: unknown): number | undefined {
    if (value === undefined) return undefined;
    return this.number(option, value, undefined, (n) => n > 0 && n <= MAX_TIMER_MS, `a number of ms in (0, ${MAX_TIMER_MS}]`);
  }

  optionalFunction(option: string, value: unknown): unknown {
    if (value !== undefined && typeof value !== 'function') this.fail(option, value, 'a function');
    return value;
  }
}
