import type { Clock } from './clock.js';
import type { CircuitBreakerStore } from './fleet/store.js';
import { monotonicClock } from './clock.js';
import { CircuitBreakerConfigError, describeValue } from './errors.js';
import { TRIP_AND_RECOVERY_KEYS, resolveShadows } from './shadow-options.js';
import { MAX_TIMER_MS, Validator, isPlainObject, methodOf, own } from './validator.js';
import { DEFAULT_COUNT_WINDOW_SIZE, DEFAULT_TIME_WINDOW_BUCKETS, resolveWindow, windowCapacity } from './windows/index.js';
import type { ResolvedWindowOptions, SlidingWindowOptions } from './windows/index.js';

export type { CountWindowOptions, SlidingWindowOptions, TimeWindowOptions } from './windows/index.js';
export { MAX_TIMER_MS };

/** Open duration growth for a circuit that re-opens without having closed in between. */
export interface OpenDurationBackoffOptions {
  /** Factor applied per consecutive opening. >= 1. Default 2. */
  multiplier?: number;
  /** Cap on the open duration, in ms. >= `openDurationMs`. Default 10 x `openDurationMs`. */
  maxMs?: number;
  /** Fraction in [0, 1]: each duration is shortened by a random share of at most this much. Default 0. */
  jitter?: number;
}

/** Recovery driven by a check of the dependency instead of a timer. */
export interface HealthCheckOptions {
  /**
   * Resolves (or returns) `true` when the dependency looks healthy. A throw or rejection counts as
   * `false`. A check that declares a parameter gets an AbortSignal, aborted when the check counts
   * as failed for not settling within `intervalMs` (or when the circuit leaves open).
   */
  check: (signal?: AbortSignal) => boolean | Promise<boolean>;
  /**
   * Poll period while the circuit is open, in ms. At most one check is in flight: one still
   * pending at the next poll counts as failed, and no other starts until it settles.
   */
  intervalMs: number;
}

/** Everything that shapes a breaker's behaviour; all optional. The defaults are listed in docs/options.md. */
export interface CircuitBreakerSettings {
  /** Which calls the rates are computed over. Default `{ type: 'count', size: 100 }`. */
  slidingWindow?: SlidingWindowOptions;
  /** Percent in (0, 100]: trip when the failure rate in the window reaches it. Default 50. */
  failureRateThreshold?: number;
  /** A call lasting at least this many ms is slow. Unset (default): slow calls are not tracked. */
  slowCallDurationMs?: number;
  /** Percent in (0, 100]: trip when the slow-call rate reaches it. Default 100. Needs `slowCallDurationMs`. */
  slowCallRateThreshold?: number;
  /** No rate-based trip before this many calls are in the window. Integer >= 1. Default 10 (capped at a count window's size). */
  minimumCalls?: number;
  /** No failure-rate trip before this many failures are in the window. Integer >= 1. Default 1 (gate off). */
  minimumFailures?: number;
  /** Trip after this many failures in a row, whatever the window says. Integer >= 1. Default: off. */
  consecutiveFailureThreshold?: number;
  /** Per-call timeout in ms for calls that return a promise. A timed-out call is a failure. Default: none. */
  timeoutMs?: number;
  /** How long the circuit stays open before a trial call, in ms. Default 30_000. */
  openDurationMs?: number;
  /**
   * Longer open durations for repeated openings: `true` for every default, or a plain object.
   * Default: none (every opening waits `openDurationMs`).
   */
  openDurationBackoff?: true | OpenDurationBackoffOptions;
  /** Trial calls admitted at once in half_open; that many successes close the circuit. Integer >= 1. Default 1. */
  halfOpenMaxCalls?: number;
  /**
   * A trial call not settled after this many ms counts as failed (a hung probe must not pin
   * half_open). At least `timeoutMs`. Default: `timeoutMs` when set, else 60_000 (never tied to
   * `openDurationMs`: a healthy dependency slower than the open duration must be able to close the
   * circuit).
   */
  halfOpenProbeTimeoutMs?: number;
  /** While open, recover through half_open only once this check passes. Default: none. */
  healthCheck?: HealthCheckOptions;
  /** Which errors count as failures; `false` = ignored (neither success nor failure). Default: every error. */
  isFailure?: (error: unknown) => boolean;
  /** A resolved result to record as a failure (it is still returned to the caller). Default: none. */
  isResultFailure?: (result: unknown) => boolean;
  /**
   * How long the dependency asked callers to stay away, read from the failure that opens the
   * circuit (an error, or a result `isResultFailure` flagged), e.g. an HTTP `Retry-After`: the
   * circuit then stays open at least that many ms, longer than `openDurationMs` if need be (capped
   * at 2^31 - 1 ms). Return `undefined` (or 0) for no hint; a throw counts as no hint. Consulted
   * only on an opening caused by a failure. Default: none.
   */
  retryAfterMs?: (failure: unknown) => number | undefined;
  /** Time source (and optionally timers). Default: monotonic clock, global timers that never keep the process alive except a deadline while a timed call waits on it. */
  clock?: Clock;
  /**
   * Shares this breaker's state with the breakers of the same name that use the same store (other
   * instances of the service, through `RedisCircuitBreakerStore`). Default: none, the breaker keeps
   * its state to itself. Fixed at creation.
   */
  store?: CircuitBreakerStore;
  /**
   * Shadow configurations: named sets of options evaluated live beside the enforced ones, on the
   * same calls, never rejecting anything (`{ strict: { failureRateThreshold: 25 } }`). Each shadow
   * takes the breaker's options with its own on top and reports would-be state, would-be trips and
   * would-be rejections in `snapshot().shadows`, health, metrics and the admin API. Only the
   * options that decide when to trip and recover may differ (no code-valued option, no store, no
   * health check). At most 10; names of letters, digits, `_`, `-` and `.`. Default: none.
   * See docs/tuning.md.
   */
  shadows?: Readonly<Record<string, ShadowSettings>>;
}

