/**
 * Every name this integration gives to OpenTelemetry: the meter, its instruments, the attributes
 * and the span events. Attributes follow OpenTelemetry's naming rules (lowercase, dot-separated
 * namespaces, snake_case words; a name is never also a namespace, hence `circuitbreaker.transition.from`
 * rather than `circuitbreaker.state.from` beside the attribute `circuitbreaker.state`).
 */

/** The meter's name (its version is the package's). */
export const METER_NAME = 'nestjs-breaker';

/** The instruments, by key. */
export const CIRCUIT_BREAKER_INSTRUMENTS = {
  calls: 'circuitbreaker.calls',
  callDuration: 'circuitbreaker.call.duration',
  state: 'circuitbreaker.state',
  transitions: 'circuitbreaker.transitions',
  failureRate: 'circuitbreaker.failure_rate',
  slowCallRate: 'circuitbreaker.slow_call_rate',
  storeShared: 'circuitbreaker.store.shared',
  storeFallbacks: 'circuitbreaker.store.fallbacks',
} as const;

/** The attributes, on metrics and spans. */
export const CIRCUIT_BREAKER_ATTRIBUTES = {
  /** The breaker's name: on every data point, span and span event. */
  name: 'circuitbreaker.name',
  /**
   * A keyed breaker's key, beside `circuitbreaker.name` = its family: the key for a key whose
   * circuit is not closed or among the `topKeys` busiest, `_overflow`, or `_other` for the rest
   * (metrics); on spans and span events, always the key itself.
   */
  key: 'circuitbreaker.key',
  /** A state: `closed`, `open`, `half_open`, `forced_open`, `disabled`, `metrics_only`. */
  state: 'circuitbreaker.state',
  /** How a call ended: `success`, `failure`, `ignored`, `not_permitted`, `timeout`. */
  outcome: 'circuitbreaker.outcome',
  transitionFrom: 'circuitbreaker.transition.from',
  transitionTo: 'circuitbreaker.transition.to',
  /** Why the transition happened (`failure_rate`, `open_duration_elapsed`, `trials_succeeded`, ...). */
  transitionReason: 'circuitbreaker.transition.reason',
  /** On `circuitbreaker.rejected`: ms until the circuit admits a call again (absent for forced_open). */
  retryAfterMs: 'circuitbreaker.retry_after_ms',
  /** On `circuitbreaker.timeout`: the timeout the call ran under. */
  timeoutMs: 'circuitbreaker.timeout_ms',
} as const;

/** The span events added to the span active when a breaker is called. */
export const CIRCUIT_BREAKER_SPAN_EVENTS = {
  rejected: 'circuitbreaker.rejected',
  timeout: 'circuitbreaker.timeout',
  transition: 'circuitbreaker.transition',
} as const;

/**
 * Bucket boundaries of `circuitbreaker.call.duration`, in seconds: OpenTelemetry's HTTP duration
 * boundaries (the SDK's default ones are meant for milliseconds).
 */
export const CALL_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
