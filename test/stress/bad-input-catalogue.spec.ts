/**
 * THE catalogue of bad input (one table): every invalid option and every misuse of the decorators,
 * each with the exact error it must raise — its class, and `breakerName` / `option` / `value` for a
 * CircuitBreakerConfigError, or a message substring. Where the error surfaces is part of the row:
 *   - core: `new CircuitBreaker(...)` or `reconfigure(...)` throws at once;
 *   - decorator: decorating the class throws (class definition time, before any app exists);
 *   - nest: bootstrap fails — `Test.createTestingModule(...).compile()` or `app.init()` rejects —
 *     and never later (no request is made; a row whose app bootstraps fails the test).
 * Some rows repeat checks made elsewhere on purpose: this file is the single list.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { CircuitBreakerModuleOptions, CircuitBreakerOptions, CircuitBreakerSettings, UseCircuitBreakerOptions } from '../../lib/index.js';

const MAX_TIMER_MS = 2_147_483_647;
const clock = new ManualClock();

type Where = 'constructor' | 'reconfigure' | 'decoration' | 'compile' | 'init';

interface Expected {
  readonly type: typeof CircuitBreakerConfigError | typeof TypeError;
  readonly breakerName?: string;
  readonly option?: string;
  /** Compared with toEqual (NaN equals NaN). */
  readonly value?: unknown;
  readonly says?: readonly string[];
}

type Row = readonly [label: string, act: () => Promise<{ error: unknown; where: Where }>, expected: Expected, where: readonly Where[]];

// ---------------------------------------------------------------------------------- how rows act

function core(options: Record<string, unknown>): () => Promise<{ error: unknown; where: Where }> {
  return async () => {
    try {
      new CircuitBreaker({ name: 'catalogue', clock, ...options } as unknown as CircuitBreakerOptions);
    } catch (error) {
      return { error, where: 'constructor' };
    }
    throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
  };
}

function reconfigure(settings: Record<string, unknown>): () => Promise<{ error: unknown; where: Where }> {
  return async () => {
    const breaker = new CircuitBreaker({ name: 'catalogue', clock, slidingWindow: { type: 'count', size: 10 } });
    const before = breaker.options;
    try {
      breaker.reconfigure(settings as CircuitBreakerSettings);
    } catch (error) {
      expect(breaker.options).toBe(before); // an invalid value changes nothing
      return { error, where: 'reconfigure' };
    }
    throw new Error(`expected reconfigure(${JSON.stringify(settings)}) to be rejected`);
  };
}

function decorate(define: () => unknown): () => Promise<{ error: unknown; where: Where }> {
  return async () => {
    try {
      define();
    } catch (error) {
      return { error, where: 'decoration' };
    }
    throw new Error('expected decorating the class to throw');
  };
}

const apps: INestApplication[] = [];

function nest(metadata: () => ModuleMetadata): () => Promise<{ error: unknown; where: Where }> {
  return async () => {
    let where: Where = 'compile';
    try {
      const moduleRef = await Test.createTestingModule(metadata()).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      apps.push(app);
      where = 'init';
      await app.init();
    } catch (error) {
      return { error, where };
    }
    throw new Error('expected bootstrap (compile or app.init) to fail, but the app started');
  };
}

const forRoot = (options: Record<string, unknown>): ModuleMetadata => ({
  imports: [CircuitBreakerModule.forRoot({ logger: false, ...options } as CircuitBreakerModuleOptions)],
});

function featureModule(settings: Record<string, unknown>, name = 'inventory'): new () => object {
  @Module({ imports: [CircuitBreakerModule.forFeature({ [name]: settings as CircuitBreakerSettings })] })
  class FeatureModule {}
  return FeatureModule;
}

// ---------------------------------------------------------------------------------- Nest fixtures

@Injectable()
class TypoFallbackClient {
  @UseCircuitBreaker('quotes', { fallback: 'fromCahce' })
  async quote(): Promise<number> {
    return 1;
  }

  fromCache(): number {
    return 0;
  }
}

