import type { Clock } from './clock.js';
import type { CircuitBreakerStore } from './fleet/store.js';
import { monotonicClock } from './clock.js';
import { CircuitBreakerConfigError } from './errors.js';
import { MAX_TIMER_MS, Validator } from './validator.js';
import { DEFAULT_COUNT_WINDOW_SIZE, DEFAULT_TIME_WINDOW_BUCKETS, DEFAULT_TIME_WINDOW_MS, resolveWindow, windowCapacity } from './windows/index.js';
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

/** Everything that shapes a breaker's behaviour; all optional. See README for the defaults. */
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
  /** Longer open durations for repeated openings. Default: none (every opening waits `openDurationMs`). */
  openDurationBackoff?: OpenDurationBackoffOptions;
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
  /** Time source (and optionally timers). Default: monotonic clock, global unref'd timers. */
  clock?: Clock;
  /**
   * Shares this breaker's state with the breakers of the same name that use the same store (other
   * instances of the service, through `RedisCircuitBreakerStore`). Default: none, the breaker keeps
   * its state to itself. Fixed at creation.
   */
  store?: CircuitBreakerStore;
}

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
  readonly clock: Clock;
  readonly store: CircuitBreakerStore | undefined;
}

export const DEFAULTS = {
  slidingWindowSize: DEFAULT_COUNT_WINDOW_SIZE,
  timeWindowDurationMs: DEFAULT_TIME_WINDOW_MS,
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
  'healthCheck',
  'isFailure',
  'isResultFailure',
  'clock',
  'store',
];

const KNOWN_KEYS: ReadonlySet<string> = new Set(['name', ...SETTING_KEYS]);

/**
 * Applies defaults and checks every option. Throws {@link CircuitBreakerConfigError} naming the
 * breaker, the option, the value and what is allowed.
 */
export function resolveOptions(options: CircuitBreakerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new CircuitBreakerConfigError('(unnamed)', 'options', options, 'an object');
  }
  const name = options.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new CircuitBreakerConfigError('(unnamed)', 'name', name, 'a non-empty string');
  }
  const v = new Validator(name);
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new CircuitBreakerConfigError(name, key, (options as unknown as Record<string, unknown>)[key], `one of the known options (${[...KNOWN_KEYS].join(', ')}); "${key}" is not an option`);
    }
  }

  const slidingWindow = resolveWindow(v, options.slidingWindow);
  const failureRateThreshold = v.percent('failureRateThreshold', options.failureRateThreshold, DEFAULTS.failureRateThreshold);
  const slowCallDurationMs = v.optionalDuration('slowCallDurationMs', options.slowCallDurationMs);
  const slowCallRateThreshold = v.percent('slowCallRateThreshold', options.slowCallRateThreshold, DEFAULTS.slowCallRateThreshold);

  // A count window never holds more calls than its size: a gate above it could never open.
  const capacity = windowCapacity(slidingWindow);
  let minimumCalls = Math.min(DEFAULTS.minimumCalls, capacity);
  if (options.minimumCalls !== undefined) {
    minimumCalls = v.integer('minimumCalls', options.minimumCalls, 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
    if (minimumCalls > capacity) {
      v.fail('minimumCalls', minimumCalls, `an integer in [1, slidingWindow.size = ${capacity}] (a count window never holds more calls than its size)`);
    }
  }
  const minimumFailures =
    options.minimumFailures === undefined
      ? DEFAULTS.minimumFailures
      : v.integer('minimumFailures', options.minimumFailures, 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
  const consecutiveFailureThreshold =
    options.consecutiveFailureThreshold === undefined
      ? undefined
      : v.integer('consecutiveFailureThreshold', options.consecutiveFailureThreshold, 1, Number.MAX_SAFE_INTEGER, 'an integer >= 1');
  const timeoutMs = v.optionalDuration('timeoutMs', options.timeoutMs);
  const openDurationMs = v.duration('openDurationMs', options.openDurationMs, DEFAULTS.openDurationMs);
  const openDurationBackoff = resolveBackoff(v, options.openDurationBackoff, openDurationMs);
  const halfOpenMaxCalls =
    options.halfOpenMaxCalls === undefined
      ? DEFAULTS.halfOpenMaxCalls
      : v.integer('halfOpenMaxCalls', options.halfOpenMaxCalls, 1, 10_000, 'an integer in [1, 10000]');
  // A trial's limit is never tied to the open duration: a healthy dependency slower than
  // openDurationMs must still be able to close the circuit.
  const halfOpenProbeTimeoutMs = v.duration('halfOpenProbeTimeoutMs', options.halfOpenProbeTimeoutMs, timeoutMs ?? DEFAULTS.halfOpenProbeTimeoutMs);
  if (timeoutMs !== undefined && halfOpenProbeTimeoutMs < timeoutMs) {
    v.fail('halfOpenProbeTimeoutMs', halfOpenProbeTimeoutMs, `a number of ms in [timeoutMs = ${timeoutMs}, ${MAX_TIMER_MS}] (a trial must be allowed the time a call may take)`);
  }
  const healthCheck = resolveHealthCheck(v, options.healthCheck);
  const isFailure = v.optionalFunction('isFailure', options.isFailure) as ResolvedOptions['isFailure'];
  const isResultFailure = v.optionalFunction('isResultFailure', options.isResultFailure) as ResolvedOptions['isResultFailure'];
  const clock = resolveClock(v, options.clock);
  const store = resolveStore(v, options.store);

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
    clock,
    store,
  };
}

