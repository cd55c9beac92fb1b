export * from './core/index.js';
export { CircuitBreakerModule } from './circuit-breaker.module.js';
export { CIRCUIT_BREAKER_MODULE_OPTIONS } from './circuit-breaker.module-definition.js';
export { CircuitBreakerRegistry, defaultIsFailure } from './circuit-breaker.registry.js';
export { CircuitBreakerExceptionFilter } from './circuit-breaker-exception.filter.js';
export { getCircuitBreakerToken, USE_CIRCUIT_BREAKER_METADATA } from './circuit-breaker.constants.js';
export * from './decorators/index.js';
export { circuitBreakerSignal } from './call-context.js';
export type {
  CircuitBreakerErrorFactory,
  CircuitBreakerModuleOptions,
  UseCircuitBreakerOptions,
} from './interfaces/circuit-breaker-module-options.interface.js';
export { CircuitBreakerAdminModule, CIRCUIT_BREAKER_ADMIN_OPTIONS } from './admin/circuit-breaker-admin.module.js';
export type { CircuitBreakerAdminOptions } from './admin/circuit-breaker-admin.module.js';
export { CircuitBreakerAdminController, RECONFIGURABLE_OVER_HTTP } from './admin/circuit-breaker-admin.controller.js';
export type { CircuitBreakerAdminError, CircuitBreakerAdminFamily } from './admin/circuit-breaker-admin.controller.js';
export { CircuitBreakerFamily } from './family/circuit-breaker-family.js';
export type { BreakerRetiredEvent, CircuitBreakerFamilySummary, RetireReason } from './family/circuit-breaker-family.js';
export { CircuitBreakerKeyError, FAMILY_DEFAULTS } from './family/family-options.js';
export type {
  CircuitBreakerFamilyLimits,
  CircuitBreakerFamilyOptions,
  CircuitBreakerFamilySettings,
} from './family/family-options.js';
