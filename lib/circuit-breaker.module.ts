import { Module } from '@nestjs/common';
import type { DynamicModule, FactoryProvider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { CircuitBreakerSettings } from './core/options.js';
import { INJECTED_BY, getCircuitBreakerToken } from './circuit-breaker.constants.js';
import { CircuitBreakerExplorer } from './circuit-breaker.explorer.js';
import { CircuitBreakerExceptionFilter } from './circuit-breaker-exception.filter.js';
import { ASYNC_OPTIONS_TYPE, CIRCUIT_BREAKER_MODULE_OPTIONS, ConfigurableModuleClass, OPTIONS_TYPE } from './circuit-breaker.module-definition.js';
import { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import { injectedCircuitBreakerNames } from './decorators/inject-circuit-breaker.decorator.js';
import { ExceptionFilterInstaller } from './exception-filter-installer.js';

let featureCount = 0;

/**
 * Registers circuit breakers with the application.
 *
 * ```ts
 * CircuitBreakerModule.forRoot({ defaults: { failureRateThreshold: 50 }, breakers: { payments: { timeoutMs: 2_000 } } })
 * ```
 * The module is global by default (`isGlobal: false` to opt out); `forFeature` needs it global.
 */
@Module({})
export class CircuitBreakerModule extends ConfigurableModuleClass {
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    const { isGlobal: _isGlobal, ...moduleOptions } = options;
    return withInternals(super.forRoot(options), Object.keys(moduleOptions.breakers ?? {}));
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withInternals(super.forRootAsync(options), []);
  }

  /** Breakers declared by a feature module; `@InjectCircuitBreaker(name)` works for them there. */
  static forFeature(breakers: Record<string, CircuitBreakerSettings>): DynamicModule {
    const registration = `nestjs-breaker:feature:${++featureCount}`;
    const names = Object.keys(breakers ?? {});
    return {
      module: CircuitBreakerModule,
      providers: [
        {
          provide: registration,
          useFactory: (registry: CircuitBreakerRegistry) => {
            for (const name of names) registry.declare(name, breakers[name]!, 'CircuitBreakerModule.forFeature');
            return names;
          },
          inject: [CircuitBreakerRegistry],
        },
        ...names.map((name) => breakerProvider(name, [registration])),
      ],
      exports: names.map(getCircuitBreakerToken),
    };
  }
}

function breakerProvider(name: string, after: string[] = []): FactoryProvider {
  return {
    provide: getCircuitBreakerToken(name),
    useFactory: (registry: CircuitBreakerRegistry) => registry.get(name, INJECTED_BY),
    inject: [CircuitBreakerRegistry, ...after],
  };
}

function withInternals(base: DynamicModule, declaredNames: string[]): DynamicModule {
  // Providers for every name @InjectCircuitBreaker has seen: with forRootAsync the declared names
  // are unknown until the factory runs. Names this app does not inject are dropped at bootstrap.
  const names = [...new Set([...declaredNames, ...injectedCircuitBreakerNames()])];
  const tokens = names.map(getCircuitBreakerToken);
  return {
    ...base,
    imports: [...(base.imports ?? []), DiscoveryModule],
    providers: [
      ...(base.providers ?? []),
      CircuitBreakerRegistry,
      CircuitBreakerExplorer,
      // Transport errors: the filter, and where Nest looks for it.
      CircuitBreakerExceptionFilter,
      ExceptionFilterInstaller,
      ...names.map((n) => breakerProvider(n)),
    ],
    exports: [...(base.exports ?? []), CIRCUIT_BREAKER_MODULE_OPTIONS, CircuitBreakerRegistry, CircuitBreakerExceptionFilter, ...tokens],
  };
}
