import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';

/** Options of `CircuitBreakerPrometheusModule.forRoot()`. */
export interface CircuitBreakerPrometheusOptions {
  /**
   * The prom-client registry the metrics are registered on. Default: prom-client's global
   * `register` (the one `@willsoto/nestjs-prometheus` and `collectDefaultMetrics()` use by default).
   * Only this module's own metric names are registered on it; nothing else is touched.
   */
  registry?: Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;
  /**
   * Prepended to every metric name (`myapp_` gives `myapp_circuit_breaker_state`). Default: none.
   * Must itself be a valid metric name start: letters, digits, `_` and `:`, not starting with a digit.
   */
  prefix?: string;
  /**
   * Buckets of `circuit_breaker_open_duration_seconds`, in seconds. Default:
   * `[1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]`.
   */
  openDurationBuckets?: readonly number[];
  /**
   * Families of keyed breakers: how many keys of each family get series of their own (a `key`
   * label) besides the keys whose circuit is not closed, which always do: the busiest ones by
   * recent traffic. Every other key is aggregated under `key="_other"`, so a family adds at most
   * `topKeys` + (keys not closed) + 2 label values. Integer >= 0. Default 10.
   */
  topKeys?: number;
}

export const CIRCUIT_BREAKER_PROMETHEUS_OPTIONS = Symbol('CIRCUIT_BREAKER_PROMETHEUS_OPTIONS');

/** Default buckets of the open-duration histogram, in seconds (1 s to 1 h). */
export const DEFAULT_TOP_KEYS = 10;

export const DEFAULT_OPEN_DURATION_BUCKETS: readonly number[] = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The metric names this module registers (before `prefix`). */
export const CIRCUIT_BREAKER_METRIC_NAMES = {
  state: 'circuit_breaker_state',
  calls: 'circuit_breaker_calls_total',
  slowCalls: 'circuit_breaker_slow_calls_total',
  failureRate: 'circuit_breaker_failure_rate',
  slowCallRate: 'circuit_breaker_slow_call_rate',
  failureRateThreshold: 'circuit_breaker_failure_rate_threshold',
  slowCallRateThreshold: 'circuit_breaker_slow_call_rate_threshold',
  transitions: 'circuit_breaker_transitions_total',
  openings: 'circuit_breaker_openings_total',
  openDuration: 'circuit_breaker_open_duration_seconds',
  retryAfter: 'circuit_breaker_retry_after_seconds',
  wouldTrips: 'circuit_breaker_would_trips_total',
  storeFallbacks: 'circuit_breaker_store_fallbacks_total',
  storeShared: 'circuit_breaker_store_shared',
  shadowState: 'circuit_breaker_shadow_state',
  shadowWouldTrips: 'circuit_breaker_shadow_would_trips_total',
  shadowWouldReject: 'circuit_breaker_shadow_would_reject_total',
} as const;
