/**
 * `nestjs-breaker/store`: the seam for store authors. A store shares breaker state across a
 * fleet; it implements {@link CircuitBreakerStore} (a few atomic primitives), and every answer it
 * gives passes {@link isSharedState}. The coordination around it (when to sync, what to adopt,
 * falling back to local state) is the engine's. {@link InMemoryCircuitBreakerStore} is the
 * reference implementation; `RedisCircuitBreakerStore` (`nestjs-breaker/redis`) the fleet one.
 */
export { InMemoryCircuitBreakerStore } from '../core/fleet/in-memory-store.js';
export { STORE_DEFAULTS, isSharedState, resolveStoreOptions } from '../core/fleet/store.js';
export type {
  CircuitBreakerStore,
  FleetBreakerView,
  FleetOptions,
  FleetOptionsWrite,
  FleetWindowSpec,
  InstanceHeartbeat,
  LiveInstance,
  LocalSharedState,
  OpeningFacts,
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
} from '../core/fleet/store.js';
