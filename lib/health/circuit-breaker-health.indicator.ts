/**
 * A Terminus health indicator that reports every circuit breaker's state and rates.
 *
 * It works with Terminus 11 and 12. Terminus 12 has a third status, `degraded` (HTTP 200, overall
 * status "degraded"); Terminus 11 has only `up` and `down`. Whether `.degraded()` exists is read at
 * runtime, never from the installed typings, so one build serves both.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { CircuitBreaker, CircuitBreakerSnapshot, CircuitState } from '../core/circuit-breaker.js';
import { STATE_TABLE } from '../core/states/index.js';
import type { CircuitBreakerFamily } from '../family/circuit-breaker-family.js';

/** Options of {@link CircuitBreakerHealthIndicator.isHealthy}. */
export interface CircuitBreakerHealthOptions {
  /**
   * Names of the breakers to report; every breaker of the application when omitted. A name that
   * no breaker of the application has is reported as `{ status: 'down', state: 'unknown' }`: a
   * health check that names a breaker the application does not have is misconfigured, and a
   * misconfigured check should fail where it is deployed rather than report healthy forever.
   */
  breakers?: readonly string[];
  /**
   * How an `open` or `forced_open` breaker is reported.
   *
   * - `'degraded'` (default): `degraded` on Terminus 12 (HTTP 200, overall status "degraded"), `up`
   *   on Terminus 11. The instance is still healthy: it fails fast on one dependency, and a probe
   *   that fails on a dependency's outage takes healthy instances out of rotation or restarts them.
   * - `'down'`: `down` (HTTP 503). For a readiness probe that should shed traffic from an instance
   *   whose dependency is unavailable; never for a liveness probe.
   */
  openAs?: 'degraded' | 'down';
  /** How many open keys a family's entry lists by name (`openKeys`), at most. Default 20. */
  maxOpenKeys?: number;
  /**
   * Also report the fleet view (`details.fleet`: every live instance and its view of each breaker,
   * from the store's heartbeats; see docs/fleet.md). `isHealthy` then returns a promise, reads the
   * store (bounded by its command timeout) and never changes `status` for it.
   */
  fleet?: boolean;
}

/**
 * What the indicator reports for a family of keyed breakers: one entry for the whole family (under
 * its name), with its status the worst of its keys' (each judged like a breaker).
 */
export interface CircuitBreakerFamilyHealthDetails {
  status: BreakerHealthStatus;
  family: true;
  /** Keys with a breaker of their own. */
  keys: number;
  maxKeys: number;
  /** How many keys are in each state. */
  states: Record<CircuitState, number>;
  /** Keys whose circuit does not admit every call (open, half_open, forced_open), sorted, at most `maxOpenKeys`. */
  openKeys: string[];
  /** How many such keys there are. */
  openKeyCount: number;
  /** The overflow breaker's state, while every key is open at `maxKeys` and new keys share it. */
  overflow?: CircuitState;
}

/** What the indicator reports for one breaker (under `details.<key>.breakers.<name>`). */
export interface CircuitBreakerHealthDetails {
  status: BreakerHealthStatus;
  state: CircuitState | 'unknown';
  /** Percent of the calls in the window, rounded to two decimals. */
  failureRate?: number;
  /** Percent of the calls in the window, rounded to two decimals. */
  slowCallRate?: number;
  /** Calls in the sliding window (ignored calls excluded). */
  calls?: number;
  /** open / half_open: milliseconds until a call may be admitted again, when known. */
  retryAfterMs?: number;
  /**
   * Breakers with a store: `shared` while the store answers, `local_fallback` while it does not
   * (the breaker still protects, on its own state), `unreadable` while the store holds data for
   * this breaker that cannot be read (overwritten by the next transition). Neither changes `status`.
   */
  store?: 'shared' | 'local_fallback' | 'unreadable';
  /** Breakers with a store: times the store failed since the breaker was created. */
  storeFallbacks?: number;
  /**
   * Breakers with `shadows`: each shadow configuration's would-be state, trips and rejections.
   * A shadow never changes `status` (it rejects nothing).
   */
  shadows?: Record<string, { state: CircuitState; wouldTrips: number; wouldReject: number }>;
}

type BreakerHealthStatus = 'up' | 'degraded' | 'down';

/** The session returned by `HealthIndicatorService.check(key)`, as both Terminus 11 and 12 shape it. */
interface IndicatorSession {
  up(data?: Record<string, unknown>): HealthIndicatorResult;
  down(data?: Record<string, unknown>): HealthIndicatorResult;
  /** Terminus 12 only. */
  degraded?: (data?: Record<string, unknown>) => HealthIndicatorResult;
}

const DEFAULT_KEY = 'circuit_breakers';
const DEFAULT_MAX_OPEN_KEYS = 20;
const INTERNAL_ERROR_MESSAGE = 'The circuit breaker health check failed unexpectedly';

