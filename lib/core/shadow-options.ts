/**
 * The `shadows` option: named configurations evaluated beside the enforced one (shadows.ts runs
 * them). Checked at construction like every option: the shape here, each shadow's values by the
 * engine's own rules on the options the shadow breaker will run with, errors naming
 * `shadows.<shadow>.<option>`.
 */
import { CircuitBreakerConfigError } from './errors.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings, ShadowSettings } from './options.js';
import { isPlainObject } from './validator.js';
import type { Validator } from './validator.js';

/**
 * The options that decide when a breaker trips and recovers: the ones a shadow configuration may set
 * (here) and a replay reproduces (nestjs-breaker/tuning). One list for both.
 */
export const TRIP_AND_RECOVERY_KEYS = [
  'slidingWindow',
  'failureRateThreshold',
  'slowCallDurationMs',
  'slowCallRateThreshold',
  'minimumCalls',
  'minimumFailures',
  'consecutiveFailureThreshold',
  'timeoutMs',
  'openDurationMs',
  'openDurationBackoff',
  'halfOpenMaxCalls',
  'halfOpenProbeTimeoutMs',
] as const satisfies readonly (keyof CircuitBreakerSettings)[];

/** The options a shadow may set: the ones that decide when to trip and recover. */
export const SHADOW_KEYS: readonly (keyof ShadowSettings)[] = TRIP_AND_RECOVERY_KEYS;

/** Why each other option cannot differ in a shadow (shown in the error). */
const NOT_IN_A_SHADOW: Readonly<Record<string, string>> = {
  name: 'a shadow is named by its key in shadows',
  shadows: 'shadows do not nest',
  store: 'a shadow keeps its would-be state to itself (it is never shared through a store)',
  clock: 'a shadow runs on its breaker\'s clock',
  healthCheck: 'a shadow must not call the dependency; it recovers through openDurationMs',
  isFailure: 'a shadow sees each call as the enforced configuration classified it (code-valued options are not allowed in a shadow)',
  isResultFailure: 'a shadow sees each call as the enforced configuration classified it (code-valued options are not allowed in a shadow)',
  retryAfterMs: 'a shadow uses the breaker\'s own retryAfterMs (code-valued options are not allowed in a shadow)',
};

export const MAX_SHADOWS = 10;
const SHADOW_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The options a shadow breaker runs with: the breaker's own, minus what a shadow never has, plus the shadow's. */
export function shadowBreakerOptions(given: CircuitBreakerOptions, shadow: Readonly<ShadowSettings>): CircuitBreakerOptions {
  const { shadows: _shadows, store: _store, healthCheck: _healthCheck, isFailure: _isFailure, isResultFailure: _isResultFailure, ...base } = given;
  return { ...base, ...shadow };
}

/**
 * Checks the `shadows` option of `given`; `resolve` is the engine's own check of one breaker's
 * options (resolveOptions), run on each shadow's options.
 */
export function resolveShadows(
  v: Validator,
  value: unknown,
  given: CircuitBreakerOptions,
  resolve: (options: CircuitBreakerOptions) => unknown,
): Readonly<Record<string, Readonly<ShadowSettings>>> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return v.fail('shadows', value, 'a plain object of named shadow configurations, such as { strict: { failureRateThreshold: 25 } }');
  const names = Object.keys(value);
  if (names.length > MAX_SHADOWS) {
    v.fail('shadows', value, `at most ${MAX_SHADOWS} shadow configurations (each costs one more window update per call); got ${names.length}`);
  }
  const shadows: Record<string, Readonly<ShadowSettings>> = {};
  for (const name of names) {
    const shadow = value[name];
    if (!SHADOW_NAME.test(name)) v.fail(`shadows.${name}`, shadow, 'named by 1 to 64 letters, digits, "_", "-" or "." (the name becomes a metric label)');
    if (!isPlainObject(shadow)) v.fail(`shadows.${name}`, shadow, `a plain object of the options that differ from the breaker's (${SHADOW_KEYS.join(', ')})`);
    for (const key of Object.keys(shadow)) {
      const why = NOT_IN_A_SHADOW[key];
      if (why !== undefined) v.fail(`shadows.${name}.${key}`, shadow[key], `absent: ${why}`);
      if (!(SHADOW_KEYS as readonly string[]).includes(key)) v.fail(`shadows.${name}.${key}`, shadow[key], `absent (a shadow takes ${SHADOW_KEYS.join(', ')})`);
    }
    try {
      resolve(shadowBreakerOptions(given, shadow as ShadowSettings));
    } catch (error) {
      if (!(error instanceof CircuitBreakerConfigError)) throw error;
      v.fail(`shadows.${name}.${error.option}`, error.value, error.allowed);
    }
    shadows[name] = Object.freeze({ ...(shadow as ShadowSettings) });
  }
  return Object.freeze(shadows);
}
