import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

@Injectable()
class PaymentsClient {
  fail = false;
  calls = 0;
  /** Resolvers of calls still pending (for the concurrency test). */
  gates: (() => void)[] = [];
  hold = false;

  @UseCircuitBreaker('payments')
  async charge(amount: number): Promise<{ charged: number }> {
    this.calls++;
    if (this.hold) await new Promise<void>((resolve) => this.gates.push(resolve));
    if (this.fail) throw new Error('payment gateway down');
    return { charged: amount };
  }

  @UseCircuitBreaker('ledger')
  async record(amount: number): Promise<number> {
    return amount;
  }
}

@Controller('pay')
class PayController {
  constructor(private readonly client: PaymentsClient) {}

  @Get('same/:amount')
  @UseCircuitBreaker('payments')
  async same(@Param('amount') amount: string): Promise<{ charged: number }> {
    return this.client.charge(Number(amount));
  }

  @Get('twice/:amount')
  @UseCircuitBreaker('payments')
  async twice(@Param('amount') amount: string): Promise<{ charged: number }> {
    await this.client.charge(1);
    return this.client.charge(Number(amount));
  }

  @Get('other/:amount')
  @UseCircuitBreaker('ledger')
  async other(@Param('amount') amount: string): Promise<{ charged: number }> {
    return this.client.charge(Number(amount));
  }
}

describe('a decorated controller calling a decorated provider on the same breaker', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; registry: CircuitBreakerRegistry; client: PaymentsClient }> {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast({ minimumCalls: 4 }) } })],
        controllers: [PayController],
        providers: [PaymentsClient],
      }),
    );
    return { app, registry: app.get(CircuitBreakerRegistry), client: app.get(PaymentsClient) };
  }

  it('records ONE call per request (the outer one)', async () => {
    const { app, registry, client } = await setup();
    await request(app.getHttpServer()).get('/pay/same/5').expect(200, { charged: 5 });
    expect(client.calls).toBe(1);
    expect(registry.get('payments').snapshot()).toMatchObject({ calls: 1, failures: 0 });
    expect(registry.get('payments').totals().successfulCalls).toBe(1);
  });

  it('records one call even when the handler calls the provider twice', async () => {
    const { app, registry, client } = await setup();
    await request(app.getHttpServer()).get('/pay/twice/5').expect(200, { charged: 5 });
    expect(client.calls).toBe(2);
    expect(registry.get('payments').snapshot().calls).toBe(1);
  });

  it('a failure in the nested provider is recorded once', async () => {
    const { app, registry, client } = await setup();
    client.fail = true;
    await request(app.getHttpServer()).get('/pay/same/5').expect(500);
    expect(registry.get('payments').snapshot()).toMatchObject({ calls: 1, failures: 1 });
    expect(registry.get('payments').totals().failedCalls).toBe(1);
  });

  it('on different breakers each records its own call', async () => {
    const { app, registry } = await setup();
    await request(app.getHttpServer()).get('/pay/other/5').expect(200, { charged: 5 });
    expect(registry.get('ledger').snapshot().calls).toBe(1);
    expect(registry.get('payments').snapshot().calls).toBe(1);
  });

  it('the provider called outside any breaker call is recorded on its own', async () => {
    const { registry, client } = await setup();
    await client.charge(3);
    await client.charge(4);
    expect(registry.get('payments').snapshot().calls).toBe(2);
  });

  it('concurrent requests do not leak the nesting context into each other: two in flight, two calls', async () => {
    const { app, registry, client } = await setup();
    client.hold = true;
    const server = app.getHttpServer();
    const a = request(server).get('/pay/same/1').then((r) => r);
    const b = request(server).get('/pay/same/2').then((r) => r);
    for (let i = 0; i < 500 && client.gates.length < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(client.gates).toHaveLength(2);
    // a provider call started from the test itself, while both requests are in flight, is its own call
    const direct = client.charge(3);
    for (const open of client.gates.splice(0)) open();
    for (let i = 0; i < 500 && client.gates.length < 1; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    client.gates.splice(0).forEach((open) => open());
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    await expect(direct).resolves.toEqual({ charged: 3 });
    expect(registry.get('payments').snapshot().calls).toBe(3);
  });
});
