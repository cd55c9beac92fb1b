import { Inject, Injectable, Optional } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import { instrumentOpenTelemetry } from './instrument-opentelemetry.js';
import type { OpenTelemetryInstrumentation } from './instrument-opentelemetry.js';
import { CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS, validateOptions } from './opentelemetry-options.js';
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

  onModuleDestroy(): void {
    this.handle?.detach();
    this.handle = undefined;
  }
}
