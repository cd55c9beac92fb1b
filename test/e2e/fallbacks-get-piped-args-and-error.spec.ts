import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { BadGatewayException, BadRequestException, Controller, Get, Injectable, Param, ParseIntPipe, Query } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  CircuitBreakerTimeoutError,
  CircuitOpenError,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import { Apps, errorOf, flushMicrotasks, startApp, tripFast, until } from './helpers.js';

type Mode = 'ok' | 'fail' | 'bad-request' | 'hang';

interface FallbackCall {
  args: unknown[];
  error: unknown;
}

@Controller('prices')
class PricesController {
  mode: Mode = 'fail';
  handlerCalls = 0;
  fallbackCalls: FallbackCall[] = [];
  throwingFallbackCalls = 0;

  @Get('strict/:id')
  @UseCircuitBreaker('strict-prices', { fallback: 'noCache' })
  async strictPrice(@Param('id', ParseIntPipe) id: number): Promise<{ id: number }> {
    this.handlerCalls++;
    if (this.mode === 'fail') throw new Error('pricing backend down');
    return { id };
  }

  @Get(':id')
  @UseCircuitBreaker('prices', { fallback: 'cachedPrice' })
  async price(@Param('id', ParseIntPipe) id: number, @Query('currency') currency: string): Promise<{ id: number; price: number; source: string }> {
    this.handlerCalls++;
    if (this.mode === 'fail') throw new Error('pricing backend down');
    if (this.mode === 'bad-request') throw new BadRequestException('unknown currency');
    if (this.mode === 'hang') return new Promise(() => undefined);
    return { id, price: 10, source: 'live' };
  }

  cachedPrice(id: number, currency: string, error: unknown): { id: number; price: number; source: string; reason: string } {
    this.fallbackCalls.push({ args: [id, currency], error });
    return { id, price: 9, source: `cache:${currency}`, reason: error instanceof Error ? error.name : String(error) };
  }

  noCache(id: number, error: unknown): never {
    this.throwingFallbackCalls++;
    if (error instanceof CircuitOpenError) throw error;
    throw new BadGatewayException(`no cached price for ${id}`);
  }
}

@Injectable()
class StockClient {
  mode: Mode = 'fail';
  calls = 0;
  cacheHits: FallbackCall[] = [];

  @UseCircuitBreaker('stock', { fallback: 'fromCache' })
  async stock(sku: string, warehouse: number): Promise<string> {
    this.calls++;
    if (this.mode === 'fail') throw new Error('stock service down');
    if (this.mode === 'bad-request') throw new BadRequestException('bad sku');
    if (this.mode === 'hang') return new Promise<string>(() => undefined);
    return `live:${sku}@${warehouse}`;
  }

  fromCache(sku: string, warehouse: number, error: unknown): string {
    this.cacheHits.push({ args: [sku, warehouse], error });
    return `cache:${sku}@${warehouse}`;
  }
}

const catalogFallbackCalls: FallbackCall[] = [];
function catalogFallback(sku: string, error: unknown): string {
  catalogFallbackCalls.push({ args: [sku], error });
  return `default description of ${sku}`;
}

@Injectable()
class CatalogClient {
  fail = true;
  calls = 0;

  @UseCircuitBreaker('catalog', { fallback: catalogFallback })
  async describe(sku: string): Promise<string> {
    this.calls++;
    if (this.fail) throw new Error('catalog down');
    return `live description of ${sku}`;
  }

  @UseCircuitBreaker('catalog-prices', { fallback: 'explode' })
  async price(sku: string): Promise<number> {
    this.calls++;
    throw new Error(`no price for ${sku}`);
  }

  explode(sku: string, error: unknown): never {
    throw new Error(`fallback failed for ${sku} after ${(error as Error).message}`);
  }
}

@Injectable()
class StatusClient {
  fallbackCalls = 0;

  @UseCircuitBreaker('status', { fallback: 'cached' })
  async status(): Promise<{ code: number }> {
    return { code: 503 };
  }

  cached(): { code: number } {
    this.fallbackCalls++;
    return { code: 200 };
  }
}

