// breakers: { 'payments-*': {...} }: a pattern gives its options to every breaker it matches that no
// entry names exactly; the most specific pattern (most literal characters) wins; ties fail bootstrap.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { CircuitBreakerModule, CircuitBreakerRegistry, UseCircuitBreaker } from '../../lib/index.js';
import { commonName } from '../../lib/breaker-patterns.js';
import { Apps, startApp } from './helpers.js';

const apps = new Apps();
afterEach(() => apps.closeAll());

async function registryWith(breakers: Record<string, object>, strict = false): Promise<CircuitBreakerRegistry> {
  const app = apps.track(await startApp({ imports: [CircuitBreakerModule.forRoot({ strict, defaults: { openDurationMs: 1_000 }, breakers })] }));
  return app.get(CircuitBreakerRegistry);
}

describe('name patterns in breakers', () => {
  it('the most specific match wins, an exact name beats every pattern, unmatched names get the defaults', async () => {
    const registry = await registryWith({
      'payments-*': { timeoutMs: 100 },
      'payments-eu-*': { timeoutMs: 200 },
      '*-eu-*': { timeoutMs: 300 }, // 4 literal characters: less specific than both above
      'payments-eu-west': { timeoutMs: 400 },
    });
    expect(registry.get('payments-us').options.timeoutMs).toBe(100);
    expect(registry.get('payments-eu-north').options.timeoutMs).toBe(200);
    expect(registry.get('payments-eu-west').options.timeoutMs).toBe(400);
    expect(registry.get('search-eu-1').options.timeoutMs).toBe(300);
    expect(registry.get('search').options).toMatchObject({ timeoutMs: undefined, openDurationMs: 1_000 });
    // "*" matches the empty run too.
    expect(registry.get('payments-').options.timeoutMs).toBe(100);
  });

  it('a name a pattern matches counts as declared in strict mode', async () => {
    @Injectable()
    class Checkout {
      @UseCircuitBreaker('payments-card')
      async pay(): Promise<string> {
        return 'paid';
      }
    }
    const app = apps.track(
      await startApp({ imports: [CircuitBreakerModule.forRoot({ strict: true, breakers: { 'payments-*': { timeoutMs: 700 } } })], providers: [Checkout] }),
    );
    await expect(app.get(Checkout).pay()).resolves.toBe('paid');
    expect(app.get(CircuitBreakerRegistry).get('payments-card').options.timeoutMs).toBe(700);
  });

  it('a later exact declaration replaces the pattern options of a breaker already built', async () => {
    const registry = await registryWith({ 'search-*': { timeoutMs: 100, minimumCalls: 5 } });
    const breaker = registry.get('search-books');
    registry.declare('search-books', { openDurationMs: 2_000 }, 'test');
    expect(breaker.options).toMatchObject({ timeoutMs: undefined, minimumCalls: 10, openDurationMs: 2_000 });
  });

  it('lists every pair of tied patterns that can match one name, at bootstrap', async () => {
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ breakers: { 'pay*': {}, '*pay': {}, 'a*b': {}, 'x*y': {}, 'ab*': {} } })],
    });
    const message = (error as Error).message;
    expect(message).toContain('"pay*" (CircuitBreakerModule.forRoot) and "*pay" (CircuitBreakerModule.forRoot) both have 3 literal characters and both match e.g. "pay"');
    expect(message).toContain('"a*b" (CircuitBreakerModule.forRoot) and "ab*" (CircuitBreakerModule.forRoot) both have 2 literal characters and both match e.g. "ab"');
    expect(message).not.toContain('"x*y" (');
  });

  it('a forFeature pattern that ties with a forRoot one fails bootstrap naming both registrations', async () => {
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ breakers: { 'orders-*': {} } }), CircuitBreakerModule.forFeature({ '*-europe': {} })],
    });
    expect((error as Error).message).toContain(
      '"orders-*" (CircuitBreakerModule.forRoot) and "*-europe" (CircuitBreakerModule.forFeature({ *-europe }) in RootTestModule) both have 7 literal characters and both match e.g. "orders-europe"',
    );
  });

  it('bad options under a pattern fail bootstrap naming the pattern', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ breakers: { 'payments-*': { timeoutMs: -1 } } })] });
    expect((error as Error).message).toMatch(/^Circuit breaker "payments-\*": option "timeoutMs" must be/);
  });
});

describe('commonName: whether two patterns can match one name', () => {
  it.each([
    ['a*', '*a', 'a'],
    ['a*c', 'ab*', 'abc'],
    ['*', 'xyz', 'xyz'],
    ['a*b*c', '*b*', 'abc'],
    ['ab', 'a*', 'ab'],
  ])('%s and %s: %s', (a, b, name) => {
    expect(commonName(a, b)).toBe(name);
  });

  it.each([
    ['a*', 'b*'],
    ['*a', '*b'],
    ['ab', 'ba'],
    ['a*b', 'a*c'],
  ])('%s and %s: none', (a, b) => {
    expect(commonName(a, b)).toBeUndefined();
  });
});
