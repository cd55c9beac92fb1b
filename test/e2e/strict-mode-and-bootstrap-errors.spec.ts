import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, Scope } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { CircuitBreakerModuleOptions, CircuitBreakerSettings, UseCircuitBreakerOptions } from '../../lib/index.js';
import { Apps, startApp, thrownBy } from './helpers.js';

@Injectable()
class GhostClient {
  @UseCircuitBreaker('ghost')
  async call(): Promise<string> {
    return 'boo';
  }
}

@Controller('phantom')
class PhantomController {
  @Get()
  @UseCircuitBreaker('phantom-route')
  get(): string {
    return 'phantom';
  }
}

@Injectable()
class InjectsUndeclared {
  constructor(@InjectCircuitBreaker('ghost-injected') readonly breaker: CircuitBreaker) {}
}

@Injectable()
class InjectsDeclared {
  constructor(@InjectCircuitBreaker('declared-injected') readonly breaker: CircuitBreaker) {}
}

@Injectable()
class UnnamedClient {
  @UseCircuitBreaker()
  async work(): Promise<string> {
    return 'done';
  }

  @UseCircuitBreaker()
  async tuned(): Promise<string> {
    return 'tuned';
  }
}

@Injectable()
class BadFallbackClient {
  @UseCircuitBreaker('with-fallback', { fallback: 'fromCahce' })
  async fetch(): Promise<string> {
    return 'x';
  }

  fromCache(): string {
    return 'cached';
  }
}

