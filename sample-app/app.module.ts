import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerAdminModule, CircuitBreakerInterceptor, CircuitBreakerModule } from 'nestjs-circuit-breaker';
import type { Clock } from 'nestjs-circuit-breaker';
import { CircuitBreakerHealthModule } from 'nestjs-circuit-breaker/health';
import { ApiKeyGuard } from './admin/api-key.guard.js';
import { ChaosController } from './chaos/chaos.controller.js';
import { HealthController } from './health/health.controller.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrdersController } from './orders/orders.controller.js';
import { PaymentsClient } from './payments/payments.client.js';
import { PaymentsDownstream } from './payments/payments-downstream.js';

export interface SampleAppOptions {
  /** Port of the payments dependency; 0 picks a free one. */
  paymentsPort: number;
  /** Tests pass a ManualClock; the app itself runs on the default monotonic clock. */
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot(options: SampleAppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { ...(options.clock ? { clock: options.clock } : {}) },
          breakers: {
            payments: {
              slidingWindow: { type: 'count', size: 20 },
              minimumCalls: 5,
              failureRateThreshold: 50,
              timeoutMs: 1_000,
              openDurationMs: 10_000,
              openDurationBackoff: { multiplier: 2, maxMs: 60_000 },
              halfOpenMaxCalls: 1,
            },
          },
        }),
        TerminusModule,
        CircuitBreakerHealthModule,
        // GET /metrics: Prometheus text of the app's own registry
        MetricsModule.forRoot(),
        // /admin/circuit-breakers: snapshots and manual control, behind an API key (x-api-key)
        CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers', guards: [ApiKeyGuard] }),
      ],
      controllers: [OrdersController, ChaosController, HealthController],
      providers: [
        { provide: PaymentsDownstream, useFactory: () => new PaymentsDownstream({ port: options.paymentsPort }) },
        PaymentsClient,
        // Maps CircuitOpenError / timeouts from decorated providers under undecorated routes too.
        { provide: APP_INTERCEPTOR, useClass: CircuitBreakerInterceptor },
      ],
    };
  }
}
