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
export type { Clock } from './clock.js';
export type { ShadowSnapshot } from './shadows.js';
export { ManualClock } from './manual-clock.js';
export { CircuitBreakerConfigError, CircuitBreakerTimeoutError, CircuitOpenError } from './errors.js';
export type { TimeoutOption } from './errors.js';
export type {
  CircuitBreakerOptions,
  CircuitBreakerSettings,
  CountWindowOptions,
  HealthCheckOptions,
  OpenDurationBackoffOptions,
  ResolvedOptions,
  ShadowSettings,
  SlidingWindowOptions,
  TimeWindowOptions,
} from './options.js';
// A store for tests and several apps in one process, and the types a `store` option takes. The
// seam for store authors (requests, replies, validation) is the nestjs-breaker/store subpath.
export { InMemoryCircuitBreakerStore } from './fleet/in-memory-store.js';
export type { CircuitBreakerStore, StoreLogger, StoreOptions } from './fleet/store.js';
