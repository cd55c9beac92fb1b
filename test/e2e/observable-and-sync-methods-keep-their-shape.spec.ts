import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Observable, Subject, isObservable, of, throwError } from 'rxjs';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, thrownBy, tripFast } from './helpers.js';

@Injectable()
class Feed {
  subscriptions = 0;
  source = new Subject<number>();

  @UseCircuitBreaker('feed')
  ticks(): Observable<number> {
    this.subscriptions++;
    return this.source.asObservable();
  }
}

@Injectable()
class SlowFeed {
  torndown = 0;

  @UseCircuitBreaker('slow-feed', { fallback: 'stale' })
  prices(): Observable<number> {
    return new Observable<number>(() => () => {
      this.torndown++;
    });
  }

  stale(error: unknown): Observable<number> {
    return of(error instanceof CircuitBreakerTimeoutError ? -1 : -2);
  }
}

@Injectable()
class Calculator {
  fail = false;
  calls = 0;

  @UseCircuitBreaker('calc')
  double(x: number): number {
    this.calls++;
    if (this.fail) throw new Error('calculator broken');
    return x * 2;
  }

  @UseCircuitBreaker('calc-fallback', { fallback: 'estimate' })
  triple(x: number): number {
    this.calls++;
    throw new Error('calculator broken');
  }

  estimate(x: number, _error: unknown): number {
    return x * 3 + 0.5;
  }
}

@Controller('shapes')
class ShapesController {
  failObservable = true;
  observableCalls = 0;
  syncCalls = 0;

  @Get('observable')
  @UseCircuitBreaker('observable-route')
  observable(): Observable<{ ok: boolean }> {
    this.observableCalls++;
    return this.failObservable ? throwError(() => new Error('stream failed')) : of({ ok: true });
  }

  @Get('sync')
  @UseCircuitBreaker('sync-route')
  sync(): { value: number } {
    this.syncCalls++;
    throw new Error('sync route failed');
  }
}

