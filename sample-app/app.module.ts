import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerAdminModule, CircuitBreakerModule } from 'nestjs-breaker';
import type { CircuitBreakerStore, Clock } from 'nestjs-breaker';
import { CircuitBreakerDashboardModule } from 'nestjs-breaker/dashboard';
import { CircuitBreakerHealthModule } from 'nestjs-breaker/health';
import { CircuitBreakerOpenTelemetryModule } from 'nestjs-breaker/opentelemetry';
import { ApiKeyGuard } from './admin/api-key.guard.js';
import { ChaosController } from './chaos/chaos.controller.js';
import { LoopbackGuard } from './dashboard/loopback.guard.js';
import { HealthController } from './health/health.controller.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrdersController } from './orders/orders.controller.js';
import { PaymentsClient } from './payments/payments.client.js';
import { PaymentsDownstream } from './payments/payments-downstream.js';
import { ExternalPaymentsEndpoint, PaymentsEndpoint } from './payments/payments-endpoint.js';
import { PaymentHostsClient, PaymentHostsController, SECOND_PAYMENTS_HOST } from './payments/payment-hosts.js';
import { httpBreakerSettings } from 'nestjs-breaker/http';
import { SAMPLE_TELEMETRY, TelemetryShutdown } from './telemetry/opentelemetry.js';
import type { SampleTelemetry } from './telemetry/opentelemetry.js';

export interface SampleAppOptions {
  /** Port of the payments dependency the app starts; 0 picks a free one. Unused with `paymentsUrl`. */
  paymentsPort: number;
  /**
   * Base URL of a payments service the app does not start (e.g. one that several instances share).
   * Its behaviour is then switched where it runs: this app's /chaos/payments answers 409.
   */
  paymentsUrl?: string;
  /** How long the payments breaker stays open before a trial, in ms. Default 10 000. */
  paymentsOpenDurationMs?: number;
  /**
   * Shares every breaker's state through this store (`defaults.store`), e.g. a
   * `RedisCircuitBreakerStore` that every instance of the app points at. Default: none, each
   * instance keeps its own state.
   */
  store?: CircuitBreakerStore;
  /** Tests pass a ManualClock; the app itself runs on the default monotonic clock. */
  clock?: Clock;
  /** OpenTelemetry metrics set up before the app (startOpenTelemetry()): flushed and stopped when it closes. */
  telemetry?: SampleTelemetry;
  /**
   * Records every breaker's calls to this file (NDJSON) for `npx nestjs-breaker replay`
   * (RECORD_CALLS=calls.ndjson npm start). Default: no recording.
   */
  recordCallsFile?: string;
}

@Module({})
export class AppModule {
  static forRoot(options: SampleAppOptions): DynamicModule {
    const openDurationMs = options.paymentsOpenDurationMs ?? 10_000;
    const paymentsUrl = options.paymentsUrl;
    return {
      module: AppModule,
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: {
            ...(options.clock ? { clock: options.clock } : {}),
            // One store for every breaker: peers adopt an opening within a pub/sub delay.
            ...(options.store ? { store: options.store } : {}),
          },
          breakers: {
            payments: {
              slidingWindow: { type: 'count', size: 20 },
              minimumCalls: 5,
              failureRateThreshold: 50,
              timeoutMs: 1_000,
              openDurationMs,
              openDurationBackoff: { multiplier: 2, maxMs: Math.max(60_000, openDurationMs) },
              halfOpenMaxCalls: 1,
            },
          },
          // One breaker per payments host (GET /orders/:id/host-quote): a failing host opens its
          // own circuit, the other keeps answering. HTTP classification: 5xx, 429, network errors
          // and timeouts fail; a 429/503 Retry-After keeps the circuit open that long.
          families: {
            'payment-hosts': httpBreakerSettings({ minimumCalls: 3, timeoutMs: 1_000, openDurationMs, maxKeys: 10 }),
          },
          // A trace of every call (keyed ones as payment-hosts:<host>) until the app closes.
          ...(options.recordCallsFile !== undefined ? { recordCalls: { file: options.recordCallsFile } } : {}),
        }),
        TerminusModule,
        CircuitBreakerHealthModule,
        // GET /metrics: Prometheus text of the app's own registry
        MetricsModule.forRoot(),
        // OpenTelemetry metrics, when main.ts registered an SDK (OTEL_EXPORTER_OTLP_ENDPOINT or
        // OTEL_METRICS_EXPORTER=console); without one it attaches nothing to the breakers
        CircuitBreakerOpenTelemetryModule.forRoot(),
        // /admin/circuit-breakers: snapshots and manual control, behind an API key (x-api-key)
        CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers', guards: [ApiKeyGuard] }),
        // /circuit-breakers: the live dashboard, for this machine; its buttons post to the admin API
        // above, sending the key typed into the page as x-api-key
        CircuitBreakerDashboardModule.register({
          guards: [LoopbackGuard],
          credentialsHeader: 'x-api-key',
          ...(options.clock ? { clock: options.clock } : {}),
        }),
      ],
      controllers: [OrdersController, PaymentHostsController, ChaosController, HealthController],
      providers: [
        ...(paymentsUrl === undefined
          ? [
              { provide: PaymentsDownstream, useFactory: () => new PaymentsDownstream({ port: options.paymentsPort }) },
              { provide: PaymentsEndpoint, useExisting: PaymentsDownstream },
            ]
          : [{ provide: PaymentsEndpoint, useValue: new ExternalPaymentsEndpoint(paymentsUrl) }]),
        PaymentsClient,
        // The second payments host, always started here on a free port.
        { provide: SECOND_PAYMENTS_HOST, useFactory: () => new PaymentsDownstream({ port: 0 }) },
        PaymentHostsClient,
        ...(options.telemetry ? [{ provide: SAMPLE_TELEMETRY, useValue: options.telemetry }, TelemetryShutdown] : []),
      ],
    };
  }
}
