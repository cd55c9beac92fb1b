import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { CircuitBreakerPrometheusModule } from 'nestjs-breaker/prometheus';
import { Registry } from 'prom-client';
import { MetricsController } from './metrics.controller.js';

/**
 * GET /metrics for Prometheus. The app owns a dedicated prom-client Registry (not the global one),
 * so two instances of the app in one process (as in the tests) never share metrics. Add your own
 * metrics, or `collectDefaultMetrics({ register: registry })`, to the same registry.
 */
@Module({})
export class MetricsModule {
  static forRoot(): DynamicModule {
    const registry = new Registry();
    return {
      module: MetricsModule,
      imports: [CircuitBreakerPrometheusModule.forRoot({ registry })],
      controllers: [MetricsController],
      providers: [{ provide: Registry, useValue: registry }],
    };
  }
}
