/**
 * Options of a family of keyed breakers (one breaker per host, tenant or shard, built from the same
 * options), their defaults and validation, and what a key may be.
 */
import { CircuitBreakerConfigError } from '../core/errors.js';
import type { CircuitBreakerSettings } from '../core/options.js';
import { MAX_NAME_LENGTH, WELL_FORMED, isWellFormed, resolveOptions } from '../core/options.js';
import { MAX_TIMER_MS, Validator, own } from '../core/validator.js';

/** How many breakers a family keeps, and for how long an unused one lives. */
export interface CircuitBreakerFamilyLimits {
  /**
   * Most keys with a breaker of their own at once. At the limit, a new key takes the place of the
   * least recently used closed breaker; when every breaker is open (or half-open, forced open,
   * disabled, metrics-only), new keys share one overflow breaker (`<family>:_overflow`) and one
   * warning is given. Integer in [1, 1_000_000]. Default 1_000.
   */
  maxKeys?: number;
  /**
   * A closed breaker not used for this long is retired (its timers cleared, `onRetire` told). Open,
   * half-open and manually set breakers are never retired. Checked by a sweep every quarter of this
   * time, so a breaker goes between `idleTtlMs` and 1.25 x `idleTtlMs` after its last call. In ms,
   * in [1_000, 2^31 - 1]. Default 600_000 (10 minutes).
   */
  idleTtlMs?: number;
}

/** A family's options: every breaker option (applied to each key's breaker) plus its limits. */
export interface CircuitBreakerFamilySettings extends CircuitBreakerSettings, CircuitBreakerFamilyLimits {}

export interface CircuitBreakerFamilyOptions extends CircuitBreakerFamilySettings {
  /**
   * The family's name: each key's breaker is named `<name>:<key>`. Non-empty, without `:` or `*`,
   * at most 198 characters.
   */
  name: string;
  /**
   * Where the family's warnings go, each given once per family (never per key): overflow at
   * `maxKeys` (code `CIRCUIT_BREAKER_FAMILY_OVERFLOW`) and a rate threshold in (0, 1) that looks
   * like a ratio (code `CIRCUIT_BREAKER_THRESHOLD_RATIO`). Default: `process.emitWarning` with that
   * code (the Nest layer sends them to the module's logger).
   */
  onWarning?: (message: string, code: string) => void;
}

export const FAMILY_DEFAULTS = { maxKeys: 1_000, idleTtlMs: 600_000 } as const;

/** The options a family has besides breaker options. */
export const FAMILY_LIMIT_KEYS: readonly (keyof CircuitBreakerFamilyLimits)[] = ['maxKeys', 'idleTtlMs'];

/** Keys no caller may use: the overflow breaker's, and the label of aggregated metrics. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['_overflow', '_other']);

export const OVERFLOW_KEY = '_overflow';

export interface ResolvedFamilyLimits {
  readonly maxKeys: number;
  readonly idleTtlMs: number;
}

/** Splits a family's options into breaker settings and limits. */
export function splitFamilySettings(settings: CircuitBreakerFamilySettings): { breaker: CircuitBreakerSettings; limits: CircuitBreakerFamilyLimits } {
  const breaker: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  for (const key of Object.keys(settings)) {
    ((FAMILY_LIMIT_KEYS as readonly string[]).includes(key) ? limits : breaker)[key] = (settings as Record<string, unknown>)[key];
  }
  return { breaker: breaker as CircuitBreakerSettings, limits: limits as CircuitBreakerFamilyLimits };
}

/** Checks a family name (see {@link CircuitBreakerFamilyOptions.name}). */
export function checkFamilyName(name: unknown): string {
  if (typeof name === 'string' && name.length > 0 && !isWellFormed(name)) throw new CircuitBreakerConfigError(name, 'name', name, `a family name in ${WELL_FORMED}`);
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH - 2 || name.includes(':') || name.includes('*')) {
    throw new CircuitBreakerConfigError(
      typeof name === 'string' && name.length > 0 ? name : '(unnamed family)',
      'name',
      name,
      `a family name: a non-empty string of at most ${MAX_NAME_LENGTH - 2} characters without ":" (it separates the family from the key in breaker names) or "*"`,
    );
  }
  return name;
}

/**
 * Checks the limits and the breaker options (with the family's name in errors), so a bad option
 * fails when the family is made (at bootstrap in Nest), not at the first key.
 */
