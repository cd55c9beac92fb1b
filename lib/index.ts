/**
 * `nestjs-breaker`: what a user of the module or of the engine needs, and nothing else. The list is
 * documented in docs/api.md; test/docs/root-exports-are-documented.spec.ts and
 * scripts/check-package.mjs fail when this entry exports a name that page does not list.
 */
export * from './core/index.js';
export { CircuitBreakerModule } from './circuit-breaker.module.js';
export type { CircuitBreakerFeatureOptions } from './circuit-breaker.module.js';
export { CircuitBreakerRegistry, defaultIsFailure } from './circuit-breaker.registry.js';
export type { FleetInstance, FleetScope, FleetView } from './circuit-breaker.registry.js';
export type { FleetOptions, FleetOptionsChange } from './core/fleet/fleet-options.js';
export { CircuitBreakerExceptionFilter } from './circuit-breaker-exception.filter.js';
export { getCircuitBreakerToken } from './circuit-breaker.constants.js';
export { InjectCircuitBreaker, UseCircuitBreaker } from './decorators/index.js';
export { circuitBreakerSignal } from './call-context.js';
export type {
  CircuitBreakerErrorFactory,
  CircuitBreakerModuleOptions,
  UseCircuitBreakerOptions,
} from './interfaces/circuit-breaker-module-options.interface.js';
export { CircuitBreakerAdminModule } from './admin/circuit-breaker-admin.module.js';
export type { CircuitBreakerAdminOptions } from './admin/circuit-breaker-admin.module.js';
export { CircuitBreakerAdminController } from './admin/circuit-breaker-admin.controller.js';
export type { CircuitBreakerAdminError, CircuitBreakerAdminFamily } from './admin/circuit-breaker-admin.controller.js';
export { CircuitBreakerFamily } from './family/circuit-breaker-family.js';
export type { BreakerRetiredEvent, CircuitBreakerFamilySummary, RetireReason } from './family/circuit-breaker-family.js';
export { CircuitBreakerKeyError } from './family/family-options.js';
export type {
  CircuitBreakerFamilyLimits,
  CircuitBreakerFamilyOptions,
  CircuitBreakerFamilySettings,
} from './family/family-options.js';
