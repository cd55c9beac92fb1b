/**
 * A method with no return-type hint whose breaker is open before its first call (forced open by an
 * operator, opened by a peer through a store, or by another method sharing it) cannot show its
 * shape. With a fallback, its answer must work both as an Observable and as a promise: a route
 * written `this.quotes.quote(id).pipe(map(...))` answers 200 with the fallback's value, and a caller
 * that awaits gets the same value, whether the fallback returns a value, a promise or an Observable.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { catchError, isObservable, lastValueFrom, map, of } from 'rxjs';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { HttpService } from './fake-http.js';
import { Apps, errorOf, startOn, tripFast } from './helpers.js';
import type { Platform } from './helpers.js';

interface Quote {
  id: string;
  price: number;
  source: string;
}

@Injectable()
class QuotesService {
  fallbackRuns = 0;

  constructor(private readonly http: HttpService) {}

  @UseCircuitBreaker('quotes', { fallback: 'cachedQuote' })
  quote(id: string) {
    return this.http.get<Quote>(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  cachedQuote(id: string): Quote {
    this.fallbackRuns++;
    return { id, price: 1, source: 'cache' };
  }

  @UseCircuitBreaker('quotes-promise-fallback', { fallback: 'quoteFromStore' })
  quoteViaPromiseFallback(id: string) {
    return this.http.get<Quote>(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  async quoteFromStore(id: string): Promise<Quote> {
    return { id, price: 2, source: 'store' };
  }

  @UseCircuitBreaker('quotes-observable-fallback', { fallback: 'quoteFromMirror' })
  quoteViaObservableFallback(id: string) {
    return this.http.get<Quote>(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  quoteFromMirror(id: string) {
    return of({ id, price: 3, source: 'stale' }, { id, price: 4, source: 'mirror' });
  }

  @UseCircuitBreaker('quotes-throwing-fallback', { fallback: 'noQuote' })
  quoteViaThrowingFallback(id: string) {
    return this.http.get<Quote>(`/quotes/${id}`).pipe(map((res) => res.data));
  }

  noQuote(_id: string, error: unknown): never {
    throw error;
  }
}

/** Routes as users write them: the provider's Observable piped, no decorator on the route. */
@Controller('quotes')
class QuotesController {
  constructor(private readonly quotes: QuotesService) {}

  @Get(':id')
  get(@Param('id') id: string) {
    return this.quotes.quote(id).pipe(map((q) => ({ ...q, price: q.price * 100 })));
  }

  @Get(':id/awaited')
  async awaited(@Param('id') id: string) {
    // a caller treating the method as a promise (as code written for an async client would)
    const quote = await (this.quotes.quote(id) as unknown as Promise<Quote>);
    return { price: quote.price, source: quote.source };
  }
}

describe('a refusal before the first call, with a fallback, serves Observable and promise callers alike', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(platform: Platform = 'express') {
    const clock = new ManualClock();
    const app = await startOn(apps, platform, {
      imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast() } })],
      controllers: [QuotesController],
      providers: [HttpService, QuotesService],
    });
    const registry = app.get(CircuitBreakerRegistry);
    return { app, http: app.get(HttpService), quotes: app.get(QuotesService), registry };
  }

  describe.each(['express', 'fastify'] as const)('over HTTP (%s)', (platform) => {
    it('a route piping the method answers 200 with the fallback value mapped, without a request upstream', async () => {
      const { app, http, registry, quotes } = await setup(platform);
      registry.get('quotes').forceOpen(); // an operator, before the method ever ran in this process
      const server = app.getHttpServer() as Parameters<typeof request>[0];
      await request(server).get('/quotes/7').expect(200, { id: '7', price: 100, source: 'cache' });
      await request(server).get('/quotes/8/awaited').expect(200, { price: 1, source: 'cache' });
      expect(quotes.fallbackRuns).toBe(2);
      expect(http.requests).toEqual([]);
    });
  });

  it('a plain fallback value: pipe() sees it, await sees it', async () => {
    const { quotes, registry } = await setup();
    registry.get('quotes').forceOpen();
    const quote$ = quotes.quote('1');
    expect(isObservable(quote$)).toBe(true);
    await expect(lastValueFrom(quote$.pipe(map((q) => q.source)))).resolves.toBe('cache');
    await expect(quotes.quote('2')).resolves.toEqual({ id: '2', price: 1, source: 'cache' });
  });

  it('a fallback returning a promise: the Observable emits what it resolves to, await gets it', async () => {
    const { quotes, registry } = await setup();
    registry.get('quotes-promise-fallback').forceOpen();
    await expect(lastValueFrom(quotes.quoteViaPromiseFallback('1').pipe(map((q) => q.source)))).resolves.toBe('store');
    await expect(quotes.quoteViaPromiseFallback('2')).resolves.toEqual({ id: '2', price: 2, source: 'store' });
  });

  it('a fallback returning an Observable: subscribers get each of its values, await gets the last', async () => {
    const { quotes, registry } = await setup();
    registry.get('quotes-observable-fallback').forceOpen();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      quotes.quoteViaObservableFallback('1').subscribe({ next: (q) => seen.push(q.source), error: reject, complete: resolve });
    });
    expect(seen).toEqual(['stale', 'mirror']);
    await expect(quotes.quoteViaObservableFallback('2')).resolves.toEqual({ id: '2', price: 4, source: 'mirror' });
  });

  it('a fallback that throws: subscribers get its error, await rejects with it, nothing throws synchronously', async () => {
    const { quotes, registry } = await setup();
    registry.get('quotes-throwing-fallback').forceOpen();
    let quote$: ReturnType<QuotesService['quoteViaThrowingFallback']> | undefined;
    expect(() => (quote$ = quotes.quoteViaThrowingFallback('1'))).not.toThrow();
    const seen = await lastValueFrom(quote$!.pipe(catchError((error: unknown) => of(error))));
    expect(seen).toBeInstanceOf(CircuitOpenError);
    expect(await errorOf(Promise.resolve(quotes.quoteViaThrowingFallback('2')))).toBeInstanceOf(CircuitOpenError);
  });

  it('once the circuit admits calls again, the method is learned as an Observable method as usual', async () => {
    const { http, quotes, registry } = await setup();
    registry.get('quotes').forceOpen();
    await expect(lastValueFrom(quotes.quote('1'))).resolves.toMatchObject({ source: 'cache' });
    registry.get('quotes').reset();
    http.mode = 'ok';
    const quote$ = quotes.quote('5');
    expect(http.requests).toEqual([]); // nothing happens until subscribe
    await expect(lastValueFrom(quote$)).resolves.toEqual({ url: '/quotes/5' });
    expect(registry.get('quotes').totals()).toMatchObject({ successfulCalls: 1 });
  });
});