export const MISSING_REGISTRY_MESSAGE =
  'CircuitBreakerHealthModule needs the CircuitBreakerRegistry of CircuitBreakerModule, which this application does not provide. ' +
  'Import CircuitBreakerModule.forRoot() (or forRootAsync()) in your application module, leaving isGlobal at its default (true).';

/**
 * Reports the application's circuit breakers to Terminus.
 *
 * ```ts
 * @Get() @HealthCheck()
 * check() {
 *   return this.health.check([() => this.breakers.isHealthy()]);
 * }
 * ```
 *
 * | state | reported |
 * |---|---|
 * | closed, disabled, metrics_only | up |
 * | half_open | degraded (up on Terminus 11) |
 * | open, forced_open | degraded (up on Terminus 11); down with `openAs: 'down'` |
 * | open, open duration over (next call is a trial) | degraded (up on Terminus 11) |
 * | name not found (`breakers` option) | down, `state: 'unknown'` |
 * | a family of keyed breakers | one entry: the worst of its keys, with counts per state and the open keys |
 *
 * The key is `down` if any breaker is down, else `degraded` if any is degraded, else `up`. Details
 * carry state, rates, window size and retry time, never an error message. It never throws.
 */
@Injectable()
export class CircuitBreakerHealthIndicator {
  private readonly registry: CircuitBreakerRegistry;

  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    @Optional() @Inject(CircuitBreakerRegistry) registry: CircuitBreakerRegistry | undefined,
  ) {
    // Fails bootstrap (module compilation) rather than the first health check.
    if (registry === undefined || registry === null) throw new Error(MISSING_REGISTRY_MESSAGE);
    this.registry = registry;
  }

  /**
   * The health of the breakers under `key` (default `'circuit_breakers'`):
   * `{ [key]: { status, breakers: { [name]: CircuitBreakerHealthDetails } } }`.
   */
  isHealthy<const Key extends string = typeof DEFAULT_KEY>(key?: Key, options?: CircuitBreakerHealthOptions & { fleet?: false }): HealthIndicatorResult<Key>;
  /** With the fleet view under `details.fleet` (`{ instances, unreachableStores }`). */
  isHealthy<const Key extends string = typeof DEFAULT_KEY>(key: Key, options: CircuitBreakerHealthOptions & { fleet: true }): Promise<HealthIndicatorResult<Key>>;
  isHealthy<const Key extends string = typeof DEFAULT_KEY>(key?: Key, options?: CircuitBreakerHealthOptions): HealthIndicatorResult<Key> | Promise<HealthIndicatorResult<Key>>;
  isHealthy<const Key extends string = typeof DEFAULT_KEY>(
    key: Key = DEFAULT_KEY as Key,
    options: CircuitBreakerHealthOptions = {},
  ): HealthIndicatorResult<Key> | Promise<HealthIndicatorResult<Key>> {
    const result = this.report(key, options);
    if (options?.fleet !== true) return result;
    return this.registry.fleet().then(
      (fleet) => withDetail(result, key, 'fleet', fleet),
      () => withDetail(result, key, 'fleet', { instances: [], unreachableStores: 1 }),
    );
  }

  private report<const Key extends string>(key: Key, options: CircuitBreakerHealthOptions): HealthIndicatorResult<Key> {
    let session: IndicatorSession | undefined;
    try {
      session = this.healthIndicatorService.check(key) as unknown as IndicatorSession;
      const openAs = options?.openAs ?? 'degraded';
      if (openAs !== 'degraded' && openAs !== 'down') {
        return session.down({ message: `Invalid openAs option: expected 'degraded' or 'down'` }) as HealthIndicatorResult<Key>;
      }
      const names = options?.breakers;
      if (names !== undefined && !Array.isArray(names)) {
        return session.down({ message: 'Invalid breakers option: expected an array of breaker names' }) as HealthIndicatorResult<Key>;
      }
      const canDegrade = typeof session.degraded === 'function';
      const maxOpenKeys = options?.maxOpenKeys ?? DEFAULT_MAX_OPEN_KEYS;
      if (!Number.isInteger(maxOpenKeys) || maxOpenKeys < 0) {
        return session.down({ message: 'Invalid maxOpenKeys option: expected an integer >= 0' }) as HealthIndicatorResult<Key>;
      }
      // no prototype: a breaker may be named "__proto__"
      const breakers = Object.create(null) as Record<string, CircuitBreakerHealthDetails | CircuitBreakerFamilyHealthDetails>;
      if (names === undefined) {
        for (const breaker of this.registry.getAll()) breakers[breaker.name] = report(breaker, openAs, canDegrade);
        for (const family of this.registry.families()) breakers[family.name] = reportFamily(family, openAs, canDegrade, maxOpenKeys);
      } else {
        for (const name of names) {
          // find() and hasFamily() first: get() and family() would build one for an unknown name.
          const breaker = this.registry.find(name);
          breakers[String(name)] =
            breaker !== undefined
              ? report(breaker, openAs, canDegrade)
              : this.registry.hasFamily(name)
                ? reportFamily(this.registry.family(name), openAs, canDegrade, maxOpenKeys)
                : { status: 'down', state: 'unknown' };
        }
      }
      const data = { breakers };
      const overall = worst(Object.values(breakers));
      if (overall === 'down') return session.down(data) as HealthIndicatorResult<Key>;
      if (overall === 'degraded' && session.degraded !== undefined) return session.degraded(data) as HealthIndicatorResult<Key>;
      return session.up(data) as HealthIndicatorResult<Key>;
    } catch {
      // Terminus answers 500 for an indicator that throws; report down instead, without the error's text.
      return internalError(key, session);
    }
  }
}

