import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { StateChangeEvent } from '../../lib/index.js';
import { Apps, startApp, thrownBy } from './helpers.js';

@Injectable()
class Backend {
  healthy = true;
}

@Controller('orders')
class OrdersController {
  constructor(private readonly backend: Backend) {}

  @Get(':outcome')
  @UseCircuitBreaker('orders')
  async get(@Param('outcome') outcome: string): Promise<string> {
    if (outcome === 'fail' || !this.backend.healthy) throw new Error('orders backend down');
    return 'ok';
  }
}

describe('CircuitBreakerRegistry at runtime', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup() {
    const clock = new ManualClock(5_000);
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock },
            breakers: {
              orders: { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 2, failureRateThreshold: 100, openDurationMs: 4_000 },
              other: {},
            },
          }),
        ],
        controllers: [OrdersController],
        providers: [Backend],
      }),
    );
    return { app, clock, registry: app.get(CircuitBreakerRegistry), server: app.getHttpServer() };
  }

  it('reconfigure lowers failureRateThreshold on a running breaker: the next failure trips it', async () => {
    const { registry, server } = await setup();
    await request(server).get('/orders/fail').expect(500);
    await request(server).get('/orders/ok').expect(200);
    await request(server).get('/orders/fail').expect(500);
    const orders = registry.get('orders');
    expect(orders.snapshot()).toMatchObject({ state: 'closed', calls: 3, failures: 2 });

    const returned = registry.reconfigure('orders', { failureRateThreshold: 50 });
    expect(returned).toBe(orders);
    expect(orders.options.failureRateThreshold).toBe(50);
    expect(orders.options.openDurationMs).toBe(4_000);
    expect(orders.state).toBe('closed');

    await request(server).get('/orders/fail').expect(500);
    expect(orders.state).toBe('open');
    const res = await request(server).get('/orders/ok').expect(503);
    expect(res.headers['retry-after']).toBe('4');
  });

  it('an invalid value throws CircuitBreakerConfigError and changes nothing', async () => {
    const { registry, server } = await setup();
    const orders = registry.get('orders');
    const before = orders.options;
    const error = thrownBy(() => registry.reconfigure('orders', { failureRateThreshold: 50, openDurationMs: -1 }));
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect((error as CircuitBreakerConfigError).breakerName).toBe('orders');
    expect((error as CircuitBreakerConfigError).option).toBe('openDurationMs');
    expect((error as Error).message).toContain('-1');
    expect(orders.options).toBe(before);
    expect(orders.options.failureRateThreshold).toBe(100);

    // behaviour unchanged: threshold still 100, so 1 failure of 2 calls does not trip
    await request(server).get('/orders/fail').expect(500);
    await request(server).get('/orders/ok').expect(200);
    await request(server).get('/orders/fail').expect(500);
    expect(orders.state).toBe('closed');
  });

  it('reconfiguring a name no breaker has throws', async () => {
    const { registry } = await setup();
    const error = thrownBy(() => registry.reconfigure('nope', { failureRateThreshold: 10 }));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('nope');
    expect(registry.has('nope')).toBe(false);
  });

  it('has / get / getAll', async () => {
    const { registry } = await setup();
    expect(registry.has('orders')).toBe(true);
    expect(registry.has('other')).toBe(true);
    expect(registry.has('missing')).toBe(false);
    expect(registry.getAll().map((b) => b.name).sort()).toEqual(['orders', 'other']);
    expect(registry.get('orders')).toBe(registry.get('orders'));
  });

  it('stateChanges$ emits every transition of every breaker, in order', async () => {
    const { clock, registry, server } = await setup();
    const events: StateChangeEvent[] = [];
    const subscription = registry.stateChanges$.subscribe((e) => events.push(e));

    await request(server).get('/orders/fail').expect(500);
    await request(server).get('/orders/fail').expect(500);
    clock.advance(4_000);
    await request(server).get('/orders/ok').expect(200);
    registry.get('other').forceOpen();
    registry.get('other').reset();

    expect(events).toEqual([
      { name: 'orders', from: 'closed', to: 'open', at: 5_000, reason: 'failure_rate' },
      { name: 'orders', from: 'open', to: 'half_open', at: 9_000, reason: 'open_duration_elapsed' },
      { name: 'orders', from: 'half_open', to: 'closed', at: 9_000, reason: 'trials_succeeded' },
      { name: 'other', from: 'closed', to: 'forced_open', at: 9_000, reason: 'forced_open' },
      { name: 'other', from: 'forced_open', to: 'closed', at: 9_000, reason: 'manual_reset' },
    ]);
    subscription.unsubscribe();
  });

  it('stateChanges$ completes when the application closes', async () => {
    const { app, registry } = await setup();
    let completed = false;
    registry.stateChanges$.subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(false);
    await apps.close(app);
    expect(completed).toBe(true);
  });
});
