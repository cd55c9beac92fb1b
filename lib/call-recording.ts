/**
 * The module's `recordCalls` option: records every breaker of the application (keyed ones included,
 * created later or not) from bootstrap until `app.close()`, which writes what is batched and closes
 * the file. Nothing is attached when the option is absent.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from './circuit-breaker.module-definition.js';
import { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import type { CircuitBreakerModuleOptions } from './interfaces/circuit-breaker-module-options.interface.js';
import { recordCalls } from './call-recorder.js';
import type { CallRecorder } from './call-recorder.js';

/** @internal */
@Injectable()
export class CallRecording implements OnModuleDestroy {
  /** The running recorder; undefined without the option. */
  readonly recorder: CallRecorder | undefined;

  constructor(@Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) options: CircuitBreakerModuleOptions, registry: CircuitBreakerRegistry) {
    const given = options.recordCalls;
    if (given === undefined) return;
    const logger = options.logger === false ? undefined : (options.logger ?? new Logger('CircuitBreaker'));
    const onWarning = given.onWarning ?? (logger === undefined ? undefined : (message: string) => logger.warn(message));
    this.recorder = recordCalls(registry, onWarning === undefined ? given : { ...given, onWarning });
  }

  async onModuleDestroy(): Promise<void> {
    await this.recorder?.stop();
  }
}
