import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { CircuitBreakerOpenTelemetry } from './circuit-breaker-opentelemetry.js';
import { CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS } from './opentelemetry-options.js';
import type { CircuitBreakerOpenTelemetryOptions } from './opentelemetry-options.js';

/**
 * The application's circuit breakers in OpenTelemetry: metrics on the meter `nestjs-breaker` and
 * trace signals on the spans active where breakers are called. By default through the global
 * providers the OpenTelemetry SDK registers (start the SDK before the application); without an SDK
 * it attaches nothing and calls cost what they cost without it.
 *
 * ```ts
 * @Module({ imports: [CircuitBreakerModule.forRoot(), CircuitBreakerOpenTelemetryModule.forRoot()] })
 * ```
 */
@Module({})
export class CircuitBreakerOpenTelemetryModule {
  static forRoot(options: CircuitBreakerOpenTelemetryOptions = {}): DynamicModule {
    return {
      module: CircuitBreakerOpenTelemetryModule,
      providers: [{ provide: CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS, useValue: options }, CircuitBreakerOpenTelemetry],
      exports: [CircuitBreakerOpenTelemetry],
    };
  }
}