export function resolveFamilyLimits(name: string, settings: CircuitBreakerFamilySettings): ResolvedFamilyLimits {
  if (settings === null || typeof settings !== 'object') {
    throw new CircuitBreakerConfigError(name, 'options', settings, 'an object of breaker options and family limits (maxKeys, idleTtlMs)');
  }
  const { breaker, limits } = splitFamilySettings(settings);
  resolveOptions({ ...breaker, name });
  const v = new Validator(name);
  const maxKeys =
    own(limits, 'maxKeys') === undefined ? FAMILY_DEFAULTS.maxKeys : v.integer('maxKeys', own(limits, 'maxKeys'), 1, 1_000_000, 'an integer in [1, 1000000]');
  const idleTtlMs = v.number('idleTtlMs', own(limits, 'idleTtlMs'), FAMILY_DEFAULTS.idleTtlMs, (n) => n >= 1_000 && n <= MAX_TIMER_MS, `a number of ms in [1000, ${MAX_TIMER_MS}]`);
  return { maxKeys, idleTtlMs };
}

/**
 * A key the caller gave that cannot name a breaker. Raised (or rejected) at call time, for that
 * call only: a key comes from request data, so it must never crash anything or be recorded.
 */
export class CircuitBreakerKeyError extends TypeError {
  override readonly name = 'CircuitBreakerKeyError';
  /** The family the key was given to. */
  readonly familyName: string;
  /** The value given. */
  readonly key: unknown;

  constructor(familyName: string, key: unknown, problem: string) {
    super(`Circuit breaker family "${familyName}": key ${describeKey(key)} ${problem}`);
    this.familyName = familyName;
    this.key = key;
  }
}

// C0 and C1 control characters: a key ends up in log lines, metric labels and store keys.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Characters that print as nothing or as a plain space: format characters (Cf: bidi overrides such
 * as U+202E, zero-width U+200B, U+FEFF), Unicode's default-ignorable code points (variation
 * selectors, the combining grapheme joiner U+034F, Hangul fillers such as U+3164), the blank
 * braille cell U+2800, line and paragraph separators (U+2028, U+2029) and every space but the ASCII
 * one (U+00A0...). "a\u200bb" and "ab" would be two look-alike breakers.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}\u2800]|(?! )\p{Zs}/u;
/** What a message shows of a key: anything invisible or a control character as a \u escape, never as it is. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}\u2800\p{Cs}]|(?! )\p{Zs}/gu;

/** The problem with `key` for the family `familyName`, or undefined when it is a valid key. */
export function keyProblem(familyName: string, key: unknown): string | undefined {
  if (typeof key !== 'string') return `is not a string (a key must be a non-empty string)`;
  if (key.length === 0) return 'is empty (a key must be a non-empty string)';
  const longest = MAX_NAME_LENGTH - familyName.length - 1;
  if (key.length > longest) return `is ${key.length} characters long (at most ${longest}, so that "${familyName}:<key>" is at most ${MAX_NAME_LENGTH})`;
  if (!isWellFormed(key)) return 'is not well-formed UTF-16: it has a lone surrogate (it would encode like another key in logs, metric labels and store keys)';
  if (CONTROL.test(key)) return 'contains a control character (keys appear in logs, metric labels and store keys)';
  const invisible = INVISIBLE.exec(key);
  if (invisible !== null) {
    const codePoint = `U+${invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `contains ${codePoint}, an invisible or format character (bidi controls, zero-width and default-ignorable characters, line separators and spaces other than " " make look-alike keys)`;
  }
  if (RESERVED_KEYS.has(key)) return `is reserved (${[...RESERVED_KEYS].join(' and ')} are the family's own)`;
  return undefined;
}

function escapeCodePoint(c: string): string {
  const code = c.codePointAt(0)!.toString(16).toUpperCase();
  return code.length > 4 ? `\\u{${code}}` : `\\u${code.padStart(4, '0')}`;
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') {
    const shown = (key.length > 60 ? `${key.slice(0, 60)}…` : key).replace(/[\\"]/g, '\\$&').replace(UNPRINTABLE, escapeCodePoint);
    return `"${shown}"`;
  }
  if (typeof key === 'function') return 'a function';
  if (key === null || key === undefined || typeof key === 'number' || typeof key === 'boolean') return String(key);
  return typeof key === 'object' ? (Array.isArray(key) ? 'an array' : 'an object') : typeof key;
}
