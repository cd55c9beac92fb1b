// Entry of the "nestjs-breaker/opentelemetry" subpath. The root entry never imports this folder:
// an application without @opentelemetry/api (an optional peer) never loads it.
export { CircuitBreakerOpenTelemetryModule } from './circuit-breaker-opentelemetry.module.js';
export { CircuitBreakerOpenTelemetry } from './circuit-breaker-opentelemetry.js';
export { instrumentOpenTelemetry } from './instrument-opentelemetry.js';
export type { OpenTelemetryInstrumentation } from './instrument-opentelemetry.js';
export { CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS } from './opentelemetry-options.js';
export type { CircuitBreakerOpenTelemetryOptions } from './opentelemetry-options.js';
export { CALL_DURATION_BUCKETS, CIRCUIT_BREAKER_ATTRIBUTES, CIRCUIT_BREAKER_INSTRUMENTS, CIRCUIT_BREAKER_SPAN_EVENTS, METER_NAME } from './opentelemetry-names.js';