/** The options a shadow configuration may set: the ones that decide when to trip and recover. */
export type ShadowSettings = Pick<CircuitBreakerSettings, (typeof TRIP_AND_RECOVERY_KEYS)[number]>;

export interface CircuitBreakerOptions extends CircuitBreakerSettings {
  /** Identifies the breaker in errors, events, health and metrics. Non-empty string. */
  name: string;
}

/** Options after defaults and validation; what the engine reads. */
export interface ResolvedOptions {
  readonly name: string;
  readonly slidingWindow: ResolvedWindowOptions;
  readonly failureRateThreshold: number;
  readonly slowCallDurationMs: number | undefined;
  readonly slowCallRateThreshold: number;
  readonly minimumCalls: number;
  readonly minimumFailures: number;
  readonly consecutiveFailureThreshold: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly openDurationMs: number;
  readonly openDurationBackoff: Readonly<Required<OpenDurationBackoffOptions>> | undefined;
  readonly halfOpenMaxCalls: number;
  readonly halfOpenProbeTimeoutMs: number;
  readonly healthCheck: Readonly<HealthCheckOptions> | undefined;
  readonly isFailure: ((error: unknown) => boolean) | undefined;
  readonly isResultFailure: ((result: unknown) => boolean) | undefined;
  readonly retryAfterMs: ((failure: unknown) => number | undefined) | undefined;
  readonly clock: Clock;
  readonly store: CircuitBreakerStore | undefined;
  /** Each shadow's own options as given (checked: shadow-options.ts). */
  readonly shadows: Readonly<Record<string, Readonly<ShadowSettings>>> | undefined;
}

export const DEFAULTS = {
  slidingWindowSize: DEFAULT_COUNT_WINDOW_SIZE,
  timeWindowBuckets: DEFAULT_TIME_WINDOW_BUCKETS,
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  minimumCalls: 10,
  minimumFailures: 1,
  openDurationMs: 30_000,
  backoffMultiplier: 2,
  backoffMaxFactor: 10,
  backoffJitter: 0,
  halfOpenMaxCalls: 1,
  /** Without timeoutMs; with one, the probe timeout defaults to timeoutMs. */
  halfOpenProbeTimeoutMs: 60_000,
} as const;

/** Every option a breaker has besides its name, in documentation order. */
export const SETTING_KEYS: readonly (keyof CircuitBreakerSettings)[] = [
  ...TRIP_AND_RECOVERY_KEYS,
  'healthCheck',
  'isFailure',
  'isResultFailure',
  'retryAfterMs',
  'clock',
  'store',
  'shadows',
];

const KNOWN_KEYS: ReadonlySet<string> = new Set(['name', ...SETTING_KEYS]);

/** The longest breaker name: names become metric labels, log lines and Redis keys. */
export const MAX_NAME_LENGTH = 200;

/**
 * Whether `text` is well-formed UTF-16: no lone surrogate (`"a\ud800"`). A lone surrogate encodes
 * to U+FFFD in UTF-8, so "a\ud800" and "a\udc00" would be two breakers with one metric label, one
 * log text and one Redis key. (`String.prototype.isWellFormed`, Node 20+; the ES2024 typings are
 * not in this project's `lib`.)
 */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** What a breaker (or family) name must be, when it is not well-formed UTF-16. */
export const WELL_FORMED = 'well-formed UTF-16 (no lone surrogate such as "\ud800": it would print and encode like another name)';

/**
 * Applies defaults and checks every option. Throws {@link CircuitBreakerConfigError} naming the
 * breaker, the option, the value and what is allowed. Options are read from own properties only:
 * nothing inherited (a polluted `Object.prototype`) changes a breaker.
 */