@Controller('bad-fallback')
class BadFallbackController {
  @Get()
  @UseCircuitBreaker(undefined, { fallback: 'missing' })
  get(): string {
    return 'x';
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedBadFallback {
  @UseCircuitBreaker('scoped-fallback', { fallback: 'nothing' })
  async fetch(): Promise<string> {
    return 'x';
  }
}

@Injectable()
class InventoryUser {
  constructor(@InjectCircuitBreaker('inventory') readonly inventory: CircuitBreaker) {}
}

function featureModule(settings: CircuitBreakerSettings): new () => object {
  @Module({ imports: [CircuitBreakerModule.forFeature({ inventory: settings })], providers: [InventoryUser], exports: [InventoryUser] })
  class InventoryModule {}
  return InventoryModule;
}

function expectConfigError(error: unknown, expected: { breaker: string; option: string; value?: unknown; says?: string[] }): void {
  expect(error).toBeInstanceOf(CircuitBreakerConfigError);
  const e = error as CircuitBreakerConfigError;
  expect(e.breakerName).toBe(expected.breaker);
  expect(e.option).toBe(expected.option);
  if ('value' in expected) expect(e.value).toEqual(expected.value);
  expect(e.message).toContain(expected.breaker);
  expect(e.message).toContain(expected.option);
  for (const text of expected.says ?? []) expect(e.message).toContain(text);
  expect(e.allowed.length).toBeGreaterThan(0);
}

describe('strict mode and bootstrap errors', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  const clock = new ManualClock();

  describe('strict mode', () => {
    it('an undeclared explicit name on @UseCircuitBreaker (provider) fails bootstrap, naming class, method and breaker', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, strict: true, defaults: { clock } })],
        providers: [GhostClient],
      });
      expectConfigError(error, { breaker: 'ghost', option: 'name', value: 'ghost', says: ['GhostClient', 'call', 'strict'] });
    });

    it('an undeclared explicit name on @UseCircuitBreaker (controller) fails bootstrap', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, strict: true, defaults: { clock } })],
        controllers: [PhantomController],
      });
      expectConfigError(error, { breaker: 'phantom-route', option: 'name', says: ['PhantomController', 'get'] });
    });

    it('an undeclared @InjectCircuitBreaker name fails bootstrap, naming the breaker', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, strict: true, defaults: { clock } })],
        providers: [InjectsUndeclared],
      });
      expectConfigError(error, { breaker: 'ghost-injected', option: 'name', says: ['@InjectCircuitBreaker', 'strict'] });
    });

    it('declared names bootstrap fine, and the unnamed decorator is never a strict-mode error', async () => {
      const app = apps.track(
        await startApp({
          imports: [
            CircuitBreakerModule.forRoot({
              logger: false,
              strict: true,
              defaults: { clock },
              breakers: { ghost: {}, 'phantom-route': {}, 'declared-injected': {} },
            }),
          ],
          controllers: [PhantomController],
          providers: [GhostClient, InjectsDeclared, UnnamedClient],
        }),
      );
      const registry = app.get(CircuitBreakerRegistry);
      await expect(app.get(UnnamedClient).work()).resolves.toBe('done');
      expect(registry.has('UnnamedClient.work')).toBe(true);
      expect(registry.get('UnnamedClient.work').snapshot().calls).toBe(1);
      expect(app.get(InjectsDeclared).breaker).toBe(registry.get('declared-injected'));
      await request(app.getHttpServer()).get('/phantom').expect(200);
      expect(registry.get('phantom-route').snapshot().calls).toBe(1);
    });

    it('a name declared only by forFeature satisfies strict mode', async () => {
      const app = apps.track(
        await startApp({
          imports: [CircuitBreakerModule.forRoot({ logger: false, strict: true, defaults: { clock } }), featureModule({ openDurationMs: 5_000 })],
        }),
      );
      expect(app.get(InventoryUser).inventory.options.openDurationMs).toBe(5_000);
    });

    it('without strict, an undeclared name is built from defaults', async () => {
      const app = apps.track(
        await startApp({
          imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, openDurationMs: 7_777 } })],
          providers: [GhostClient, InjectsUndeclared],
        }),
      );
      const registry = app.get(CircuitBreakerRegistry);
      expect(registry.get('ghost').options.openDurationMs).toBe(7_777);
      expect(app.get(InjectsUndeclared).breaker.options.openDurationMs).toBe(7_777);
      expect(app.get(InjectsUndeclared).breaker).toBe(registry.get('ghost-injected'));
    });

    it('an unnamed decorator takes options registered under ClassName.methodName, else defaults', async () => {
      const app = apps.track(
        await startApp({
          imports: [
            CircuitBreakerModule.forRoot({
              logger: false,
              strict: true,
              defaults: { clock, openDurationMs: 1_000 },
              breakers: { 'UnnamedClient.tuned': { openDurationMs: 4_321 } },
            }),
          ],
          providers: [UnnamedClient],
        }),
      );
      const registry = app.get(CircuitBreakerRegistry);
      expect(registry.get('UnnamedClient.tuned').options.openDurationMs).toBe(4_321);
      expect(registry.get('UnnamedClient.work').options.openDurationMs).toBe(1_000);
    });
  });

  describe('fallbacks', () => {
    it('an unknown fallback method name on a provider fails bootstrap, naming breaker, option, value and class', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock } })],
        providers: [BadFallbackClient],
      });
      expectConfigError(error, { breaker: 'with-fallback', option: 'fallback', value: 'fromCahce', says: ['BadFallbackClient', '"fromCahce"'] });
    });

    it('an unknown fallback method name on a controller (unnamed breaker) fails bootstrap', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock } })],
        controllers: [BadFallbackController],
      });
      expectConfigError(error, { breaker: 'BadFallbackController.get', option: 'fallback', value: 'missing', says: ['"missing"'] });
    });

    it('an unknown fallback method name on a request-scoped provider fails bootstrap', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock } })],
        providers: [RequestScopedBadFallback],
      });
      expectConfigError(error, { breaker: 'scoped-fallback', option: 'fallback', value: 'nothing', says: ['RequestScopedBadFallback'] });
    });
  });

  describe('invalid option values', () => {
    it('in forRoot breakers: names the breaker, the option, the value and what is allowed', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: { failureRateThreshold: 150 } } })],
      });
      expectConfigError(error, { breaker: 'payments', option: 'failureRateThreshold', value: 150, says: ['150'] });
    });

    it('in a nested option of forRoot breakers', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { orders: { slidingWindow: { type: 'count', size: 0 } } } })],
      });
      expectConfigError(error, { breaker: 'orders', option: 'slidingWindow.size', value: 0 });
    });

    it('in defaults', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { openDurationMs: -5 } })],
      });
      expectConfigError(error, { breaker: '(defaults)', option: 'openDurationMs', value: -5, says: ['-5'] });
    });

    it('in forFeature', async () => {
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false }), featureModule({ minimumCalls: 0 })],
      });
      expectConfigError(error, { breaker: 'inventory', option: 'minimumCalls', value: 0 });
    });

    it('in the options returned by a forRootAsync factory', async () => {
      const error = await apps.bootstrapError({
        imports: [
          CircuitBreakerModule.forRootAsync({
            useFactory: (): CircuitBreakerModuleOptions => ({ logger: false, breakers: { quotes: { halfOpenMaxCalls: 1.5 } } }),
          }),
        ],
      });
      expectConfigError(error, { breaker: 'quotes', option: 'halfOpenMaxCalls', value: 1.5 });
    });

    it('an unknown module option key fails bootstrap, naming the key', async () => {
      const options: Record<string, unknown> = { logger: false, strickt: true };
      const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot(options as CircuitBreakerModuleOptions)] });
      expectConfigError(error, { breaker: '(module)', option: 'strickt', value: true });
    });

    it('an unknown breaker option key fails bootstrap, naming the breaker and the key', async () => {
      const settings: Record<string, unknown> = { openDurationMS: 1_000 };
      const error = await apps.bootstrapError({
        imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: settings as CircuitBreakerSettings } })],
      });
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      expect((error as Error).message).toContain('payments');
      expect((error as Error).message).toContain('openDurationMS');
    });
  });

  describe('the same name declared twice', () => {
    it('forRoot + forFeature with different options fails bootstrap, naming the breaker and the earlier declaration', async () => {
      const error = await apps.bootstrapError({
        imports: [
          CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, breakers: { inventory: { openDurationMs: 1_000 } } }),
          featureModule({ openDurationMs: 2_000 }),
        ],
      });
      expectConfigError(error, { breaker: 'inventory', option: 'breakers', says: ['forRoot'] });
    });

    it('forRoot + forFeature with the same options is fine: one breaker', async () => {
      const app = apps.track(
        await startApp({
          imports: [
            CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, breakers: { inventory: { openDurationMs: 1_000, slidingWindow: { type: 'count', size: 5 } } } }),
            featureModule({ openDurationMs: 1_000, slidingWindow: { type: 'count', size: 5 } }),
          ],
        }),
      );
      const registry = app.get(CircuitBreakerRegistry);
      expect(app.get(InventoryUser).inventory).toBe(registry.get('inventory'));
      expect(registry.getAll().filter((b) => b.name === 'inventory')).toHaveLength(1);
    });
  });

  describe('decorator misuse fails at decoration time', () => {
    it('on something that is not a method', () => {
      class Target {}
      const error = thrownBy(() => UseCircuitBreaker('x')(Target.prototype, 'field', { value: 42, writable: true, configurable: true }));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('Target.field');
      const getter = thrownBy(() => UseCircuitBreaker('x')(Target.prototype, 'computed', { get: () => 1, configurable: true }));
      expect((getter as Error).message).toContain('Target.computed');
    });

    it('on a static method', () => {
      const error = thrownBy(() => {
        class Statics {
          @UseCircuitBreaker('x')
          static run(): string {
            return 'static';
          }
        }
        return Statics;
      });
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('Statics.run');
      expect((error as Error).message).toContain('static');
    });

    it('with an empty name', () => {
      const error = thrownBy(() => {
        class EmptyName {
          @UseCircuitBreaker('')
          run(): string {
            return 'x';
          }
        }
        return EmptyName;
      });
      expectConfigError(error, { breaker: 'EmptyName.run', option: 'name', value: '' });
    });

    it('with an unknown decorator option', () => {
      const options = { fallbak: 'cached' } as unknown as UseCircuitBreakerOptions;
      const error = thrownBy(() => {
        class Typo {
          @UseCircuitBreaker('typo', options)
          run(): string {
            return 'x';
          }
        }
        return Typo;
      });
      expectConfigError(error, { breaker: 'typo', option: 'fallbak', value: 'cached' });
    });

    it('with a fallback that is neither a method name nor a function', () => {
      const options = { fallback: 42 } as unknown as UseCircuitBreakerOptions;
      const error = thrownBy(() => {
        class BadFallbackType {
          @UseCircuitBreaker(undefined, options)
          run(): string {
            return 'x';
          }
        }
        return BadFallbackType;
      });
      expectConfigError(error, { breaker: 'BadFallbackType.run', option: 'fallback', value: 42 });
    });

    it('applied twice to one method', () => {
      const error = thrownBy(() => {
        class Twice {
          @UseCircuitBreaker('a')
          @UseCircuitBreaker('b')
          run(): string {
            return 'x';
          }
        }
        return Twice;
      });
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('Twice.run');
    });

    it('@InjectCircuitBreaker with an empty name', () => {
      const error = thrownBy(() => InjectCircuitBreaker(''));
      expectConfigError(error, { breaker: '', option: 'name', value: '' });
    });
  });
});