/** The result with one more entry in its key's details (the status is left as it is). */
function withDetail<Key extends string>(result: HealthIndicatorResult<Key>, key: Key, name: string, value: unknown): HealthIndicatorResult<Key> {
  const entry = (result as Record<string, Record<string, unknown>>)[key];
  return { ...result, [key]: { ...entry, [name]: value } } as HealthIndicatorResult<Key>;
}

function reportFamily(family: CircuitBreakerFamily, openAs: 'degraded' | 'down', canDegrade: boolean, maxOpenKeys: number): CircuitBreakerFamilyHealthDetails {
  let status: BreakerHealthStatus = 'up';
  for (const breaker of family.breakers()) {
    // A closed key is up without a snapshot: a family may have thousands.
    if (STATE_TABLE[breaker.state].admits === 'all') continue;
    const keyStatus = statusOf(breaker.snapshot(), openAs, canDegrade);
    if (keyStatus === 'down') {
      status = 'down';
      break;
    }
    if (keyStatus === 'degraded') status = 'degraded';
  }
  const summary = family.summary(maxOpenKeys);
  return {
    status,
    family: true,
    keys: summary.keys,
    maxKeys: summary.maxKeys,
    states: { ...summary.states },
    openKeys: [...summary.openKeys],
    openKeyCount: summary.openKeyCount,
    ...(summary.overflow === undefined ? {} : { overflow: summary.overflow }),
  };
}

function report(breaker: CircuitBreaker, openAs: 'degraded' | 'down', canDegrade: boolean): CircuitBreakerHealthDetails {
  return describe(breaker.snapshot(), breaker.totals().storeFallbacks, openAs, canDegrade);
}

function describe(snapshot: CircuitBreakerSnapshot, storeFallbacks: number, openAs: 'degraded' | 'down', canDegrade: boolean): CircuitBreakerHealthDetails {
  const details: CircuitBreakerHealthDetails = {
    status: statusOf(snapshot, openAs, canDegrade),
    state: snapshot.state,
    failureRate: round(snapshot.failureRate),
    slowCallRate: round(snapshot.slowCallRate),
    calls: snapshot.calls,
  };
  if (snapshot.retryAfterMs !== undefined) details.retryAfterMs = snapshot.retryAfterMs;
  if (snapshot.store !== undefined) {
    details.store = snapshot.store;
    details.storeFallbacks = storeFallbacks;
  }
  if (snapshot.shadows !== undefined) {
    details.shadows = {};
    for (const [name, shadow] of Object.entries(snapshot.shadows)) {
      details.shadows[name] = { state: shadow.state, wouldTrips: shadow.wouldTrips, wouldReject: shadow.wouldReject };
    }
  }
  return details;
}

function statusOf(snapshot: CircuitBreakerSnapshot, openAs: 'degraded' | 'down', canDegrade: boolean): BreakerHealthStatus {
  switch (STATE_TABLE[snapshot.state].admits) {
    case 'none':
      // open, forced_open. Open moves to half_open lazily, on the next call: once the open duration
      // is over (retryAfterMs 0) the next call is a trial. Reporting down then would keep a
      // readiness-gated instance out of rotation, so no call would ever come to close the circuit.
      if (openAs === 'down' && snapshot.retryAfterMs !== 0) return 'down';
      return canDegrade ? 'degraded' : 'up';
    case 'trials':
      return canDegrade ? 'degraded' : 'up';
    default:
      // closed, disabled, metrics_only: calls go through
      return 'up';
  }
}

function worst(entries: readonly { status: BreakerHealthStatus }[]): BreakerHealthStatus {
  let result: BreakerHealthStatus = 'up';
  for (const entry of entries) {
    if (entry.status === 'down') return 'down';
    if (entry.status === 'degraded') result = 'degraded';
  }
  return result;
}

function round(percent: number): number {
  return Math.round(percent * 100) / 100;
}

function internalError<Key extends string>(key: Key, session: IndicatorSession | undefined): HealthIndicatorResult<Key> {
  try {
    if (session !== undefined) return session.down({ message: INTERNAL_ERROR_MESSAGE }) as HealthIndicatorResult<Key>;
  } catch {
    // fall through to a hand-built result of the same shape
  }
  return { [key]: { status: 'down', message: INTERNAL_ERROR_MESSAGE } } as unknown as HealthIndicatorResult<Key>;
}