export function resolveOptions(options: CircuitBreakerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new CircuitBreakerConfigError('(unnamed)', 'options', options, 'an object');
  }
  const name = own(options, 'name');
  if (typeof name !== 'string' || name.length === 0) {
    throw new CircuitBreakerConfigError('(unnamed)', 'name', name, 'a non-empty string');
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new CircuitBreakerConfigError(`${name.slice(0, 40)}…`, 'name', name, `a string of at most ${MAX_NAME_LENGTH} characters (it has ${name.length})`);
  }
  if (!isWellFormed(name)) throw new CircuitBreakerConfigError(name, 'name', name, WELL_FORMED);
  const v = new Validator(name);
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      v.fail(key, (options as unknown as Record<string, unknown>)[key], `one of the known options (${[...KNOWN_KEYS].join(', ')}); "${key}" is not an option`);
    }
  }
  const option = (key: keyof CircuitBreakerSettings): unknown => own(options, key);

  const slidingWindow = resolveWindow(v, option('slidingWindow'));
  const failureRateThreshold = v.percent('failureRateThreshold', option('failureRateThreshold'), DEFAULTS.failureRateThreshold);
  const slowCallDurationMs = v.optionalDuration('slowCallDurationMs', option('slowCallDurationMs'));
  const slowCallRateThreshold = v.percent('slowCallRateThreshold', option('slowCallRateThreshold'), DEFAULTS.slowCallRateThreshold);
  if (slowCallDurationMs === undefined && option('slowCallRateThreshold') !== undefined) {
    v.fail('slowCallRateThreshold', option('slowCallRateThreshold'), 'unset without slowCallDurationMs (slow calls are not tracked, so it could never take effect); set slowCallDurationMs too');
  }

  // A count window never holds more calls than its size: a gate above it could never open.
  const capacity = windowCapacity(slidingWindow);
  let minimumCalls = Math.min(DEFAULTS.minimumCalls, capacity);
  if (option('minimumCalls') !== undefined) {
    minimumCalls = v.integer('minimumCalls', option('minimumCalls'), 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
    if (minimumCalls > capacity) {
      v.fail('minimumCalls', minimumCalls, `an integer in [1, slidingWindow.size = ${capacity}] (a count window never holds more calls than its size)`);
    }
  }
  let minimumFailures: number = DEFAULTS.minimumFailures;
  if (option('minimumFailures') !== undefined) {
    minimumFailures = v.integer('minimumFailures', option('minimumFailures'), 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
    if (minimumFailures > capacity) {
      v.fail('minimumFailures', minimumFailures, `an integer in [1, slidingWindow.size = ${capacity}] (a count window never holds more failures than its size)`);
    }
  }
  const consecutiveFailureThreshold =
    option('consecutiveFailureThreshold') === undefined
      ? undefined
      : v.integer('consecutiveFailureThreshold', option('consecutiveFailureThreshold'), 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
  const timeoutMs = v.optionalDuration('timeoutMs', option('timeoutMs'));
  const openDurationMs = v.duration('openDurationMs', option('openDurationMs'), DEFAULTS.openDurationMs);
  const openDurationBackoff = resolveBackoff(v, option('openDurationBackoff'), openDurationMs);
  const halfOpenMaxCalls =
    option('halfOpenMaxCalls') === undefined
      ? DEFAULTS.halfOpenMaxCalls
      : v.integer('halfOpenMaxCalls', option('halfOpenMaxCalls'), 1, 10_000, 'an integer in [1, 10000]');
  // A trial's limit is never tied to the open duration: a healthy dependency slower than
  // openDurationMs must still be able to close the circuit.
  const halfOpenProbeTimeoutMs = v.duration('halfOpenProbeTimeoutMs', option('halfOpenProbeTimeoutMs'), timeoutMs ?? DEFAULTS.halfOpenProbeTimeoutMs);
  if (timeoutMs !== undefined && halfOpenProbeTimeoutMs < timeoutMs) {
    v.fail('halfOpenProbeTimeoutMs', halfOpenProbeTimeoutMs, `a number of ms in [timeoutMs = ${timeoutMs}, ${MAX_TIMER_MS}] (a trial must be allowed the time a call may take)`);
  }
  const healthCheck = resolveHealthCheck(v, option('healthCheck'));
  const isFailure = v.optionalFunction('isFailure', option('isFailure')) as ResolvedOptions['isFailure'];
  const isResultFailure = v.optionalFunction('isResultFailure', option('isResultFailure')) as ResolvedOptions['isResultFailure'];
  const retryAfterMs = v.optionalFunction('retryAfterMs', option('retryAfterMs')) as ResolvedOptions['retryAfterMs'];
  const clock = resolveClock(v, option('clock'));
  const store = resolveStore(v, option('store'));
  const shadows = resolveShadows(v, option('shadows'), options, resolveOptions);

  return {
    name,
    slidingWindow,
    failureRateThreshold,
    slowCallDurationMs,
    slowCallRateThreshold,
    minimumCalls,
    minimumFailures,
    consecutiveFailureThreshold,
    timeoutMs,
    openDurationMs,
    openDurationBackoff,
    halfOpenMaxCalls,
    halfOpenProbeTimeoutMs,
    healthCheck,
    isFailure,
    isResultFailure,
    retryAfterMs,
    clock,
    store,
    shadows,
  };
}

const STORE_METHODS = ['sync', 'transition', 'acquireTrial', 'completeTrial', 'subscribe', 'ping', 'release'] as const;

function resolveStore(v: Validator, store: unknown): CircuitBreakerStore | undefined {
  if (store === undefined) return undefined;
  const missing = store === null || typeof store !== 'object' ? 'an object' : STORE_METHODS.find((m) => methodOf(store, m) === undefined);
  if (missing !== undefined) {
    return v.fail('store', store, `a CircuitBreakerStore (InMemoryCircuitBreakerStore, RedisCircuitBreakerStore.fromClient(...) or .fromUrl(...)); ${missing === 'an object' ? 'got no object' : `it has no ${missing}() method`}`);
  }
  return store as CircuitBreakerStore;
}

function resolveBackoff(v: Validator, backoff: unknown, openDurationMs: number): ResolvedOptions['openDurationBackoff'] {
  if (backoff === undefined) return undefined;
  const given = backoff === true ? {} : backoff;
  if (!isPlainObject(given)) {
    return v.fail('openDurationBackoff', backoff, 'true (every default) or a plain object { multiplier?, maxMs?, jitter? }');
  }
  v.onlyKeys('openDurationBackoff', given, ['multiplier', 'maxMs', 'jitter']);
  const multiplier = v.number('openDurationBackoff.multiplier', own(given, 'multiplier'), DEFAULTS.backoffMultiplier, (n) => n >= 1 && n <= 1000, 'a number in [1, 1000]');
  const maxMs = v.number(
    'openDurationBackoff.maxMs',
    own(given, 'maxMs'),
    Math.min(openDurationMs * DEFAULTS.backoffMaxFactor, MAX_TIMER_MS),
    (n) => n >= openDurationMs && n <= MAX_TIMER_MS,
    `a number of ms in [openDurationMs = ${openDurationMs}, ${MAX_TIMER_MS}]`,
  );
  const jitter = v.number('openDurationBackoff.jitter', own(given, 'jitter'), DEFAULTS.backoffJitter, (n) => n >= 0 && n <= 1, 'a fraction in [0, 1]');
  return { multiplier, maxMs, jitter };
}

function resolveHealthCheck(v: Validator, healthCheck: unknown): ResolvedOptions['healthCheck'] {
  if (healthCheck === undefined) return undefined;
  if (healthCheck === null || typeof healthCheck !== 'object') {
    return v.fail('healthCheck', healthCheck, 'an object { check, intervalMs }');
  }
  v.onlyKeys('healthCheck', healthCheck, ['check', 'intervalMs']);
  const check = own(healthCheck, 'check');
  if (typeof check !== 'function') return v.fail('healthCheck.check', check, 'a function returning boolean or Promise<boolean>');
  const intervalMs = v.number('healthCheck.intervalMs', own(healthCheck, 'intervalMs'), undefined, (n) => n > 0 && n <= MAX_TIMER_MS, `a number of ms in (0, ${MAX_TIMER_MS}]`);
  return { check: check as HealthCheckOptions['check'], intervalMs };
}

function resolveClock(v: Validator, clock: unknown): Clock {
  if (clock === undefined) return monotonicClock;
  const now = clock !== null && typeof clock === 'object' ? methodOf(clock, 'now') : undefined;
  if (now === undefined) return v.fail('clock', clock, 'an object with a now() method returning milliseconds');
  if ((methodOf(clock as object, 'setTimeout') === undefined) !== (methodOf(clock as object, 'clearTimeout') === undefined)) {
    return v.fail('clock', clock, 'a clock with both setTimeout and clearTimeout, or neither');
  }
  // The first read: a clock that answers no finite number would make every duration NaN.
  let first: unknown;
  try {
    first = (clock as Clock).now();
  } catch (error) {
    return v.fail('clock', clock, `a clock whose now() returns a finite number of ms; it threw ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof first !== 'number' || !Number.isFinite(first)) {
    return v.fail('clock', clock, `a clock whose now() returns a finite number of ms; it returned ${describeValue(first)}`);
  }
  return clock as Clock;
}
