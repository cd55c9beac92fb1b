/**
 * A breaker's name is the key it is declared under (or the decorator's name), so a `name` inside
 * its options would be silently ignored: `breakers: { payments: { name: 'other' } }` configures
 * "payments", not "other". Every place that takes breaker options refuses it at bootstrap, naming
 * the breaker, the option and the value; and an unknown option there is listed against the options
 * that place accepts, which do not include `name`.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { CircuitBreakerConfigError, CircuitBreakerModule, CircuitBreakerRegistry, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerModuleOptions, CircuitBreakerSettings } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

/** What a JavaScript user, a forRootAsync factory reading a config file, or a cast can pass. */
const withName = (name: string, settings: Record<string, unknown> = {}) => ({ ...settings, name }) as CircuitBreakerSettings;

@Injectable()
class SearchService {
  @UseCircuitBreaker('search', { options: withName('other', { timeoutMs: 500 }) })
  async find() {
    return [];
  }
}

@Injectable()
class UnnamedClient {
  @UseCircuitBreaker(undefined, { options: withName('fancy') })
  async work() {
    return 'done';
  }
}

@Module({ imports: [CircuitBreakerModule.forFeature({ inventory: withName('stock') })] })
class InventoryModule {}

interface Expected {
  breaker: string;
  value: unknown;
  says: string[];
}

describe('a name inside breaker options is refused at bootstrap', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function expectRefused(metadata: Parameters<Apps['bootstrapError']>[0], expected: Expected): Promise<void> {
    const error = await apps.bootstrapError(metadata);
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ breakerName: expected.breaker, option: 'name', value: expected.value });
    const message = (error as Error).message;
    expect(message).toContain(`Circuit breaker "${expected.breaker}"`);
    expect(message).toContain(`got ${JSON.stringify(expected.value)}`);
    for (const text of expected.says) expect(message).toContain(text);
  }

  it('in forRoot breakers: the name is the key', async () => {
    await expectRefused(
      { imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: withName('other') } })] },
      { breaker: 'payments', value: 'other', says: ['CircuitBreakerModule.forRoot', 'the name is its key ("payments")'] },
    );
  });

  it('in a forRootAsync factory', async () => {
    await expectRefused(
      {
        imports: [
          CircuitBreakerModule.forRootAsync({ useFactory: (): CircuitBreakerModuleOptions => ({ logger: false, breakers: { quotes: withName('quotes-v2') } }) }),
        ],
      },
      { breaker: 'quotes', value: 'quotes-v2', says: ['CircuitBreakerModule.forRootAsync', 'the name is its key ("quotes")'] },
    );
  });

  it('in forFeature', async () => {
    await expectRefused(
      { imports: [CircuitBreakerModule.forRoot({ logger: false }), InventoryModule] },
      { breaker: 'inventory', value: 'stock', says: ['CircuitBreakerModule.forFeature({ inventory }) in InventoryModule', 'the name is its key ("inventory")'] },
    );
  });

  it("in a decorator's options: the name is the decorator's first argument", async () => {
    await expectRefused(
      { imports: [CircuitBreakerModule.forRoot({ logger: false })], providers: [SearchService] },
      { breaker: 'search', value: 'other', says: ["@UseCircuitBreaker('search') options on SearchService.find", "the decorator's first argument"] },
    );
  });

  it("in an unnamed decorator's options: the name is ClassName.methodName unless the decorator gives one", async () => {
    await expectRefused(
      { imports: [CircuitBreakerModule.forRoot({ logger: false })], providers: [UnnamedClient] },
      { breaker: 'UnnamedClient.work', value: 'fancy', says: ['"UnnamedClient.work"', "@UseCircuitBreaker('fancy')"] },
    );
  });

  it('in defaults: they apply to every breaker, whose names are their keys', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: withName('everyone') })] });
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ breakerName: '(defaults)', option: 'name', value: 'everyone' });
    expect((error as Error).message).toContain('defaults apply to every breaker');
  });

  it('in registry.reconfigure at run time (a breaker cannot be renamed)', async () => {
    const app = apps.track(await startApp({ imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: {} } })] }));
    const registry = app.get(CircuitBreakerRegistry);
    expect(() => registry.reconfigure('payments', withName('other', { timeoutMs: 100 }))).toThrow(CircuitBreakerConfigError);
    expect(registry.get('payments').options.timeoutMs).toBeUndefined(); // nothing applied
    expect(registry.has('other')).toBe(false);
  });

  describe('an unknown option lists the options accepted there, without name', () => {
    const known = (message: string) => /known options \(([^)]*)\)/.exec(message)?.[1]?.split(', ') ?? [];

    it.each([
      ['forRoot breakers', (): CircuitBreakerModuleOptions => ({ breakers: { payments: { timeotMs: 5 } as CircuitBreakerSettings } }), 'payments'],
      ['defaults', (): CircuitBreakerModuleOptions => ({ defaults: { timeotMs: 5 } as CircuitBreakerSettings }), '(defaults)'],
    ])('%s', async (_where, options, breaker) => {
      const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ logger: false, ...options() })] });
      expect(error).toMatchObject({ breakerName: breaker, option: 'timeotMs', value: 5 });
      const listed = known((error as Error).message);
      expect(listed).toContain('timeoutMs');
      expect(listed).toContain('slidingWindow');
      expect(listed).not.toContain('name');
    });
  });
});
