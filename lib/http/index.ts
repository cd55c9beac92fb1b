// Entry of the "nestjs-breaker/http" subpath: breakers for outgoing HTTP calls, one per host.
// The root entry never imports this folder; @nestjs/axios and axios (optional peers) are loaded
// only when CircuitBreakerHttpModule starts, so breakerFetch needs neither.
export { breakerFetch, hostKey } from './breaker-fetch.js';
export type { BreakerFetch, BreakerFetchOptions } from './breaker-fetch.js';
export { CIRCUIT_BREAKER_HTTP_OPTIONS, CircuitBreakerHttpModule } from './circuit-breaker-http.module.js';
export type { CircuitBreakerHttpOptions } from './circuit-breaker-http.module.js';
export { DEFAULT_MAX_RETRY_AFTER_MS, httpBreakerSettings, httpRetryAfterMs, isCancellation, isFailureStatus, isHttpFailure, isHttpResultFailure, statusOf } from './http-failures.js';
export type { HttpPresetOptions } from './http-failures.js';
