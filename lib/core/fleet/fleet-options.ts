/**
 * Fleet-wide options: a versioned record of a breaker's options in its store, adopted by every
 * instance that uses the breaker. Precedence: code defaults < module (or constructor) options <
 * the fleet's record. Only options JSON can express travel: options that are code (predicates,
 * clock, store, healthCheck) stay local.
 *
 * A record is validated before it is written (against the writer's own options), so a bad write
 * cannot reach peers; a peer whose own options make the record invalid keeps its options and says
 * so in one warning.
 */
import { CircuitBreakerConfigError, describeValue } from '../errors.js';
import type { CircuitBreakerSettings } from '../options.js';
import { SETTING_KEYS } from '../options.js';

/** The options a fleet record may hold: those whose values JSON can express. */
export const FLEET_SETTING_KEYS: readonly (keyof CircuitBreakerSettings)[] = SETTING_KEYS.filter(
  (key) => !['healthCheck', 'isFailure', 'isResultFailure', 'retryAfterMs', 'clock', 'store'].includes(key),
);

/** A breaker's fleet-wide options as the store holds them. */
export interface FleetOptions {
  /** Bumped by every write; 0: none stored. */
  readonly version: number;
  /** Options over the module's (JSON values; only {@link FLEET_SETTING_KEYS}). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Who wrote it (e.g. `admin API`, `registry.reconfigure`), for the log line peers print. */
  readonly source: string;
}

/** A fleet options record that reached an instance: adopted, or refused by its own options. */
export interface FleetOptionsChange {
  readonly name: string;
  readonly version: number;
  readonly source: string;
  readonly settings: Readonly<Record<string, unknown>>;
  /** False: the record would make this instance's options invalid; it keeps its own (see `reason`). */
  readonly adopted: boolean;
  readonly reason?: string;
}

/** What the store writes: the whole record (the writer merged it), under the next version. */
export interface FleetOptionsWrite {
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly source: string;
}

/**
 * The record's settings as breaker settings, checked key by key: only fleet keys, values that
 * survive JSON. `name` names the breaker in the error. `null` or undefined drops a key.
 */
export function fleetSettingsFrom(name: string, settings: unknown): Record<string, unknown> {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new CircuitBreakerConfigError(name, 'fleet options', settings, 'an object of breaker options');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (!(FLEET_SETTING_KEYS as readonly string[]).includes(key)) {
      throw new CircuitBreakerConfigError(
        name,
        key,
        value,
        `an option a fleet record can hold (${FLEET_SETTING_KEYS.join(', ')}); options that are code (functions, clock, store, healthCheck) stay local`,
      );
    }
    if (value === null || value === undefined) continue;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json === undefined || JSON.stringify(JSON.parse(json)) !== json || !sameJson(JSON.parse(json), value)) {
      throw new CircuitBreakerConfigError(name, key, value, `a value JSON can express (got ${describeValue(value)})`);
    }
    out[key] = JSON.parse(json) as unknown;
  }
  return out;
}

/** Whether `value` survives a JSON round trip unchanged (no NaN, Infinity, functions, undefined fields). */
function sameJson(parsed: unknown, value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && parsed === value;
  if (value === null || typeof value !== 'object') return parsed === value;
  if (parsed === null || typeof parsed !== 'object') return false;
  const keys = Object.keys(value);
  if (keys.length !== Object.keys(parsed).length) return false;
  return keys.every((key) => sameJson((parsed as Record<string, unknown>)[key], (value as Record<string, unknown>)[key]));
}

/** A record read from a store: usable, or undefined (garbage is ignored). */
export function isFleetOptions(value: unknown): value is FleetOptions {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(record.version) &&
    (record.version as number) > 0 &&
    typeof record.source === 'string' &&
    record.settings !== null &&
    typeof record.settings === 'object' &&
    !Array.isArray(record.settings)
  );
}
