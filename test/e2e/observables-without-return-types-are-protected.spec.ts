/**
 * Methods returning Observables are protected whatever their declaration says: no return type
 * (HttpService style), `defer(() => throwError(...))`, a type-only `Observable` import, no design
 * metadata at all (swc/esbuild without decorator metadata), routes on Express and Fastify, and a
 * breaker shared with async methods. The value returned decides: an Observable means subscribe is
 * the call, and the method never throws synchronously nor returns a Promise, even when open.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { catchError, defer, isObservable, lastValueFrom, map, of, throwError } from 'rxjs';
import type { Observable as TypeOnlyObservable } from 'rxjs';
import request from 'supertest';
import {
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  CircuitBreakerTimeoutError,
  CircuitOpenError,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import { HttpService } from './fake-http.js';
import { Apps, errorOf, startOn, tripFast } from './helpers.js';
import type { Platform } from './helpers.js';

@Injectable()
class QuotesService {
  listCalls = 0;

  constructor(private readonly http: HttpService) {}

  @UseCircuitBreaker('quotes')
  getQuote(id: string) {
    return this.http.get(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  @UseCircuitBreaker('quotes-with-fallback', { fallback: 'cachedQuote' })
  getQuoteOrCached(id: string) {
    return this.http.get(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  cachedQuote(id: string, error: unknown) {
    return of({ id, cached: true, reason: (error as Error).name });
  }

  @UseCircuitBreaker('quotes-slow')
  getSlowQuote(id: string) {
    return this.http.get(`/slow/${id}`);
  }

  @UseCircuitBreaker('deferred')
  deferredFailure() {
    return defer(() => throwError(() => new Error('deferred failure')));
  }

  @UseCircuitBreaker('type-only')
  typeOnly(id: string): TypeOnlyObservable<unknown> {
    return this.http.get(`/type-only/${id}`);
  }

  /** An async method and an Observable method on one breaker. */
  @UseCircuitBreaker('shared')
  async list() {
    this.listCalls++;
    throw new Error('quotes list unavailable');
  }

  @UseCircuitBreaker('shared')
  getSharedQuote(id: string) {
    return this.http.get(`/shared/${id}`).pipe(map((res) => res.data));
  }
}

/** Answers from its cache synchronously, else from the service (a promise). */
@Injectable()
class CachedPrices {
  readonly cache = new Map<string, number>([['cached', 1]]);
  remoteCalls = 0;
  failing = false;

  @UseCircuitBreaker('prices')
  price(id: string) {
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    this.remoteCalls++;
    return this.failing ? Promise.reject(new Error('prices down')) : Promise.resolve(42);
  }
}

/** Written as with a compiler that emits no decorator metadata: decorators applied by hand. */
class NoMetadataClient {
  constructor(private readonly http: HttpService) {}

  fetch(id: string) {
    return this.http.get(`/no-metadata/${id}`);
  }
}
{
  const key = 'fetch';
  const descriptor = Object.getOwnPropertyDescriptor(NoMetadataClient.prototype, key)!;
  Object.defineProperty(NoMetadataClient.prototype, key, UseCircuitBreaker('no-metadata')(NoMetadataClient.prototype, key, descriptor) ?? descriptor);
  Reflect.defineMetadata('design:paramtypes', [HttpService], NoMetadataClient);
  Injectable()(NoMetadataClient);
}

@Controller('quotes')
class QuotesController {
  constructor(
    private readonly http: HttpService,
    private readonly quotes: QuotesService,
  ) {}

  @Get('shared/:id')
  @UseCircuitBreaker('shared')
  shared(@Param('id') id: string) {
    return this.http.get(`/shared/${id}`).pipe(map((res) => res.data));
  }

