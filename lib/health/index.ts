// Entry of the "nestjs-breaker/health" subpath. The root entry never imports this folder:
// an application without @nestjs/terminus (an optional peer) never loads it.
export { CircuitBreakerHealthIndicator } from './circuit-breaker-health.indicator.js';
export type { CircuitBreakerFamilyHealthDetails, CircuitBreakerHealthDetails, CircuitBreakerHealthOptions } from './circuit-breaker-health.indicator.js';
export { CircuitBreakerHealthModule } from './circuit-breaker-health.module.js';