const STORE_METHODS = ['sync', 'transition', 'acquireTrial', 'completeTrial', 'subscribe', 'ping', 'release'] as const;

function resolveStore(v: Validator, store: CircuitBreakerStore | undefined): CircuitBreakerStore | undefined {
  if (store === undefined) return undefined;
  const missing =
    store === null || typeof store !== 'object' ? 'an object' : STORE_METHODS.find((m) => typeof (store as unknown as Record<string, unknown>)[m] !== 'function');
  if (missing !== undefined) {
    return v.fail('store', store, `a CircuitBreakerStore (InMemoryCircuitBreakerStore, RedisCircuitBreakerStore.fromClient(...) or .fromUrl(...)); ${missing === 'an object' ? 'got no object' : `it has no ${missing}() method`}`);
  }
  return store;
}

function resolveBackoff(
  v: Validator,
  backoff: OpenDurationBackoffOptions | undefined,
  openDurationMs: number,
): ResolvedOptions['openDurationBackoff'] {
  if (backoff === undefined) return undefined;
  if (backoff === null || typeof backoff !== 'object') {
    return v.fail('openDurationBackoff', backoff, 'an object { multiplier?, maxMs?, jitter? }');
  }
  v.onlyKeys('openDurationBackoff', backoff, ['multiplier', 'maxMs', 'jitter']);
  const multiplier = v.number('openDurationBackoff.multiplier', backoff.multiplier, DEFAULTS.backoffMultiplier, (n) => n >= 1 && n <= 1000, 'a number in [1, 1000]');
  const maxMs = v.number(
    'openDurationBackoff.maxMs',
    backoff.maxMs,
    Math.min(openDurationMs * DEFAULTS.backoffMaxFactor, MAX_TIMER_MS),
    (n) => n >= openDurationMs && n <= MAX_TIMER_MS,
    `a number of ms in [openDurationMs = ${openDurationMs}, ${MAX_TIMER_MS}]`,
  );
  const jitter = v.number('openDurationBackoff.jitter', backoff.jitter, DEFAULTS.backoffJitter, (n) => n >= 0 && n <= 1, 'a fraction in [0, 1]');
  return { multiplier, maxMs, jitter };
}

function resolveHealthCheck(v: Validator, healthCheck: HealthCheckOptions | undefined): ResolvedOptions['healthCheck'] {
  if (healthCheck === undefined) return undefined;
  if (healthCheck === null || typeof healthCheck !== 'object') {
    return v.fail('healthCheck', healthCheck, 'an object { check, intervalMs }');
  }
  v.onlyKeys('healthCheck', healthCheck, ['check', 'intervalMs']);
  if (typeof healthCheck.check !== 'function') return v.fail('healthCheck.check', healthCheck.check, 'a function returning boolean or Promise<boolean>');
  const intervalMs = v.number('healthCheck.intervalMs', healthCheck.intervalMs, undefined, (n) => n > 0 && n <= MAX_TIMER_MS, `a number of ms in (0, ${MAX_TIMER_MS}]`);
  return { check: healthCheck.check, intervalMs };
}

function resolveClock(v: Validator, clock: Clock | undefined): Clock {
  if (clock === undefined) return monotonicClock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') {
    return v.fail('clock', clock, 'an object with a now() method returning milliseconds');
  }
  if ((clock.setTimeout === undefined) !== (clock.clearTimeout === undefined)) {
    return v.fail('clock', clock, 'a clock with both setTimeout and clearTimeout, or neither');
  }
  return clock;
}
