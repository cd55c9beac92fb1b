/**
 * Checks on the options a breaker is declared with in the Nest layer (forRoot, forRootAsync,
 * forFeature, a decorator's `options`, `defaults`): keys the engine would accept but the Nest layer
 * must not (a `name`, which the key or the decorator already gives), and two declarations of one
 * name that disagree.
 */
import { CircuitBreakerConfigError } from './core/errors.js';
import { SETTING_KEYS } from './core/options.js';
import type { CircuitBreakerSettings } from './core/options.js';
import { FAMILY_LIMIT_KEYS } from './family/family-options.js';

/** Options declared for a name, and where (`CircuitBreakerModule.forRoot`, a decorated method...). */
export interface Declaration {
  readonly settings: CircuitBreakerSettings;
  readonly source: string;
}

const SETTING_NAMES: ReadonlySet<string> = new Set(SETTING_KEYS);

/**
 * Throws for a key that is not a breaker option. `name` gets its own message: the engine knows
 * it, but here it would be silently overridden by the name the breaker is declared under.
 * `nameIs` says where that name comes from, e.g. `its key ("payments")`.
 */
export function checkSettingKeys(breakerName: string, settings: object, source: string, nameIs: string): void {
  for (const key of Object.keys(settings)) {
    const value: unknown = (settings as Record<string, unknown>)[key];
    if (key === 'name') {
      throw new CircuitBreakerConfigError(breakerName, 'name', value, `absent in ${source}: the name is ${nameIs}`);
    }
    if (!SETTING_NAMES.has(key)) {
      throw new CircuitBreakerConfigError(breakerName, key, value, `one of the known options (${SETTING_KEYS.join(', ')}); "${key}" is not an option`);
    }
  }
}

const FAMILY_SETTING_NAMES: readonly string[] = [...SETTING_KEYS, ...FAMILY_LIMIT_KEYS];

/** {@link checkSettingKeys} for a family: breaker options plus the family's limits. */
export function checkFamilySettingKeys(familyName: string, settings: object, source: string): void {
  for (const key of Object.keys(settings)) {
    const value: unknown = (settings as Record<string, unknown>)[key];
    if (key === 'name') {
      throw new CircuitBreakerConfigError(familyName, 'name', value, `absent in ${source}: the family's name is ${JSON.stringify(familyName)}, its key or its decorator's first argument`);
    }
    if (!FAMILY_SETTING_NAMES.includes(key)) {
      throw new CircuitBreakerConfigError(familyName, key, value, `one of the known options of a family (${FAMILY_SETTING_NAMES.join(', ')}); "${key}" is not an option`);
    }
  }
}

/** Where a breaker declared by a module registration gets its name from. */
export function keyNameOrigin(name: string): string {
  return `its key (${JSON.stringify(name)}); for another name, declare the options under that key`;
}

/**
 * The error for one name declared twice with options that differ: both places, both values. Its
 * option is where the second declaration gave them: a decorator's `options`, else the module
 * option (`breakers`, or `families` for a family of keyed breakers).
 */
export function conflictError(name: string, first: Declaration, second: Declaration, moduleOption: 'breakers' | 'families' = 'breakers'): CircuitBreakerConfigError {
  const keys = [...new Set([...Object.keys(first.settings), ...Object.keys(second.settings)])].filter(
    (key) => !sameSettings((first.settings as Record<string, unknown>)[key], (second.settings as Record<string, unknown>)[key]),
  );
  const differing = (settings: CircuitBreakerSettings): string =>
    `{ ${keys.map((key) => `${key}: ${show((settings as Record<string, unknown>)[key])}`).join(', ')} }`;
  return new CircuitBreakerConfigError(
    name,
    second.source.startsWith('@') ? 'options' : moduleOption,
    second.settings,
    `the same options wherever the name is declared (declared with different options by ${first.source} with ${differing(first.settings)} ` +
      `and by ${second.source} with ${differing(second.settings)})`,
  );
}

/** Deep equality where functions (and other objects such as clocks) compare by identity. */
export function sameSettings(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const keysA = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const keysB = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((k) => sameSettings((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** An option value as a reader compares it: functions by name, objects with behaviour by class. */
function show(value: unknown): string {
  if (value === undefined) return 'unset';
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const className = (value as { constructor?: { name?: string } }).constructor?.name;
    return `[${className || 'object'} instance]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? '{}' : `{ ${entries.map(([k, v]) => `${k}: ${show(v)}`).join(', ')} }`;
}
