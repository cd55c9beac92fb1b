export { CircuitBreaker } from './circuit-breaker.js';
export type {
  CallEvent,
  CallEventKind,
  CallListener,
  CircuitBreakerSnapshot,
  CircuitBreakerTotals,
  CircuitState,
  StateChangeEvent,
  StateChangeListener,
  TransitionReason,
} from './circuit-breaker.js';
export { monotonicClock } from './clock.js';
export type { Clock } from './clock.js';
export { ManualClock } from './manual-clock.js';
export { CircuitBreakerConfigError, CircuitBreakerTimeoutError, CircuitOpenError } from './errors.js';
export { DEFAULTS, resolveOptions } from './options.js';
export type {
  CircuitBreakerOptions,
  CircuitBreakerSettings,
  CountWindowOptions,
  HealthCheckOptions,
  OpenDurationBackoffOptions,
  ResolvedOptions,
  SlidingWindowOptions,
  TimeWindowOptions,
} from './options.js';
export { InMemoryCircuitBreakerStore } from './fleet/in-memory-store.js';
export { STORE_DEFAULTS, isSharedState, resolveStoreOptions } from './fleet/store.js';
export type {
  CircuitBreakerStore,
  FleetWindowSpec,
  SharedCircuitState,
  SharedState,
  StoreLogger,
  StoreOptions,
  SyncReply,
  SyncRequest,
  TransitionRequest,
  TrialReply,
  TrialRequest,
  WindowCounts,
} from './fleet/store.js';
