/**
 * A decorated method that is the only one on its breaker, without timeoutMs, runs without the
 * per-call async context (no other decorated method can nest inside it, and there is no signal to
 * hand out). What the context provides must still hold: one call recorded per call, failures and
 * fallbacks as usual, a method calling itself synchronously is exempt (and from then on the method
 * runs in the context, so a call after an await is exempt too), and a breaker shared by two methods
 * or with a timeout keeps the context.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker, circuitBreakerSignal } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

@Injectable()
class Catalogue {
  fail = false;
  signals: (AbortSignal | undefined)[] = [];

  @UseCircuitBreaker('alone', { fallback: 'cached' })
  async price(id: string): Promise<string> {
    if (this.fail) throw new Error('catalogue down');
    return `price of ${id}`;
  }

  cached(id: string, error: Error): string {
    return `cached ${id} (${error.message})`;
  }

  /** Calls itself synchronously (before any await) `depth` times. */
  @UseCircuitBreaker('recursive')
  async countdown(depth: number): Promise<number> {
    if (depth === 0) return 0;
    return 1 + (await this.countdown(depth - 1));
  }

  /** Calls itself after an await. */
  @UseCircuitBreaker('recursive-later')
  async later(depth: number, warmUp = false): Promise<number> {
    if (warmUp && depth > 0) return this.later(depth - 1); // synchronous self-call first
    await Promise.resolve();
    if (depth === 0) return 0;
    return 1 + (await this.later(depth - 1));
  }

  /** A synchronous method calling itself. */
  @UseCircuitBreaker('recursive-sync')
  factorial(n: number): number {
    if (n === 'boom'.length) throw new Error('four is refused');
    return n <= 1 ? 1 : n * this.factorial(n - 1);
  }

  @UseCircuitBreaker('timed')
  async timed(): Promise<void> {
    this.signals.push(circuitBreakerSignal());
  }
}

describe('a decorated method alone on its breaker', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; catalogue: Catalogue; registry: CircuitBreakerRegistry }> {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, minimumCalls: 2 }, breakers: { timed: { timeoutMs: 1_000 } } })],
        providers: [Catalogue],
      }),
    );
    return { app, catalogue: app.get(Catalogue), registry: app.get(CircuitBreakerRegistry) };
  }

  it('records one call per call, counts failures, serves its fallback, and opens', async () => {
    const { catalogue, registry } = await setup();
    await expect(catalogue.price('a')).resolves.toBe('price of a');
    expect(registry.get('alone').snapshot()).toMatchObject({ calls: 1, failures: 0 });
    catalogue.fail = true;
    await expect(catalogue.price('b')).resolves.toBe('cached b (catalogue down)');
    expect(registry.get('alone').snapshot()).toMatchObject({ calls: 2, failures: 1 });
    expect(registry.get('alone').state).toBe('open');
    await expect(catalogue.price('c')).resolves.toMatch(/^cached c \(Circuit breaker "alone" is open/);
  });

  it('a method calling itself synchronously records one call', async () => {
    const { catalogue, registry } = await setup();
    await expect(catalogue.countdown(3)).resolves.toBe(3);
    expect(registry.get('recursive').totals().successfulCalls).toBe(1);
    await expect(catalogue.countdown(2)).resolves.toBe(2);
    expect(registry.get('recursive').totals().successfulCalls).toBe(2);
  });

  it('once it called itself, its calls after an await are exempt too', async () => {
    const { catalogue, registry } = await setup();
    await expect(catalogue.later(1, true)).resolves.toBe(0);
    expect(registry.get('recursive-later').totals().successfulCalls).toBe(1);
    await expect(catalogue.later(3)).resolves.toBe(3);
    expect(registry.get('recursive-later').totals().successfulCalls).toBe(2);
  });

  it('a synchronous method calling itself records one call, and its failure once', async () => {
    const { catalogue, registry } = await setup();
    expect(catalogue.factorial(3)).toBe(6);
    expect(catalogue.factorial(3)).toBe(6);
    expect(registry.get('recursive-sync').totals()).toMatchObject({ successfulCalls: 2, failedCalls: 0 });
    expect(() => catalogue.factorial(6)).toThrow('four is refused');
    expect(registry.get('recursive-sync').totals()).toMatchObject({ successfulCalls: 2, failedCalls: 1 });
  });

  it('with timeoutMs, the method still reads its circuitBreakerSignal()', async () => {
    const { catalogue } = await setup();
    await catalogue.timed();
    expect(catalogue.signals[0]).toBeInstanceOf(AbortSignal);
  });
});