@Injectable()
class UndeclaredNameClient {
  @UseCircuitBreaker('undeclared-in-strict')
  async call(): Promise<string> {
    return 'x';
  }
}

@Injectable()
class UndeclaredInjection {
  constructor(@InjectCircuitBreaker('injected-undeclared') readonly breaker: CircuitBreaker) {}
}

const config = (breakerName: string, option: string, value: unknown, ...says: string[]): Expected => ({ type: CircuitBreakerConfigError, breakerName, option, value, says });
const typeError = (...says: string[]): Expected => ({ type: TypeError, says });
const BOOT: readonly Where[] = ['compile', 'init'];

// ---------------------------------------------------------------------------------- the catalogue

const NOT_A_STORE = { get: (): number => 1 };

const ROWS: readonly Row[] = [
  // --- core options: wrong types
  ['name not a string', core({ name: 42 }), config('(unnamed)', 'name', 42, 'non-empty string'), ['constructor']],
  ['name empty', core({ name: '' }), config('(unnamed)', 'name', ''), ['constructor']],
  ['failureRateThreshold a string', core({ failureRateThreshold: '50' }), config('catalogue', 'failureRateThreshold', '50', '"50"'), ['constructor']],
  ['minimumCalls a boolean', core({ minimumCalls: true }), config('catalogue', 'minimumCalls', true), ['constructor']],
  ['openDurationMs null', core({ openDurationMs: null }), config('catalogue', 'openDurationMs', null), ['constructor']],
  ['slidingWindow a string', core({ slidingWindow: 'count' }), config('catalogue', 'slidingWindow', 'count'), ['constructor']],
  ['slidingWindow.type unknown', core({ slidingWindow: { type: 'sliding', size: 5 } }), config('catalogue', 'slidingWindow.type', 'sliding'), ['constructor']],
  ['isFailure not a function', core({ isFailure: 'yes' }), config('catalogue', 'isFailure', 'yes', 'a function'), ['constructor']],
  ['isResultFailure not a function', core({ isResultFailure: 500 }), config('catalogue', 'isResultFailure', 500), ['constructor']],
  ['healthCheck.check not a function', core({ healthCheck: { check: true, intervalMs: 100 } }), config('catalogue', 'healthCheck.check', true), ['constructor']],
  ['openDurationBackoff not an object', core({ openDurationBackoff: 2 }), config('catalogue', 'openDurationBackoff', 2), ['constructor']],
  ['clock without now()', core({ clock: { setTimeout: () => 0, clearTimeout: () => undefined } }), { type: CircuitBreakerConfigError, breakerName: 'catalogue', option: 'clock' }, ['constructor']],
  ['store a URL string instead of a store', core({ store: 'redis://127.0.0.1:6379' }), config('catalogue', 'store', 'redis://127.0.0.1:6379', 'got no object'), ['constructor']],
  ['store an object without the store methods', core({ store: NOT_A_STORE }), config('catalogue', 'store', NOT_A_STORE, 'no sync() method'), ['constructor']],
  // --- NaN / Infinity
  ['timeoutMs NaN', core({ timeoutMs: Number.NaN }), config('catalogue', 'timeoutMs', Number.NaN, 'NaN'), ['constructor']],
  ['failureRateThreshold NaN', core({ failureRateThreshold: Number.NaN }), config('catalogue', 'failureRateThreshold', Number.NaN), ['constructor']],
  ['openDurationMs Infinity', core({ openDurationMs: Number.POSITIVE_INFINITY }), config('catalogue', 'openDurationMs', Number.POSITIVE_INFINITY, 'Infinity'), ['constructor']],
  ['slidingWindow.size Infinity', core({ slidingWindow: { type: 'count', size: Number.POSITIVE_INFINITY } }), config('catalogue', 'slidingWindow.size', Number.POSITIVE_INFINITY), ['constructor']],
  ['healthCheck.intervalMs NaN', core({ healthCheck: { check: () => true, intervalMs: Number.NaN } }), config('catalogue', 'healthCheck.intervalMs', Number.NaN), ['constructor']],
  // --- negative / zero / out of range
  ['openDurationMs negative', core({ openDurationMs: -1 }), config('catalogue', 'openDurationMs', -1, '-1'), ['constructor']],
  ['timeoutMs 0', core({ timeoutMs: 0 }), config('catalogue', 'timeoutMs', 0), ['constructor']],
  ['timeoutMs above the timer limit', core({ timeoutMs: MAX_TIMER_MS + 1 }), config('catalogue', 'timeoutMs', MAX_TIMER_MS + 1), ['constructor']],
  ['halfOpenMaxCalls negative', core({ halfOpenMaxCalls: -1 }), config('catalogue', 'halfOpenMaxCalls', -1), ['constructor']],
  ['halfOpenMaxCalls 0', core({ halfOpenMaxCalls: 0 }), config('catalogue', 'halfOpenMaxCalls', 0), ['constructor']],
  ['halfOpenMaxCalls not an integer', core({ halfOpenMaxCalls: 1.5 }), config('catalogue', 'halfOpenMaxCalls', 1.5), ['constructor']],
  ['consecutiveFailureThreshold negative', core({ consecutiveFailureThreshold: -3 }), config('catalogue', 'consecutiveFailureThreshold', -3), ['constructor']],
  ['minimumFailures 0', core({ minimumFailures: 0 }), config('catalogue', 'minimumFailures', 0), ['constructor']],
  ['halfOpenProbeTimeoutMs negative', core({ halfOpenProbeTimeoutMs: -10 }), config('catalogue', 'halfOpenProbeTimeoutMs', -10), ['constructor']],
  ['failureRateThreshold 0 (percent out of range)', core({ failureRateThreshold: 0 }), config('catalogue', 'failureRateThreshold', 0, '(0, 100]'), ['constructor']],
  ['failureRateThreshold 101 (percent out of range)', core({ failureRateThreshold: 101 }), config('catalogue', 'failureRateThreshold', 101, '(0, 100]'), ['constructor']],
  ['slowCallRateThreshold 150 (percent out of range)', core({ slowCallRateThreshold: 150 }), config('catalogue', 'slowCallRateThreshold', 150), ['constructor']],
  ['slidingWindow.size 0 (zero window)', core({ slidingWindow: { type: 'count', size: 0 } }), config('catalogue', 'slidingWindow.size', 0), ['constructor']],
  ['slidingWindow.durationMs 0 (zero time window)', core({ slidingWindow: { type: 'time', durationMs: 0 } }), config('catalogue', 'slidingWindow.durationMs', 0), ['constructor']],
  ['slidingWindow.buckets 0', core({ slidingWindow: { type: 'time', durationMs: 1_000, buckets: 0 } }), config('catalogue', 'slidingWindow.buckets', 0), ['constructor']],
  ['minimumCalls above the window size', core({ slidingWindow: { type: 'count', size: 5 }, minimumCalls: 6 }), config('catalogue', 'minimumCalls', 6, 'slidingWindow.size = 5'), ['constructor']],
  ['backoff multiplier below 1', core({ openDurationBackoff: { multiplier: 0.5 } }), config('catalogue', 'openDurationBackoff.multiplier', 0.5), ['constructor']],
  ['backoff maxMs below openDurationMs', core({ openDurationMs: 1_000, openDurationBackoff: { maxMs: 500 } }), config('catalogue', 'openDurationBackoff.maxMs', 500, 'openDurationMs = 1000'), ['constructor']],
  ['backoff jitter above 1', core({ openDurationBackoff: { jitter: 2 } }), config('catalogue', 'openDurationBackoff.jitter', 2, '[0, 1]'), ['constructor']],
  ['healthCheck.intervalMs 0', core({ healthCheck: { check: () => true, intervalMs: 0 } }), config('catalogue', 'healthCheck.intervalMs', 0), ['constructor']],
  // --- options that could never take effect, and other shapes the engine cannot use
  ['time window slice below 1 ms', core({ slidingWindow: { type: 'time', durationMs: 100, buckets: 200 } }), config('catalogue', 'slidingWindow.buckets', 200, 'at least 1 ms'), ['constructor']],
  ['minimumFailures above the window size', core({ slidingWindow: { type: 'count', size: 5 }, minimumFailures: 6 }), config('catalogue', 'minimumFailures', 6, 'slidingWindow.size = 5'), ['constructor']],
  ['slowCallRateThreshold without slowCallDurationMs', core({ slowCallRateThreshold: 50 }), config('catalogue', 'slowCallRateThreshold', 50, 'set slowCallDurationMs too'), ['constructor']],
  ['halfOpenProbeTimeoutMs below timeoutMs', core({ timeoutMs: 1_000, halfOpenProbeTimeoutMs: 500 }), config('catalogue', 'halfOpenProbeTimeoutMs', 500, 'timeoutMs = 1000'), ['constructor']],
  ['openDurationBackoff false', core({ openDurationBackoff: false }), config('catalogue', 'openDurationBackoff', false, 'true (every default) or a plain object'), ['constructor']],
  ['openDurationBackoff an array', core({ openDurationBackoff: [2] }), config('catalogue', 'openDurationBackoff', [2], 'a plain object'), ['constructor']],
  ['clock whose now() is NaN', core({ clock: { now: () => Number.NaN } }), { type: CircuitBreakerConfigError, breakerName: 'catalogue', option: 'clock', says: ['returned NaN'] }, ['constructor']],
  ['name longer than 200 characters', core({ name: 'n'.repeat(201) }), { type: CircuitBreakerConfigError, breakerName: `${'n'.repeat(40)}…`, option: 'name', says: ['at most 200 characters'] }, ['constructor']],
  // --- unknown keys
  ['unknown option', core({ retries: 3 }), config('catalogue', 'retries', 3, '"retries" is not an option'), ['constructor']],
  ['nested unknown key in slidingWindow', core({ slidingWindow: { type: 'count', size: 10, durationMs: 5 } }), config('catalogue', 'slidingWindow.durationMs', 5), ['constructor']],
  ['nested unknown key in openDurationBackoff', core({ openDurationBackoff: { factor: 2 } }), config('catalogue', 'openDurationBackoff.factor', 2), ['constructor']],
  ['nested unknown key in healthCheck', core({ healthCheck: { check: () => true, intervalMs: 100, timeoutMs: 50 } }), config('catalogue', 'healthCheck.timeoutMs', 50), ['constructor']],
  // --- reconfigure at runtime
  ['reconfigure: negative threshold', reconfigure({ failureRateThreshold: -1 }), config('catalogue', 'failureRateThreshold', -1), ['reconfigure']],
  ['reconfigure: unknown option', reconfigure({ retries: 1 }), config('catalogue', 'retries', 1), ['reconfigure']],
  ['reconfigure: minimumCalls above the window size', reconfigure({ minimumCalls: 11 }), config('catalogue', 'minimumCalls', 11), ['reconfigure']],
  ['reconfigure: NaN timeout', reconfigure({ timeoutMs: Number.NaN }), config('catalogue', 'timeoutMs', Number.NaN), ['reconfigure']],
  // --- decorator use (fails when the class is decorated)
  [
    '@UseCircuitBreaker on a getter',
    decorate(() => {
      class Getter {
        @UseCircuitBreaker('g')
        get total(): number {
          return 1;
        }
      }
      return Getter;
    }),
    typeError('decorates methods only', 'Getter.total'),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker on a non-method property',
    decorate(() => {
      class Field {}
      return UseCircuitBreaker('f')(Field.prototype, 'count', { value: 42, writable: true, configurable: true });
    }),
    typeError('decorates methods only', 'Field.count'),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker on a static method',
    decorate(() => {
      class Static {
        @UseCircuitBreaker('s')
        static run(): string {
          return 'x';
        }
      }
      return Static;
    }),
    typeError('instance methods only', 'Static.run', 'static'),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker with an empty breaker name',
    decorate(() => {
      class EmptyName {
        @UseCircuitBreaker('')
        run(): string {
          return 'x';
        }
      }
      return EmptyName;
    }),
    config('EmptyName.run', 'name', '', 'non-empty string'),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker with a name that is not a string',
    decorate(() => {
      const name = 42 as unknown as string;
      class NumberName {
        @UseCircuitBreaker(name)
        run(): string {
          return 'x';
        }
      }
      return NumberName;
    }),
    config('NumberName.run', 'name', 42),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker with an unknown decorator option',
    decorate(() => {
      const options = { fallbak: 'cached' } as unknown as UseCircuitBreakerOptions;
      class Typo {
        @UseCircuitBreaker('typo', options)
        run(): string {
          return 'x';
        }
      }
      return Typo;
    }),
    config('typo', 'fallbak', 'cached', 'known options: fallback'),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker with options that are not an object',
    decorate(() => {
      const options = null as unknown as UseCircuitBreakerOptions;
      class NullOptions {
        @UseCircuitBreaker('n', options)
        run(): string {
          return 'x';
        }
      }
      return NullOptions;
    }),
    config('n', 'options', null),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker with a fallback given as a number',
    decorate(() => {
      const options = { fallback: 42 } as unknown as UseCircuitBreakerOptions;
      class NumberFallback {
        @UseCircuitBreaker(undefined, options)
        run(): string {
          return 'x';
        }
      }
      return NumberFallback;
    }),
    config('NumberFallback.run', 'fallback', 42, 'a method name of the same class or a function'),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker with an empty fallback name',
    decorate(() => {
      class EmptyFallback {
        @UseCircuitBreaker('e', { fallback: '' })
        run(): string {
          return 'x';
        }
      }
      return EmptyFallback;
    }),
    config('e', 'fallback', ''),
    ['decoration'],
  ],
  [
    '@UseCircuitBreaker applied twice to one method',
    decorate(() => {
      class Twice {
        @UseCircuitBreaker('a')
        @UseCircuitBreaker('b')
        run(): string {
          return 'x';
        }
      }
      return Twice;
    }),
    typeError('applied twice', 'Twice.run'),
    ['decoration'],
  ],
  ['@InjectCircuitBreaker with an empty name', decorate(() => InjectCircuitBreaker('')), config('', 'name', ''), ['decoration']],
  // --- Nest bootstrap
  ['forRoot breakers: a wrong type', nest(() => forRoot({ breakers: { payments: { timeoutMs: '100' } } })), config('payments', 'timeoutMs', '100'), BOOT],
  ['forRoot breakers: NaN', nest(() => forRoot({ breakers: { payments: { openDurationMs: Number.NaN } } })), config('payments', 'openDurationMs', Number.NaN), BOOT],
  ['forRoot breakers: zero window size', nest(() => forRoot({ breakers: { orders: { slidingWindow: { type: 'count', size: 0 } } } })), config('orders', 'slidingWindow.size', 0), BOOT],
  ['forRoot breakers: unknown option', nest(() => forRoot({ breakers: { payments: { openDurationMS: 1_000 } } })), config('payments', 'openDurationMS', 1_000), BOOT],
  ['forRoot breakers: nested unknown key', nest(() => forRoot({ breakers: { payments: { slidingWindow: { type: 'count', size: 5, buckets: 2 } } } })), config('payments', 'slidingWindow.buckets', 2), BOOT],
  ['forRoot breakers: not an object', nest(() => forRoot({ breakers: { payments: 5 } })), config('payments', 'breakers', 5), BOOT],
  ['forRoot breakers map: an array', nest(() => forRoot({ breakers: [] })), config('(module)', 'breakers', []), BOOT],
  ['forRoot defaults: Infinity', nest(() => forRoot({ defaults: { openDurationMs: Number.POSITIVE_INFINITY } })), config('(defaults)', 'openDurationMs', Number.POSITIVE_INFINITY), BOOT],
  ['forRoot defaults: out-of-range percent', nest(() => forRoot({ defaults: { failureRateThreshold: 120 } })), config('(defaults)', 'failureRateThreshold', 120), BOOT],
  ['forRoot: unknown module option', nest(() => forRoot({ strickt: true })), config('(module)', 'strickt', true), BOOT],
  ['forRoot: strict not a boolean', nest(() => forRoot({ strict: 'yes' })), config('(module)', 'strict', 'yes'), BOOT],
  ['forRoot: errorFactory not a function', nest(() => forRoot({ errorFactory: 503 })), config('(module)', 'errorFactory', 503), BOOT],
  [
    'forRootAsync factory: negative value',
    nest(() => ({
      imports: [CircuitBreakerModule.forRootAsync({ useFactory: (): CircuitBreakerModuleOptions => ({ logger: false, breakers: { quotes: { halfOpenMaxCalls: -2 } } }) })],
    })),
    config('quotes', 'halfOpenMaxCalls', -2),
    BOOT,
  ],
  ['forFeature: out-of-range value', nest(() => ({ imports: [CircuitBreakerModule.forRoot({ logger: false }), featureModule({ minimumCalls: 0 })] })), config('inventory', 'minimumCalls', 0), BOOT],
  [
    'duplicate name, different options (forRoot + forFeature)',
    nest(() => ({
      imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { inventory: { openDurationMs: 1_000 } } }), featureModule({ openDurationMs: 2_000 })],
    })),
    { type: CircuitBreakerConfigError, breakerName: 'inventory', option: 'breakers', says: ['by CircuitBreakerModule.forRoot with { openDurationMs: 1000 } and by CircuitBreakerModule.forFeature({ inventory }) in FeatureModule with { openDurationMs: 2000 }'] },
    BOOT,
  ],
  [
    'duplicate name, different options (two forFeature modules)',
    nest(() => ({
      imports: [CircuitBreakerModule.forRoot({ logger: false }), featureModule({ openDurationMs: 1_000 }, 'stock'), featureModule({ openDurationMs: 3_000 }, 'stock')],
    })),
    { type: CircuitBreakerConfigError, breakerName: 'stock', option: 'breakers', says: ['by CircuitBreakerModule.forFeature({ stock }) in FeatureModule with { openDurationMs: 1000 } and by CircuitBreakerModule.forFeature({ stock }) in FeatureModule with { openDurationMs: 3000 }'] },
    BOOT,
  ],
  [
    'unknown fallback method',
    nest(() => ({ ...forRoot({}), providers: [TypoFallbackClient] })),
    config('quotes', 'fallback', 'fromCahce', 'TypoFallbackClient has no method "fromCahce"'),
    BOOT,
  ],
  [
    'strict mode: @UseCircuitBreaker name declared nowhere',
    nest(() => ({ ...forRoot({ strict: true }), providers: [UndeclaredNameClient] })),
    config('undeclared-in-strict', 'name', 'undeclared-in-strict', 'strict mode', 'UndeclaredNameClient.call'),
    BOOT,
  ],
  [
    'strict mode: @InjectCircuitBreaker name declared nowhere',
    nest(() => ({ ...forRoot({ strict: true }), providers: [UndeclaredInjection] })),
    config('injected-undeclared', 'name', 'injected-undeclared', 'strict mode', "@InjectCircuitBreaker('injected-undeclared')"),
    BOOT,
  ],
];

describe(`bad input catalogue (${ROWS.length} rows)`, () => {
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
  });

  it.each(ROWS)('%s', async (_label, act, expected, where) => {
    const { error, where: raisedAt } = await act();
    expect(where).toContain(raisedAt);
    expect(error).toBeInstanceOf(expected.type);
    const e = error as Error & Partial<CircuitBreakerConfigError>;
    if (expected.type === CircuitBreakerConfigError) {
      expect(e.breakerName).toBe(expected.breakerName);
      expect(e.option).toBe(expected.option);
      if ('value' in expected) expect(e.value).toEqual(expected.value);
      // the message names the breaker, the option and what is allowed
      expect(e.message).toContain(`"${expected.breakerName}"`);
      expect(e.message).toContain(`"${expected.option}"`);
      expect(e.message).toContain(e.allowed!);
    }
    for (const text of expected.says ?? []) expect(e.message).toContain(text);
  });
});