describe('Observable and sync methods keep their shape', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; clock: ManualClock; registry: CircuitBreakerRegistry }> {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock, ...tripFast() },
            breakers: { 'slow-feed': { timeoutMs: 2_000 } },
          }),
        ],
        controllers: [ShapesController],
        providers: [Feed, SlowFeed, Calculator],
      }),
    );
    return { app, clock, registry: app.get(CircuitBreakerRegistry) };
  }

  describe('Observable-returning provider method', () => {
    it('returns an Observable; nothing runs or is recorded until subscribe', async () => {
      const { app, registry } = await setup();
      const feed = app.get(Feed);
      const ticks$ = feed.ticks();
      expect(isObservable(ticks$)).toBe(true);
      expect(feed.subscriptions).toBe(0);
      expect(registry.get('feed').snapshot().calls).toBe(0);

      const seen: number[] = [];
      let completed = false;
      ticks$.subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
      expect(feed.subscriptions).toBe(1);
      feed.source.next(1);
      feed.source.next(2);
      expect(registry.get('feed').snapshot().calls).toBe(0);
      feed.source.complete();
      expect(seen).toEqual([1, 2]);
      expect(completed).toBe(true);
      expect(registry.get('feed').snapshot()).toMatchObject({ calls: 1, failures: 0 });
      expect(registry.get('feed').totals().successfulCalls).toBe(1);
    });

    it('an Observable that errors is a failure; two trip the breaker and the next subscribe errors with CircuitOpenError', async () => {
      const { app, registry } = await setup();
      const feed = app.get(Feed);
      const errors: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        feed.source = new Subject<number>();
        feed.ticks().subscribe({ error: (e: unknown) => errors.push(e) });
        feed.source.error(new Error(`stream ${i} broke`));
      }
      expect(errors.map((e) => (e as Error).message)).toEqual(['stream 0 broke', 'stream 1 broke']);
      expect(registry.get('feed').state).toBe('open');

      const ticks$ = feed.ticks();
      ticks$.subscribe({ error: (e: unknown) => errors.push(e) });
      expect(errors[2]).toBeInstanceOf(CircuitOpenError);
      expect(feed.subscriptions).toBe(2);
    });

    it('unsubscribing before it settles counts as neither success nor failure', async () => {
      const { app, registry } = await setup();
      const feed = app.get(Feed);
      for (let i = 0; i < 5; i++) {
        const subscription = feed.ticks().subscribe();
        feed.source.next(i);
        subscription.unsubscribe();
      }
      const breaker = registry.get('feed');
      expect(feed.subscriptions).toBe(5);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
      expect(breaker.totals()).toMatchObject({ successfulCalls: 0, failedCalls: 0 });

      // the window is untouched: two failures still trip it exactly as on a fresh breaker
      feed.ticks().subscribe({ error: () => undefined });
      feed.source.error(new Error('x'));
      feed.source = new Subject<number>();
      expect(breaker.state).toBe('closed');
      feed.ticks().subscribe({ error: () => undefined });
      feed.source.error(new Error('y'));
      expect(breaker.state).toBe('open');
    });
  });

  describe('Observable with a timeout', () => {
    it('an Observable that does not complete within timeoutMs is torn down, recorded as a timeout, and the fallback runs', async () => {
      const { app, clock, registry } = await setup();
      const feed = app.get(SlowFeed);
      const seen: number[] = [];
      let completed = false;
      feed.prices().subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
      clock.advance(1_999);
      expect(seen).toEqual([]);
      clock.advance(1);
      expect(feed.torndown).toBe(1);
      expect(seen).toEqual([-1]);
      expect(completed).toBe(true);
      expect(registry.get('slow-feed').snapshot()).toMatchObject({ calls: 1, failures: 1 });
      expect(registry.get('slow-feed').totals().timeoutCalls).toBe(1);
      expect(clock.pendingTimers).toBe(0);
    });

    it('unsubscribing clears the timeout timer', async () => {
      const { app, clock } = await setup();
      const subscription = app.get(SlowFeed).prices().subscribe();
      expect(clock.pendingTimers).toBe(1);
      subscription.unsubscribe();
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('Observable-returning route handler', () => {
    it('an erroring Observable is a 500 and a recorded failure; once open the handler is not called and the client gets 503', async () => {
      const { app, registry } = await setup();
      const controller = app.get(ShapesController);
      const server = app.getHttpServer();
      await request(server).get('/shapes/observable').expect(500);
      await request(server).get('/shapes/observable').expect(500);
      expect(registry.get('observable-route').state).toBe('open');
      const res = await request(server).get('/shapes/observable').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, breaker: 'observable-route' });
      expect(res.headers['retry-after']).toBe('10');
      expect(controller.observableCalls).toBe(2);
    });

    it('a completing Observable is a 200 and a success', async () => {
      const { app, registry } = await setup();
      app.get(ShapesController).failObservable = false;
      const res = await request(app.getHttpServer()).get('/shapes/observable').expect(200);
      expect(res.body).toEqual({ ok: true });
      expect(registry.get('observable-route').snapshot()).toMatchObject({ calls: 1, failures: 0 });
    });
  });

  describe('sync methods', () => {
    it('a sync provider method returns its value directly, not a promise', async () => {
      const { app, registry } = await setup();
      const calc = app.get(Calculator);
      const result: unknown = calc.double(21);
      expect(result).toBe(42);
      expect(result).not.toBeInstanceOf(Promise);
      expect(registry.get('calc').snapshot()).toMatchObject({ calls: 1, failures: 0 });
    });

    it('failures throw synchronously; an open circuit throws CircuitOpenError synchronously without calling the method', async () => {
      const { app, registry } = await setup();
      const calc = app.get(Calculator);
      calc.fail = true;
      expect(() => calc.double(1)).toThrow('calculator broken');
      expect(() => calc.double(1)).toThrow('calculator broken');
      expect(registry.get('calc').state).toBe('open');

      const error = thrownBy(() => calc.double(1));
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect((error as CircuitOpenError).breakerName).toBe('calc');
      expect((error as CircuitOpenError).retryAfterMs).toBe(10_000);
      expect(calc.calls).toBe(2);
    });

    it('a sync method with a fallback stays sync', async () => {
      const { app } = await setup();
      const calc = app.get(Calculator);
      const result: unknown = calc.triple(2);
      expect(result).toBe(6.5);
      expect(result).not.toBeInstanceOf(Promise);
    });

    it('a sync route handler still gets 500 then 503 over HTTP', async () => {
      const { app } = await setup();
      const server = app.getHttpServer();
      await request(server).get('/shapes/sync').expect(500);
      await request(server).get('/shapes/sync').expect(500);
      const res = await request(server).get('/shapes/sync').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', breaker: 'sync-route', retryAfterMs: 10_000 });
      expect(app.get(ShapesController).syncCalls).toBe(2);
    });
  });
});
