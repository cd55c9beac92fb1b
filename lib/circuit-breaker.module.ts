import { Module } from '@nestjs/common';
import type { DynamicModule, FactoryProvider, Provider } from '@nestjs/common';
import { DiscoveryModule, ModulesContainer } from '@nestjs/core';
import { CircuitBreakerConfigError } from './core/errors.js';
import type { CircuitBreakerSettings } from './core/options.js';
import type { CircuitBreakerFamilySettings } from './family/family-options.js';
import type { CircuitBreakerModuleOptions } from './interfaces/circuit-breaker-module-options.interface.js';
import { CIRCUIT_BREAKER_ROOT_REGISTRATION, INJECTED_BY, getCircuitBreakerToken } from './circuit-breaker.constants.js';
import { CircuitBreakerExplorer } from './circuit-breaker.explorer.js';
import { CircuitBreakerModuleMissingError } from './circuit-breaker-module-missing.error.js';
import { CircuitBreakerExceptionFilter } from './circuit-breaker-exception.filter.js';
import { ASYNC_OPTIONS_TYPE, CIRCUIT_BREAKER_MODULE_OPTIONS, ConfigurableModuleClass, OPTIONS_TYPE } from './circuit-breaker.module-definition.js';
import { CircuitBreakerRegistry, checkModuleOptionsObject } from './circuit-breaker.registry.js';
import { CallRecording } from './call-recording.js';
import { injectedCircuitBreakerNames } from './decorators/inject-circuit-breaker.decorator.js';
import { ExceptionFilterInstaller } from './exception-filter-installer.js';
import { importersOf } from './nest-internals.js';
import { isPattern } from './breaker-patterns.js';

let featureCount = 0;

/** Where forRootAsync takes the module options from. */
const ASYNC_SOURCES = ['useFactory', 'useClass', 'useExisting'];

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
    // Before the destructuring below, which would throw a bare TypeError for null.
    checkModuleOptionsObject(options);
    const { isGlobal: _isGlobal, ...moduleOptions } = options;
    const named = Object.keys(moduleOptions.breakers ?? {}).filter((name) => !isPattern(name));
    return withInternals(super.forRoot(options), named, 'CircuitBreakerModule.forRoot');
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    // Nest's builder would throw a bare TypeError for null, and fail at bootstrap for {}.
    const given: unknown = options;
    if (given === null || typeof given !== 'object' || Array.isArray(given) || !ASYNC_SOURCES.some((source) => (given as Record<string, unknown>)[source] != null)) {
      throw new CircuitBreakerConfigError('(module)', 'CircuitBreakerModule.forRootAsync options', given, `an object with one of ${ASYNC_SOURCES.join(', ')}`);
    }
    const factory = (given as Record<string, unknown>)['useFactory'];
    if (factory != null && typeof factory !== 'function') {
      throw new CircuitBreakerConfigError('(module)', 'CircuitBreakerModule.forRootAsync useFactory', factory, 'a function returning the module options (or a promise of them)');
    }
    return withInternals(super.forRootAsync(options), [], 'CircuitBreakerModule.forRootAsync');
  }

  /**
   * Breakers and families declared by a feature module, the way `forRoot` declares them:
   * `forFeature({ breakers: { inventory: {...} }, families: { shards: {...} } })`, or, for breakers
   * only, `forFeature({ inventory: {...} })`. An object whose only keys are `breakers` and
   * `families` is read as the first form. `@InjectCircuitBreaker(name)` works for the feature's
   * named breakers there; `@UseCircuitBreaker('shards', { key })` anywhere in the app uses its families.
   */
  static forFeature(registration: CircuitBreakerFeatureOptions): DynamicModule;
  static forFeature(breakers: Record<string, CircuitBreakerSettings>): DynamicModule;
  static forFeature(given: CircuitBreakerFeatureOptions | Record<string, CircuitBreakerSettings>): DynamicModule {
    const registration = `nestjs-breaker:feature:${++featureCount}`;
    const { breakers, families } = featureRegistration(given);
    const names = Object.keys(breakers);
    const familyNames = Object.keys(families);
    const listed = [...names, ...familyNames.map((name) => `families: ${name}`)];
    const call = `CircuitBreakerModule.forFeature({ ${listed.join(', ')} })`;
    return {
      module: CircuitBreakerModule,
      providers: [
        {
          provide: registration,
          // Optional so that a missing forRoot is our error naming the feature module, not Nest's
          // "can't resolve dependencies of nestjs-breaker:feature:N".
          useFactory: (registry: CircuitBreakerRegistry | undefined, modules: ModulesContainer) => {
            const importers = importersOf(modules.values(), registration);
            if (registry === undefined) throw new CircuitBreakerModuleMissingError(call, importers);
            const source = `${call}${importers.length > 0 ? ` in ${importers.join(', ')}` : ''}`;
            for (const name of names) registry.declare(name, breakers[name]!, source);
            for (const name of familyNames) registry.declareFamily(name, families[name]!, source);
            return names;
          },
          inject: [{ token: CircuitBreakerRegistry, optional: true }, ModulesContainer],
        },
        // A pattern names no one breaker: nothing to inject for it. Each waits for the registration,
        // which raises the error when the registry is missing.
        ...names
          .filter((name) => !isPattern(name))
          .map((name): FactoryProvider => ({
            provide: getCircuitBreakerToken(name),
            useFactory: (registry: CircuitBreakerRegistry | undefined) => registry!.get(name, INJECTED_BY),
            inject: [{ token: CircuitBreakerRegistry, optional: true }, registration],
          })),
      ],
      exports: names.filter((name) => !isPattern(name)).map(getCircuitBreakerToken),
    };
  }
}

