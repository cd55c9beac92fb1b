import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { CircuitBreakerMetrics } from './circuit-breaker.metrics.js';
import { CIRCUIT_BREAKER_PROMETHEUS_OPTIONS } from './circuit-breaker-prometheus.options.js';
import type { CircuitBreakerPrometheusOptions } from './circuit-breaker-prometheus.options.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { refuseUnknownOptions } from '../unknown-options.js';

const OPTION_KEYS: readonly (keyof CircuitBreakerPrometheusOptions)[] = ['registry', 'prefix', 'openDurationBuckets', 'topKeys'];

/**
 * Registers the circuit breaker metrics of this application on a prom-client registry. It reads
 * the breakers of the application's `CircuitBreakerModule` (global by default) at scrape time.
 * It serves no HTTP route: expose `registry.metrics()` from your own controller (or let
 * `@willsoto/nestjs-prometheus` serve the same registry).
 *
 * ```ts
 * const registry = new Registry();
 * @Module({ imports: [CircuitBreakerModule.forRoot(), CircuitBreakerPrometheusModule.forRoot({ registry })] })
 * ```
 */
@Module({})
export class CircuitBreakerPrometheusModule {
  static forRoot(options: CircuitBreakerPrometheusOptions = {}): DynamicModule {
    // Unknown keys fail here, at forRoot(), rather than being ignored (the values are checked when the metrics are made).
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw CircuitBreakerConfigError.forComponent('CircuitBreakerPrometheusModule', 'options', options, 'an object');
    refuseUnknownOptions('CircuitBreakerPrometheusModule', options, OPTION_KEYS);
    return {
      module: CircuitBreakerPrometheusModule,
      providers: [{ provide: CIRCUIT_BREAKER_PROMETHEUS_OPTIONS, useValue: options }, CircuitBreakerMetrics],
      exports: [CircuitBreakerMetrics],
    };
  }
}
