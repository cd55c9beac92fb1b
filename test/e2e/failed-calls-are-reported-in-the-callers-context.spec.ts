/**
 * registry.failedCalls$ (internal, read by nestjs-breaker/opentelemetry): a decorated call that
 * failed under its breaker is reported once, as its caller got it (answered by the fallback or
 * not), synchronously in the caller's async context, whatever the method's shape.
 */
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, Injectable, Param } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { firstValueFrom, Observable, throwError } from 'rxjs';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { FailedCallEvent } from '../../lib/circuit-breaker.registry.js';
import { Apps, startApp } from './helpers.js';

const caller = new AsyncLocalStorage<string>();
const clock = new ManualClock();
let failing = true;

@Injectable()
class Prices {
  @UseCircuitBreaker('prices', { fallback: 'cached' })
  async price(id: string): Promise<string> {
    if (failing) throw new Error(`prices down for ${id}`);
    return `live ${id}`;
  }

  cached(id: string): string {
    return `cached ${id}`;
  }

  @UseCircuitBreaker('stock')
  async stock(id: string): Promise<string> {
    if (id === 'bad') throw new HttpException('no such item', 404); // ignored by the breaker
    if (id === 'slow') return new Promise<string>(() => undefined);
    throw new Error('stock down');
  }

  @UseCircuitBreaker('feed')
  feed(): Observable<string> {
    return throwError(() => new Error('feed down'));
  }

  @UseCircuitBreaker('legacy')
  legacy(): string {
    throw new Error('legacy down');
  }
}

@Controller()
class PricesController {
  constructor(private readonly prices: Prices) {}

  @Get('price/:id')
  price(@Param('id') id: string): Promise<string> {
    return caller.run(`GET /price/${id}`, () => this.prices.price(id));
  }
}

describe('failedCalls$ (what the OpenTelemetry integration marks spans with)', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function app(): Promise<{ app: INestApplication; seen: string[]; events: FailedCallEvent[] }> {
    failing = true;
    const started = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            defaults: { clock, consecutiveFailureThreshold: 2, openDurationMs: 10_000, minimumCalls: 100 },
            breakers: { stock: { timeoutMs: 100 } },
            logger: false,
          }),
        ],
        controllers: [PricesController],
        providers: [Prices],
      }),
    );
    const seen: string[] = [];
    const events: FailedCallEvent[] = [];
    started.get(CircuitBreakerRegistry).failedCalls$.subscribe((event) => {
      events.push(event);
      const error = event.error instanceof CircuitOpenError ? 'open' : event.error instanceof CircuitBreakerTimeoutError ? 'timeout' : 'failure';
      seen.push(`${event.name} ${error} ${event.fallback ? 'answered by the fallback' : 'to the caller'} in ${caller.getStore() ?? 'no context'}`);
    });
    return { app: started, seen, events };
  }

  it('reports failures and refusals answered by the fallback, over HTTP, in the request’s context', async () => {
    const { app: started, seen } = await app();
    await request(started.getHttpServer()).get('/price/1').expect(200, 'cached 1');
    await request(started.getHttpServer()).get('/price/2').expect(200, 'cached 2'); // trips
    await request(started.getHttpServer()).get('/price/3').expect(200, 'cached 3'); // refused
    expect(seen).toEqual([
      'prices failure answered by the fallback in GET /price/1',
      'prices failure answered by the fallback in GET /price/2',
      'prices open answered by the fallback in GET /price/3',
    ]);
  });

  it('reports failures, timeouts and refusals that reach the caller; not errors the breaker ignores', async () => {
    const { app: started, seen, events } = await app();
    const prices = started.get(Prices);
    await expect(caller.run('a', () => prices.stock('bad'))).rejects.toThrow('no such item');
    await expect(caller.run('b', () => prices.stock('1'))).rejects.toThrow('stock down');
    const slow = caller.run('c', () => prices.stock('slow'));
    clock.advance(100);
    await expect(slow).rejects.toBeInstanceOf(CircuitBreakerTimeoutError);
    await expect(caller.run('d', () => prices.stock('1'))).rejects.toBeInstanceOf(CircuitOpenError);
    expect(seen).toEqual(['stock failure to the caller in b', 'stock timeout to the caller in c', 'stock open to the caller in d']);
    expect(events[2]!.error).toBeInstanceOf(CircuitOpenError);
  });

  it('reports Observable and sync methods’ failures and refusals too', async () => {
    const { app: started, seen } = await app();
    const prices = started.get(Prices);
    for (const id of ['a', 'b', 'c']) await expect(caller.run(id, () => firstValueFrom(prices.feed()))).rejects.toThrow();
    for (const id of ['d', 'e', 'f']) expect(() => caller.run(id, () => prices.legacy())).toThrow();
    expect(seen).toEqual([
      'feed failure to the caller in a',
      'feed failure to the caller in b',
      'feed open to the caller in c',
      'legacy failure to the caller in d',
      'legacy failure to the caller in e',
      'legacy open to the caller in f',
    ]);
  });

  it('reports nothing for calls that succeed', async () => {
    const { app: started, seen } = await app();
    failing = false;
    await request(started.getHttpServer()).get('/price/1').expect(200, 'live 1');
    expect(seen).toEqual([]);
  });
});
