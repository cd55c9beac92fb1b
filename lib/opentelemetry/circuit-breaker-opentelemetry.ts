import { Inject, Injectable, Optional } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import { instrumentOpenTelemetry } from './instrument-opentelemetry.js';
import type { OpenTelemetryInstrumentation } from './instrument-opentelemetry.js';
import { CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS, validateOptions } from './opentelemetry-options.js';
import { flushMetrics } from './opentelemetry-providers.js';
import type { CircuitBreakerOpenTelemetryOptions } from './opentelemetry-options.js';

export const MISSING_REGISTRY_MESSAGE =
  'CircuitBreakerOpenTelemetryModule needs the CircuitBreakerRegistry of CircuitBreakerModule, which this application does not provide. ' +
  'Import CircuitBreakerModule.forRoot() (or forRootAsync()) in your application module, leaving isGlobal at its default (true).';

/**
 * Instruments the application's breakers with OpenTelemetry when the application starts
 * (`onModuleInit`) and detaches when it closes. Provided by `CircuitBreakerOpenTelemetryModule`.
 */
@Injectable()
export class CircuitBreakerOpenTelemetry implements OnModuleInit, OnModuleDestroy {
  private readonly options: CircuitBreakerOpenTelemetryOptions;
  private readonly registry: CircuitBreakerRegistry;
  private handle: OpenTelemetryInstrumentation | undefined;

  constructor(
    @Inject(CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS) options: CircuitBreakerOpenTelemetryOptions | undefined,
    @Optional() @Inject(CircuitBreakerRegistry) registry: CircuitBreakerRegistry | undefined,
  ) {
    if (registry === undefined || registry === null) throw new Error(MISSING_REGISTRY_MESSAGE);
    this.registry = registry;
    this.options = validateOptions(options, 'CircuitBreakerOpenTelemetryModule.forRoot');
  }

  /** What the instrumentation does (`metrics`, `traces`); undefined before init and after close. */
  get instrumentation(): OpenTelemetryInstrumentation | undefined {
    return this.handle;
  }

  onModuleInit(): void {
    this.handle = instrumentOpenTelemetry(this.registry, this.options);
  }

  /**
   * Exports the breakers' last values (the meter provider's forceFlush, when it has one: the SDK's
   * does), then detaches: a final collection after that, such as the SDK's own at its shutdown,
   * would no longer read these breakers.
   */
  async onModuleDestroy(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) return;
    if (handle.metrics) await flushMetrics(this.options.meterProvider);
    handle.detach();
  }
}
