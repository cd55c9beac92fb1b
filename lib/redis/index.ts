export { RedisCircuitBreakerStore } from './redis-circuit-breaker.store.js';
export type { RedisStoreOptions } from './redis-circuit-breaker.store.js';
