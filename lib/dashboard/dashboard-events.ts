/**
 * What the dashboard's event stream (`<path>/events`) carries: the page reads it, and so can any
 * other client (`curl -N`, a script). Each event is one `event: <type>` line and one `data:` line
 * of JSON. Version 1; a change that breaks a reader bumps {@link DashboardSnapshotEvent.version}.
 *
 * | event | data | when |
 * |---|---|---|
 * | `snapshot` | {@link DashboardSnapshotEvent} | first, on every connection (a reconnect too) |
 * | `breaker` | {@link DashboardBreakerView} | a breaker changed (coalesced: its latest view) |
 * | `sample` | {@link DashboardSampleEvent} | every `sampleIntervalMs` (the newest one only, if a client lags) |
 * | `transitions` | {@link DashboardTransition}[] | transitions since the last ones sent |
 * | `instances` | {@link DashboardInstanceView}[] | an instance's view of a breaker changed |
 * | `removed` | `{ name }` | a breaker no longer exists |
 * | `families` | {@link DashboardFamilyView}[] | a family of keyed breakers changed (keys, states, open keys) |
 */
import type { CircuitState, TransitionReason } from '../core/circuit-breaker.js';
import type { ResolvedOptions } from '../core/options.js';

/** The options a breaker is judged against, as the charts draw them. */
export interface DashboardThresholds {
  failureRateThreshold: number;
  /** Only when slow calls are tracked (`slowCallDurationMs` set). */
  slowCallRateThreshold?: number;
  slowCallDurationMs?: number;
  minimumCalls: number;
  minimumFailures: number;
  consecutiveFailureThreshold?: number;
  openDurationMs: number;
  timeoutMs?: number;
  slidingWindow: ResolvedOptions['slidingWindow'];
}

/** One breaker on this instance: its snapshot, a few totals and its thresholds. */
export interface DashboardBreakerView {
  name: string;
  state: CircuitState;
  /** Percent of the calls in the window, two decimals. */
  failureRate: number;
  slowCallRate: number;
  calls: number;
  failures: number;
  slowCalls: number;
  consecutiveFailures: number;
  notPermittedCalls: number;
  /** open: ms until the next call is a trial (counted down by the page); half_open with every slot taken. */
  retryAfterMs?: number;
  openedAt?: number;
  halfOpenCallsInFlight?: number;
  wouldTrip?: boolean;
  /** Breakers with a store: `shared`, or `local_fallback` while the store is unreachable. */
  store?: 'shared' | 'local_fallback' | 'unreadable';
  /** Breakers with a store: outages so far. */
  storeFallbacks?: number;
  /** Times the circuit opened by its own rules. */
  openings: number;
  thresholds: DashboardThresholds;
}

/** A transition, with the window's rates at that moment. */
export interface DashboardTransition {
  /** Increases by one per transition on this instance. */
  id: number;
  name: string;
  from: CircuitState;
  to: CircuitState;
  reason: TransitionReason;
  /** The breaker clock's time, whole ms (epoch ms with the default clock). */
  at: number;
  failureRate: number;
  slowCallRate: number;
  calls: number;
}

/**
 * One sample of every breaker, in the order of {@link SAMPLE_FIELDS}: rates in percent, then calls
 * per second by outcome since the previous sample (`null` for a breaker's first sample).
 */
export type DashboardSamplePoint = [number, number, number | null, number | null, number | null, number | null, number | null];

export const SAMPLE_FIELDS = ['failureRate', 'slowCallRate', 'successful', 'failed', 'timeout', 'notPermitted', 'ignored'] as const;

export interface DashboardSampleEvent {
  /** The dashboard clock's time of the sample (epoch ms). */
  t: number;
  points: Record<string, DashboardSamplePoint>;
}

/** Chart data of one breaker: one array per field of {@link SAMPLE_FIELDS}, aligned with `sampleTimes`. */
export type DashboardHistory = Record<(typeof SAMPLE_FIELDS)[number], (number | null)[]>;

/**
 * How one instance of the service sees each breaker: this instance first; when the breakers use a
 * store, every other live instance of the fleet view (the store's heartbeats, `registry.fleet()`).
 */
export interface DashboardInstanceView {
  /** `<hostname>:<pid>` */
  id: string;
  /** The instance that serves this page. */
  self: boolean;
  breakers: Record<string, { state: CircuitState; failureRate: number; slowCallRate: number; store?: 'shared' | 'local_fallback' | 'unreadable' }>;
}

/**
 * A family of keyed breakers (`@UseCircuitBreaker('shards', { key })`) as one row: how many keys
 * are in each state, and which are open. Its keys get no card of their own.
 */
export interface DashboardFamilyView {
  name: string;
  /** Keys with a breaker of their own now. */
  keys: number;
  maxKeys: number;
  /** How many keys are in each state (every state listed, 0 included). */
  states: Record<CircuitState, number>;
  /** Keys whose circuit does not admit every call (open, half_open, forced_open), sorted, at most 20. */
  openKeys: string[];
  /** How many such keys there are (more than `openKeys` lists when over the cap). */
  openKeyCount: number;
  /** The overflow breaker's state while it exists (every key's circuit open at `maxKeys`). */
  overflow?: CircuitState;
}

export interface DashboardSnapshotEvent {
  version: 1;
  at: number;
  instanceId: string;
  sampleIntervalMs: number;
  historyMs: number;
  /** Times of the samples in every breaker's `history`, oldest first. */
  sampleTimes: number[];
  breakers: (DashboardBreakerView & { history: DashboardHistory; transitions: DashboardTransition[] })[];
  instances: DashboardInstanceView[];
  /** Families of keyed breakers, by name. */
  families: DashboardFamilyView[];
}