  @Get(':id')
  @UseCircuitBreaker('quotes-route')
  get(@Param('id') id: string) {
    return this.http.get(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  /** An undecorated route over the async method that shares the route's breaker. */
  @Get('list/all')
  async list() {
    return this.quotes.list();
  }
}

describe('Observable-returning methods without a usable return type', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(platform: Platform = 'express') {
    const clock = new ManualClock();
    const app = await startOn(apps, platform, {
      imports: [
        CircuitBreakerModule.forRoot({
          logger: false,
          defaults: { clock, ...tripFast() },
          breakers: { 'quotes-slow': { timeoutMs: 1_000 } },
        }),
      ],
      controllers: [QuotesController],
      providers: [HttpService, QuotesService, NoMetadataClient, CachedPrices],
    });
    return {
      app,
      clock,
      http: app.get(HttpService),
      quotes: app.get(QuotesService),
      registry: app.get(CircuitBreakerRegistry),
    };
  }

  async function failTwice(call: () => Promise<unknown>): Promise<void> {
    await expect(call()).rejects.toThrow();
    await expect(call()).rejects.toThrow();
  }

  it('HttpService style, no return type: errors count, the breaker opens, then subscribers get CircuitOpenError without a request', async () => {
    const { http, quotes, registry } = await setup();
    await failTwice(() => lastValueFrom(quotes.getQuote('1')));
    expect(registry.get('quotes').state).toBe('open');
    expect(registry.get('quotes').totals()).toMatchObject({ failedCalls: 2, successfulCalls: 0 });

    const quote$ = quotes.getQuote('1'); // no synchronous throw while open
    expect(isObservable(quote$)).toBe(true);
    expect(quote$).not.toBeInstanceOf(Promise);
    const seen = await lastValueFrom(quote$.pipe(catchError((error: unknown) => of(error))));
    expect(seen).toBeInstanceOf(CircuitOpenError);
    expect((seen as CircuitOpenError).breakerName).toBe('quotes');
    expect(http.requests).toEqual(['/quotes/1', '/quotes/1']);
  });

  it('the subscription is the call: calling the method records nothing until subscribe, and a success is recorded at completion', async () => {
    const { http, quotes, registry } = await setup();
    http.mode = 'ok';
    const quote$ = quotes.getQuote('7');
    expect(registry.get('quotes').snapshot().calls).toBe(0);
    expect(http.requests).toEqual([]);
    await expect(lastValueFrom(quote$)).resolves.toEqual({ url: '/quotes/7' });
    await expect(lastValueFrom(quotes.getQuote('8'))).resolves.toEqual({ url: '/quotes/8' });
    expect(registry.get('quotes').snapshot()).toMatchObject({ calls: 2, failures: 0 });
    // the permit taken to call the method the first time (to learn its shape) was given back
    expect(registry.get('quotes').totals()).toMatchObject({ successfulCalls: 2, ignoredCalls: 1 });
  });

  it('the fallback runs for failures and for the open circuit', async () => {
    const { http, quotes, registry } = await setup();
    await expect(lastValueFrom(quotes.getQuoteOrCached('1'))).resolves.toEqual({ id: '1', cached: true, reason: 'Error' });
    await expect(lastValueFrom(quotes.getQuoteOrCached('2'))).resolves.toEqual({ id: '2', cached: true, reason: 'Error' });
    expect(registry.get('quotes-with-fallback').state).toBe('open');
    await expect(lastValueFrom(quotes.getQuoteOrCached('3'))).resolves.toEqual({ id: '3', cached: true, reason: 'CircuitOpenError' });
    expect(http.requests).toHaveLength(2);
  });

  it('timeoutMs applies: the request is aborted and the call recorded as a timeout', async () => {
    const { clock, http, quotes, registry } = await setup();
    http.mode = 'hang';
    const outcome = errorOf(lastValueFrom(quotes.getSlowQuote('1')));
    clock.advance(999);
    expect(http.aborted).toBe(0);
    clock.advance(1);
    expect(await outcome).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(http.aborted).toBe(1);
    expect(registry.get('quotes-slow').totals().timeoutCalls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('defer(() => throwError(...)) is a failure', async () => {
    const { quotes, registry } = await setup();
    await failTwice(() => lastValueFrom(quotes.deferredFailure()));
    expect(registry.get('deferred').state).toBe('open');
    expect(await errorOf(lastValueFrom(quotes.deferredFailure()))).toBeInstanceOf(CircuitOpenError);
  });

  it('a type-only Observable import (design:returntype is Object) is protected the same way', async () => {
    const { http, quotes, registry } = await setup();
    expect(Reflect.getMetadata('design:returntype', QuotesService.prototype, 'typeOnly')).toBe(Object);
    await failTwice(() => lastValueFrom(quotes.typeOnly('1')));
    expect(registry.get('type-only').state).toBe('open');
    expect(await errorOf(lastValueFrom(quotes.typeOnly('1')))).toBeInstanceOf(CircuitOpenError);
    expect(http.requests).toHaveLength(2);
  });

  it('a class compiled without decorator metadata is protected the same way', async () => {
    const { app, http, registry } = await setup();
    expect(Reflect.getMetadata('design:returntype', NoMetadataClient.prototype, 'fetch')).toBeUndefined();
    const client = app.get(NoMetadataClient);
    await failTwice(() => lastValueFrom(client.fetch('1')));
    expect(registry.get('no-metadata').state).toBe('open');
    expect(await errorOf(lastValueFrom(client.fetch('1')))).toBeInstanceOf(CircuitOpenError);
    expect(http.requests).toHaveLength(2);
  });

  it('a method answering a value or a promise: each answer keeps its own shape and is recorded', async () => {
    const { app, registry } = await setup();
    const prices = app.get(CachedPrices);
    expect(prices.price('cached')).toBe(1);
    await expect(prices.price('fresh')).resolves.toBe(42);
    expect(await prices.price('cached')).toBe(1);
    prices.failing = true;
    await expect(prices.price('fresh')).rejects.toThrow('prices down');
    expect(registry.get('prices').snapshot()).toMatchObject({ calls: 4, failures: 1 });
  });

  describe('on a breaker shared with an async method', () => {
    it('opened by the async method, an Observable method never called before returns an Observable that errors: no throw, no Promise', async () => {
      const { http, quotes, registry } = await setup();
      await failTwice(() => quotes.list());
      expect(registry.get('shared').state).toBe('open');

      let quote$: unknown;
      expect(() => (quote$ = quotes.getSharedQuote('1'))).not.toThrow();
      expect(isObservable(quote$)).toBe(true);
      expect(quote$).not.toBeInstanceOf(Promise);
      const seen = await lastValueFrom((quote$ as TypeOnlyObservable<unknown>).pipe(catchError((error: unknown) => of(error))));
      expect(seen).toBeInstanceOf(CircuitOpenError);
      expect(http.requests).toEqual([]);
    });

    it('once the Observable method has run, an open circuit still reaches it as an error notification', async () => {
      const { http, quotes, registry } = await setup();
      http.mode = 'ok';
      await lastValueFrom(quotes.getSharedQuote('1'));
      await failTwice(() => quotes.list());
      expect(registry.get('shared').state).toBe('open');
      expect(isObservable(quotes.getSharedQuote('2'))).toBe(true);
      await expect(lastValueFrom(quotes.getSharedQuote('2').pipe(catchError((e: unknown) => of((e as Error).name))))).resolves.toBe('CircuitOpenError');
      // the async method keeps rejecting as a promise
      await expect(quotes.list()).rejects.toBeInstanceOf(CircuitOpenError);
      expect(http.requests).toEqual(['/shared/1']);
    });

    it('the refusal of a never-called method can also be awaited: it rejects with CircuitOpenError', async () => {
      const { quotes } = await setup();
      await failTwice(() => quotes.list());
      await expect(Promise.resolve(quotes.getSharedQuote('1') as unknown)).rejects.toBeInstanceOf(CircuitOpenError);
    });

    it('the refusal of a never-called method that nobody consumes raises no unhandled rejection', async () => {
      const { quotes } = await setup();
      await failTwice(() => quotes.list());
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        quotes.getSharedQuote('1');
        await new Promise<void>((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).toEqual([]);
    });
  });

  describe.each(['express', 'fastify'] as const)('routes returning such Observables (%s)', (platform) => {
    async function serve() {
      const ctx = await setup(platform);
      return { ...ctx, server: ctx.app.getHttpServer() as Parameters<typeof request>[0] };
    }

    it('a failing upstream is a 500 and a recorded failure; once open the route answers 503 without a request', async () => {
      const { http, registry, server } = await serve();
      await request(server).get('/quotes/1').expect(500);
      await request(server).get('/quotes/1').expect(500);
      expect(registry.get('quotes-route').state).toBe('open');
      const res = await request(server).get('/quotes/1').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, breaker: 'quotes-route', retryAfterMs: 10_000 });
      expect(res.headers['retry-after']).toBe('10');
      expect(http.requests).toEqual(['/quotes/1', '/quotes/1']);
    });

    it('a healthy upstream is a 200 and a success', async () => {
      const { http, registry, server } = await serve();
      http.mode = 'ok';
      await request(server).get('/quotes/5').expect(200, { url: '/quotes/5' });
      expect(registry.get('quotes-route').snapshot()).toMatchObject({ calls: 1, failures: 0 });
    });

    it('a route whose breaker an async method opened answers 503 on its very first request', async () => {
      const { http, registry, server } = await serve();
      await request(server).get('/quotes/list/all').expect(500);
      await request(server).get('/quotes/list/all').expect(500);
      expect(registry.get('shared').state).toBe('open');
      const res = await request(server).get('/quotes/shared/1').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, breaker: 'shared' });
      expect(http.requests).toEqual([]);
    });
  });
});
