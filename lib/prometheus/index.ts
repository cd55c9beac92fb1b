// Entry of the "nestjs-breaker/prometheus" subpath. The root entry never imports this folder:
// an application without prom-client (an optional peer) never loads it.
export { CircuitBreakerPrometheusModule } from './circuit-breaker-prometheus.module.js';
export { CircuitBreakerMetrics } from './circuit-breaker.metrics.js';
export {
  CIRCUIT_BREAKER_METRIC_NAMES,
  CIRCUIT_BREAKER_PROMETHEUS_OPTIONS,
  DEFAULT_OPEN_DURATION_BUCKETS,
} from './circuit-breaker-prometheus.options.js';
export type { CircuitBreakerPrometheusOptions } from './circuit-breaker-prometheus.options.js';