describe('fallbacks', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; clock: ManualClock; registry: CircuitBreakerRegistry }> {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock },
            breakers: {
              prices: tripFast({ timeoutMs: 1_000 }),
              'strict-prices': tripFast(),
              stock: tripFast({ timeoutMs: 1_000 }),
              catalog: tripFast(),
              'catalog-prices': tripFast({ minimumCalls: 3 }),
              status: tripFast({ minimumCalls: 3, isResultFailure: (r) => (r as { code: number }).code >= 500 }),
            },
          }),
        ],
        controllers: [PricesController],
        providers: [StockClient, CatalogClient, StatusClient],
      }),
    );
    catalogFallbackCalls.length = 0;
    return { app, clock, registry: app.get(CircuitBreakerRegistry) };
  }

  describe('on a controller method', () => {
    it('receives the arguments after pipes (ParseIntPipe gives a number) followed by the error of a recorded failure', async () => {
      const { app, registry } = await setup();
      const controller = app.get(PricesController);
      const res = await request(app.getHttpServer()).get('/prices/17?currency=EUR').expect(200);
      expect(res.body).toEqual({ id: 17, price: 9, source: 'cache:EUR', reason: 'Error' });
      expect(controller.fallbackCalls).toHaveLength(1);
      const call = controller.fallbackCalls[0]!;
      expect(call.args).toEqual([17, 'EUR']);
      expect(typeof call.args[0]).toBe('number');
      expect(call.error).toBeInstanceOf(Error);
      expect((call.error as Error).message).toBe('pricing backend down');
      expect(registry.get('prices').snapshot()).toMatchObject({ calls: 1, failures: 1 });
    });

    it('runs on an open circuit with the CircuitOpenError, without calling the handler', async () => {
      const { app, registry } = await setup();
      const controller = app.get(PricesController);
      const server = app.getHttpServer();
      await request(server).get('/prices/1?currency=EUR').expect(200);
      await request(server).get('/prices/1?currency=EUR').expect(200);
      expect(registry.get('prices').state).toBe('open');
      expect(controller.handlerCalls).toBe(2);

      const res = await request(server).get('/prices/5?currency=USD').expect(200);
      expect(res.body).toEqual({ id: 5, price: 9, source: 'cache:USD', reason: 'CircuitOpenError' });
      expect(res.headers['retry-after']).toBeUndefined();
      expect(controller.handlerCalls).toBe(2);
      const last = controller.fallbackCalls.at(-1)!;
      expect(last.args).toEqual([5, 'USD']);
      expect(last.error).toBeInstanceOf(CircuitOpenError);
      expect((last.error as CircuitOpenError).breakerName).toBe('prices');
    });

    it('runs on a timeout with the CircuitBreakerTimeoutError', async () => {
      const { app, clock, registry } = await setup();
      const controller = app.get(PricesController);
      controller.mode = 'hang';
      const pending = request(app.getHttpServer()).get('/prices/3?currency=GBP').then((r) => r);
      await until(() => controller.handlerCalls === 1, 'the handler to run');
      clock.advance(1_000);
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: 3, price: 9, source: 'cache:GBP', reason: 'CircuitBreakerTimeoutError' });
      expect(controller.fallbackCalls[0]!.error).toBeInstanceOf(CircuitBreakerTimeoutError);
      expect(registry.get('prices').snapshot()).toMatchObject({ calls: 1, failures: 1 });
    });

    it('an ignored error (BadRequestException) reaches the client as 400, skips the fallback and is not recorded', async () => {
      const { app, registry } = await setup();
      const controller = app.get(PricesController);
      controller.mode = 'bad-request';
      const server = app.getHttpServer();
      for (let i = 0; i < 3; i++) {
        const res = await request(server).get('/prices/1?currency=XXX').expect(400);
        expect(res.body).toMatchObject({ statusCode: 400, message: 'unknown currency' });
      }
      expect(controller.fallbackCalls).toHaveLength(0);
      expect(registry.get('prices').snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
      expect(registry.get('prices').totals().ignoredCalls).toBe(3);
    });

    it('a pipe that rejects the input (400) never reaches the breaker', async () => {
      const { app, registry } = await setup();
      const controller = app.get(PricesController);
      await request(app.getHttpServer()).get('/prices/not-a-number?currency=EUR').expect(400);
      expect(controller.handlerCalls).toBe(0);
      expect(controller.fallbackCalls).toHaveLength(0);
      expect(registry.get('prices').snapshot().calls).toBe(0);
    });

    it('a fallback that throws: its own error reaches the client and is not recorded as another failure', async () => {
      const { app, registry } = await setup();
      const controller = app.get(PricesController);
      const server = app.getHttpServer();
      const breaker = registry.get('strict-prices');

      // a 502 would count as a failure if the breaker recorded it
      const res = await request(server).get('/prices/strict/4').expect(502);
      expect(res.body).toMatchObject({ statusCode: 502, message: 'no cached price for 4' });
      expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1 });
      expect(breaker.totals().failedCalls).toBe(1);

      await request(server).get('/prices/strict/4').expect(502);
      expect(breaker.state).toBe('open');
      expect(breaker.totals().failedCalls).toBe(2);

      // the fallback rethrows the CircuitOpenError it receives: still mapped to 503
      const open = await request(server).get('/prices/strict/4').expect(503);
      expect(open.body).toMatchObject({ statusCode: 503, breaker: 'strict-prices' });
      expect(open.headers['retry-after']).toBe('10');
      expect(controller.throwingFallbackCalls).toBe(3);
      expect(breaker.totals()).toMatchObject({ failedCalls: 2, notPermittedCalls: 1 });
    });
  });

  describe('on a provider method', () => {
    it('method-name fallback: gets the arguments and the error on a recorded failure, on open and on timeout', async () => {
      const { app, clock, registry } = await setup();
      const client = app.get(StockClient);

      await expect(client.stock('sku-1', 3)).resolves.toBe('cache:sku-1@3');
      expect(client.cacheHits[0]!.args).toEqual(['sku-1', 3]);
      expect((client.cacheHits[0]!.error as Error).message).toBe('stock service down');

      await expect(client.stock('sku-2', 4)).resolves.toBe('cache:sku-2@4');
      expect(registry.get('stock').state).toBe('open');
      await expect(client.stock('sku-3', 5)).resolves.toBe('cache:sku-3@5');
      expect(client.calls).toBe(2);
      expect(client.cacheHits[2]!.error).toBeInstanceOf(CircuitOpenError);

      clock.advance(10_000);
      client.mode = 'hang';
      const pending = client.stock('sku-4', 6);
      await flushMicrotasks();
      expect(client.calls).toBe(3);
      clock.advance(1_000);
      await expect(pending).resolves.toBe('cache:sku-4@6');
      expect(client.cacheHits[3]!.error).toBeInstanceOf(CircuitBreakerTimeoutError);
      expect(registry.get('stock').state).toBe('open');

      clock.advance(10_000);
      client.mode = 'ok';
      await expect(client.stock('sku-5', 7)).resolves.toBe('live:sku-5@7');
      expect(registry.get('stock').state).toBe('closed');
      expect(client.cacheHits).toHaveLength(4);
    });

    it('method-name fallback: an ignored error propagates untouched and is not recorded', async () => {
      const { app, registry } = await setup();
      const client = app.get(StockClient);
      client.mode = 'bad-request';
      const error = await errorOf(client.stock('sku', 1));
      expect(error).toBeInstanceOf(BadRequestException);
      expect(client.cacheHits).toHaveLength(0);
      expect(registry.get('stock').snapshot()).toMatchObject({ calls: 0, failures: 0 });
    });

    it('a result flagged by isResultFailure is recorded as a failure and still returned: no fallback runs', async () => {
      const { app, registry } = await setup();
      const client = app.get(StatusClient);
      await expect(client.status()).resolves.toEqual({ code: 503 });
      expect(client.fallbackCalls).toBe(0);
      expect(registry.get('status').snapshot()).toMatchObject({ calls: 1, failures: 1 });
    });

    it('function fallback: gets the arguments and the error, on failures and on open', async () => {
      const { app, registry } = await setup();
      const client = app.get(CatalogClient);
      await expect(client.describe('a')).resolves.toBe('default description of a');
      await expect(client.describe('b')).resolves.toBe('default description of b');
      expect(registry.get('catalog').state).toBe('open');
      await expect(client.describe('c')).resolves.toBe('default description of c');
      expect(client.calls).toBe(2);
      expect(catalogFallbackCalls.map((c) => c.args)).toEqual([['a'], ['b'], ['c']]);
      expect((catalogFallbackCalls[0]!.error as Error).message).toBe('catalog down');
      expect(catalogFallbackCalls[2]!.error).toBeInstanceOf(CircuitOpenError);
    });

    it('a fallback that throws: its error propagates and only the original failure is recorded', async () => {
      const { app, registry } = await setup();
      const client = app.get(CatalogClient);
      const error = await errorOf(client.price('x'));
      expect((error as Error).message).toBe('fallback failed for x after no price for x');
      const breaker = registry.get('catalog-prices');
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, failures: 1 });
      expect(breaker.totals()).toMatchObject({ failedCalls: 1, successfulCalls: 0, ignoredCalls: 0 });
    });
  });
});
