/**
 * The nested-call exemption (a call through a breaker made while a call through the same breaker
 * is in progress in the same async context runs directly) ends when the outer call settles: work
 * the decorated method scheduled for later (timers, listeners on resources it created, intervals)
 * inherits the async context but is protected and recorded, also while the breaker is forced open.
 * Observable subscriptions get the exemption too, decided at subscribe time.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitterAsyncResource } from 'node:events';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { lastValueFrom, map } from 'rxjs';
import type { Observable } from 'rxjs';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { HttpService } from './fake-http.js';
import { Apps, errorOf, startApp, tripFast, until } from './helpers.js';

/** Intervals the apps started, cleared after each test. */
const pollers = new Set<ReturnType<typeof setInterval>>();

@Injectable()
class InventoryClient {
  reservations = 0;
  later: unknown[] = [];
  feed: EventEmitterAsyncResource | undefined;
  poller: ReturnType<typeof setInterval> | undefined;
  polls = 0;
  stock$: Observable<unknown> | undefined;

  constructor(private readonly http: HttpService) {}

  @UseCircuitBreaker('inventory')
  async reserve(item: string) {
    this.reservations++;
    return { reserved: item };
  }

  /** Reserves now (nested: one call) and schedules a re-check for later. */
  @UseCircuitBreaker('inventory')
  async order(item: string) {
    const reservation = await this.reserve(item);
    setTimeout(() => {
      this.reserve(`${item} (re-check)`).then(
        (value) => this.later.push(value),
        (error: unknown) => this.later.push(error),
      );
    }, 0);
    return reservation;
  }

  /** Subscribes to restock events; its listeners run in this call's async context. */
  @UseCircuitBreaker('inventory')
  async watchRestocks() {
    const feed = new EventEmitterAsyncResource({ name: 'restock-feed' });
    feed.on('restock', (item: string) => {
      this.reserve(item).then(
        (value) => this.later.push(value),
        (error: unknown) => this.later.push(error),
      );
    });
    this.feed = feed;
    return 'watching';
  }

  @UseCircuitBreaker('inventory')
  async startPolling() {
    this.poller = setInterval(() => {
      this.poll().then(
        (value) => this.later.push(value),
        (error: unknown) => this.later.push(error),
      );
    }, 1);
    pollers.add(this.poller);
    return 'polling';
  }

  @UseCircuitBreaker('inventory')
  async poll() {
    this.polls++;
    return this.polls;
  }

  /** An Observable method on the same breaker. */
  @UseCircuitBreaker('inventory')
  stock(item: string) {
    return this.http.get(`/stock/${item}`).pipe(map((res) => res.data));
  }

  /** Keeps an Observable made during this call, to be subscribed after it settled. */
  @UseCircuitBreaker('inventory')
  async prepareStock(item: string) {
    this.stock$ = this.stock(item);
    return 'prepared';
  }

  /** Subscribes to an Observable method on the same breaker while this call is in progress. */
  @UseCircuitBreaker('inventory')
  async stockNow(item: string) {
    return lastValueFrom(this.stock(item));
  }
}

@Controller('stock')
class StockController {
  constructor(private readonly inventory: InventoryClient) {}

  /** A decorated Observable route over a decorated Observable provider method on one breaker. */
  @Get(':item')
  @UseCircuitBreaker('inventory')
  get(@Param('item') item: string) {
    return this.inventory.stock(item);
  }
}

