import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, tripFast, until } from './helpers.js';

@Injectable()
class QuoteSource {
  healthy = false;
  hangNext = false;
  calls = 0;
  hung = 0;

  async quote(id: string): Promise<{ id: string; price: number }> {
    this.calls++;
    if (this.hangNext) return new Promise(() => undefined);
    if (!this.healthy) throw new Error('quote backend down');
    return { id, price: 42 };
  }
}

@Controller('quotes')
class QuotesController {
  constructor(private readonly source: QuoteSource) {}

  @Get('hang')
  @UseCircuitBreaker('slow')
  hang(): Promise<string> {
    this.source.hung++;
    return new Promise<string>(() => undefined);
  }

  @Get(':id')
  @UseCircuitBreaker('quotes')
  async get(@Param('id') id: string): Promise<{ id: string; price: number }> {
    return this.source.quote(id);
  }
}

describe('HTTP: trip -> 503 with Retry-After -> half_open -> closed; timeout -> 504', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; clock: ManualClock; source: QuoteSource; registry: CircuitBreakerRegistry }> {
    const clock = new ManualClock(1_000_000);
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock },
            breakers: { quotes: tripFast({ halfOpenMaxCalls: 2 }), slow: { timeoutMs: 2_000 } },
          }),
        ],
        controllers: [QuotesController],
        providers: [QuoteSource],
      }),
    );
    return { app, clock, source: app.get(QuoteSource), registry: app.get(CircuitBreakerRegistry) };
  }

  it('failures reach the client as 500 until the breaker trips, then 503 without calling the handler', async () => {
    const { app, source, registry } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/quotes/1').expect(500);
    expect(registry.get('quotes').state).toBe('closed');
    await request(server).get('/quotes/1').expect(500);
    expect(registry.get('quotes').state).toBe('open');
    expect(source.calls).toBe(2);

    const res = await request(server).get('/quotes/1').expect(503);
    expect(source.calls).toBe(2);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringContaining('quotes'),
      breaker: 'quotes',
      retryAfterMs: 10_000,
    });
    expect(res.headers['retry-after']).toBe('10');
  });

  it('Retry-After is the time left in whole seconds, rounded up, and matches retryAfterMs', async () => {
    const { app, clock } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/quotes/1').expect(500);
    await request(server).get('/quotes/1').expect(500);

    clock.advance(2_500);
    let res = await request(server).get('/quotes/1').expect(503);
    expect(res.body.retryAfterMs).toBe(7_500);
    expect(res.headers['retry-after']).toBe('8');

    clock.advance(7_499);
    res = await request(server).get('/quotes/1').expect(503);
    expect(res.body.retryAfterMs).toBe(1);
    expect(res.headers['retry-after']).toBe('1');
  });

  it('after openDurationMs the next request is a trial (half_open); enough successes close the circuit', async () => {
    const { app, clock, source, registry } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/quotes/1').expect(500);
    await request(server).get('/quotes/1').expect(500);
    const breaker = registry.get('quotes');
    expect(breaker.state).toBe('open');

    clock.advance(9_999);
    await request(server).get('/quotes/1').expect(503);
    clock.advance(1);
    source.healthy = true;

    const first = await request(server).get('/quotes/7').expect(200);
    expect(first.body).toEqual({ id: '7', price: 42 });
    expect(first.headers['retry-after']).toBeUndefined();
    expect(breaker.state).toBe('half_open');

    await request(server).get('/quotes/8').expect(200);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().calls).toBe(0);
    await request(server).get('/quotes/9').expect(200);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, failures: 0 });
  });

  it('a failed trial re-opens the circuit and the 503s come back', async () => {
    const { app, clock, source, registry } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/quotes/1').expect(500);
    await request(server).get('/quotes/1').expect(500);
    clock.advance(10_000);

    await request(server).get('/quotes/1').expect(500);
    expect(source.calls).toBe(3);
    expect(registry.get('quotes').state).toBe('open');
    const res = await request(server).get('/quotes/1').expect(503);
    expect(res.headers['retry-after']).toBe('10');
    expect(source.calls).toBe(3);
  });

  it('half_open with every trial slot taken: 503 whose Retry-After is the time left on the oldest trial probe', async () => {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock },
            // probe timeout = call timeout: the probe timer, armed first, fires first
            breakers: { quotes: tripFast({ openDurationMs: 10_000, halfOpenProbeTimeoutMs: 6_000, timeoutMs: 6_000 }) },
          }),
        ],
        controllers: [QuotesController],
        providers: [QuoteSource],
      }),
    );
    const server = app.getHttpServer();
    const source = app.get(QuoteSource);
    await request(server).get('/quotes/1').expect(500);
    await request(server).get('/quotes/1').expect(500);
    clock.advance(10_000);

    source.hangNext = true;
    const trial = request(server).get('/quotes/2').then((r) => r);
    await until(() => source.calls === 3, 'the trial to reach the dependency');
    expect(app.get(CircuitBreakerRegistry).get('quotes').state).toBe('half_open');

    clock.advance(1_500);
    const res = await request(server).get('/quotes/3').expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, breaker: 'quotes', retryAfterMs: 4_500 });
    expect(res.headers['retry-after']).toBe('5');
    expect(source.calls).toBe(3);

    // the hung probe times out: counted as a failure, the circuit re-opens
    clock.advance(4_500);
    const breaker = app.get(CircuitBreakerRegistry).get('quotes');
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().retryAfterMs).toBe(10_000);

    // its own timeout still answers the caller (504); that late outcome does not count again
    clock.advance(2_000);
    expect((await trial).status).toBe(504);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().retryAfterMs).toBe(8_000);
  });

  it('a handler whose promise never settles gets 504 once the clock passes timeoutMs, recorded as a failure', async () => {
    const { app, clock, source, registry } = await setup();
    const pending = request(app.getHttpServer()).get('/quotes/hang').then((r) => r);
    await until(() => source.hung === 1, 'the request to reach the handler');

    clock.advance(1_999);
    let settled = false;
    void pending.then(() => (settled = true));
    await until(() => true);
    expect(settled).toBe(false);

    clock.advance(1);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ statusCode: 504, error: 'Gateway Timeout', breaker: 'slow', timeoutMs: 2_000 });
    expect(res.body.message).toContain('slow');
    expect(registry.get('slow').snapshot()).toMatchObject({ calls: 1, failures: 1 });
    expect(registry.get('slow').totals().timeoutCalls).toBe(1);
  });
});