/** What `forFeature` declares, like `forRoot`'s `breakers` and `families`. */
export type CircuitBreakerFeatureOptions = Pick<CircuitBreakerModuleOptions, 'breakers' | 'families'>;

const FEATURE_KEYS = ['breakers', 'families'];

/** Reads either form of `forFeature`'s argument (see {@link CircuitBreakerModule.forFeature}). */
function featureRegistration(given: unknown): { breakers: Record<string, CircuitBreakerSettings>; families: Record<string, CircuitBreakerFamilySettings> } {
  // undefined: nothing declared, like forRoot's default; null is a mistake, refused like forRoot(null).
  if (given === undefined) return { breakers: {}, families: {} };
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new CircuitBreakerConfigError('(module)', 'CircuitBreakerModule.forFeature', given, 'an object { breakers?, families? } or an object mapping breaker names to options');
  }
  const keys = Object.keys(given);
  if (keys.length === 0 || !keys.every((key) => FEATURE_KEYS.includes(key))) return { breakers: given as Record<string, CircuitBreakerSettings>, families: {} };
  const { breakers, families } = given as CircuitBreakerFeatureOptions;
  for (const [key, value] of [['breakers', breakers], ['families', families]] as const) {
    if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new CircuitBreakerConfigError('(module)', `CircuitBreakerModule.forFeature ${key}`, value, `an object mapping ${key === 'breakers' ? 'breaker' : 'family'} names to options`);
    }
  }
  return { breakers: breakers ?? {}, families: families ?? {} };
}

function breakerProvider(name: string, after: string[] = []): FactoryProvider {
  return {
    provide: getCircuitBreakerToken(name),
    useFactory: (registry: CircuitBreakerRegistry) => registry.get(name, INJECTED_BY),
    inject: [CircuitBreakerRegistry],
  };
}

function withInternals(base: DynamicModule, declaredNames: string[], registration: string): DynamicModule {
  const internals: Provider[] = [
    { provide: CIRCUIT_BREAKER_ROOT_REGISTRATION, useValue: registration },
    CircuitBreakerRegistry,
    CallRecording,
    CircuitBreakerExplorer,
    // Transport errors: the filter, and where Nest looks for it.
    CircuitBreakerExceptionFilter,
    ExceptionFilterInstaller,
  ];
  const exported: DynamicModule['exports'] = [CIRCUIT_BREAKER_MODULE_OPTIONS, CircuitBreakerRegistry, CircuitBreakerExceptionFilter];
  // A provider for every name @InjectCircuitBreaker has seen (with forRootAsync the declared names
  // are unknown until the factory runs), listed when Nest reads the module: by then every module
  // file is loaded, whichever order they were imported in. Names this app does not inject are
  // dropped at bootstrap.
  let listed: { providers: Provider[]; exports: NonNullable<DynamicModule['exports']> } | undefined;
  const list = (): NonNullable<typeof listed> => {
    if (listed === undefined) {
      const names = [...new Set([...declaredNames, ...injectedCircuitBreakerNames()])];
      listed = {
        providers: [...(base.providers ?? []), ...internals, ...names.map((n) => breakerProvider(n))],
        exports: [...(base.exports ?? []), ...exported, ...names.map(getCircuitBreakerToken)],
      };
    }
    return listed;
  };
  const module: DynamicModule = { ...base, imports: [...(base.imports ?? []), DiscoveryModule] };
  Object.defineProperty(module, 'providers', { enumerable: true, get: () => list().providers });
  Object.defineProperty(module, 'exports', { enumerable: true, get: () => list().exports });
  return module;
}