describe('the nested-call exemption ends when the outer call settles', () => {
  const apps = new Apps();
  afterEach(async () => {
    for (const poller of pollers) clearInterval(poller);
    pollers.clear();
    await apps.closeAll();
  });

  async function setup() {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast({ minimumCalls: 4 }) } })],
        controllers: [StockController],
        providers: [HttpService, InventoryClient],
      }),
    );
    const registry = app.get(CircuitBreakerRegistry);
    return { app, http: app.get(HttpService), inventory: app.get(InventoryClient), breaker: registry.get('inventory') };
  }

  it('a timer the method set runs after it settled: its call is recorded, and refused while forced open', async () => {
    const { inventory, breaker } = await setup();
    await inventory.order('apples');
    expect(inventory.reservations).toBe(1);
    expect(breaker.snapshot().calls).toBe(1); // the nested reserve ran inside the order call

    breaker.forceOpen();
    await until(() => inventory.later.length === 1, 'the re-check to run');
    expect(inventory.later[0]).toBeInstanceOf(CircuitOpenError);
    expect(inventory.reservations).toBe(1);
    expect(breaker.totals().notPermittedCalls).toBe(1);
  });

  it('a timer the method set is recorded as a call of its own when the breaker admits it', async () => {
    const { inventory, breaker } = await setup();
    await inventory.order('pears');
    await until(() => inventory.later.length === 1, 'the re-check to run');
    expect(inventory.later[0]).toEqual({ reserved: 'pears (re-check)' });
    expect(breaker.snapshot().calls).toBe(2);
  });

  it('a listener on a resource the method created is protected after the method settled', async () => {
    const { inventory, breaker } = await setup();
    await inventory.watchRestocks();
    inventory.feed!.emit('restock', 'figs');
    await until(() => inventory.later.length === 1, 'the first restock');
    expect(inventory.later[0]).toEqual({ reserved: 'figs' });
    expect(breaker.snapshot().calls).toBe(2);

    breaker.forceOpen();
    inventory.feed!.emit('restock', 'plums');
    await until(() => inventory.later.length === 2, 'the second restock');
    expect(inventory.later[1]).toBeInstanceOf(CircuitOpenError);
    expect(inventory.reservations).toBe(1);
  });

  it('an interval the method started: each tick is a recorded call, refused while forced open', async () => {
    const { inventory, breaker } = await setup();
    await inventory.startPolling();
    await until(() => inventory.later.length >= 2, 'two polls', 1_000_000);
    expect(breaker.snapshot().calls).toBeGreaterThanOrEqual(3);

    breaker.forceOpen();
    const pollsWhenOpened = inventory.polls;
    const seen = inventory.later.length;
    await until(() => inventory.later.length >= seen + 2, 'two polls while forced open', 1_000_000);
    clearInterval(inventory.poller);
    expect(inventory.later.slice(seen + 1)).toEqual(expect.arrayContaining([expect.any(CircuitOpenError)]));
    expect(inventory.polls).toBeLessThanOrEqual(pollsWhenOpened + 1);
  });

  describe('Observable subscriptions', () => {
    it('a decorated Observable route over a decorated Observable provider method records one call per request', async () => {
      const { app, http, breaker } = await setup();
      http.mode = 'ok';
      await request(app.getHttpServer()).get('/stock/kiwis').expect(200, { url: '/stock/kiwis' });
      await request(app.getHttpServer()).get('/stock/kiwis').expect(200);
      expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 0 });
      http.mode = 'fail';
      await request(app.getHttpServer()).get('/stock/kiwis').expect(500);
      expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 1 });
      expect(http.requests).toHaveLength(3);
    });

    it('subscribing inside a call through the same breaker runs directly', async () => {
      const { http, inventory, breaker } = await setup();
      http.mode = 'ok';
      await expect(inventory.stockNow('limes')).resolves.toEqual({ url: '/stock/limes' });
      expect(breaker.snapshot().calls).toBe(1);
    });

    it('an Observable made during a call but subscribed after it settled is protected', async () => {
      const { http, inventory, breaker } = await setup();
      http.mode = 'ok';
      await inventory.prepareStock('dates');
      breaker.forceOpen();
      expect(await errorOf(lastValueFrom(inventory.stock$!))).toBeInstanceOf(CircuitOpenError);
      expect(http.requests).toEqual([]);
    });
  });
});
