import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, thrownBy, tripFast } from './helpers.js';

// No return types on purpose: the compiler emits no `design:returntype` the binding could use.

@Injectable()
class Rates {
  up = false;

  @UseCircuitBreaker('rates')
  current() {
    if (!this.up) throw new Error('rate source down');
    return 1.1;
  }

  @UseCircuitBreaker('async-rates')
  async later() {
    if (!this.up) throw new Error('rate source down');
    return 1.1;
  }
}

@Controller()
class TotalsController {
  constructor(private readonly rates: Rates) {}

  @Get('total')
  total() {
    return { total: this.rates.current() * 10 };
  }

  @Get('later')
  async later() {
    return { total: (await this.rates.later()) * 10 };
  }
}

describe('an unannotated method that has only thrown so far', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup() {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast() } })],
        controllers: [TotalsController],
        providers: [Rates],
      }),
    );
    return { app, registry: app.get(CircuitBreakerRegistry) };
  }

  it('is learned as sync from its synchronous throw: once open the route answers 503, not 200 with a null', async () => {
    const { app, registry } = await setup();
    const server = app.getHttpServer();
    expect((await request(server).get('/total')).status).toBe(500);
    expect((await request(server).get('/total')).status).toBe(500);
    expect(registry.get('rates').state).toBe('open');

    const refused = await request(server).get('/total');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ statusCode: 503, breaker: 'rates' });
    expect(refused.headers['retry-after']).toBe('10');
  });

  it('throws CircuitOpenError synchronously when called directly once open', async () => {
    const { app } = await setup();
    const rates = app.get(Rates);
    for (let i = 0; i < 2; i++) expect(thrownBy(() => rates.current())).toBeInstanceOf(Error);
    expect(thrownBy(() => rates.current())).toBeInstanceOf(CircuitOpenError);
  });

  it('an async method (it rejects, never throws) returns a rejected promise once open', async () => {
    const { app } = await setup();
    const rates = app.get(Rates);
    for (let i = 0; i < 2; i++) await expect(rates.later()).rejects.toThrow('rate source down');
    const refused = rates.later();
    expect(refused).toBeInstanceOf(Promise);
    await expect(refused).rejects.toBeInstanceOf(CircuitOpenError);
    expect((await request(app.getHttpServer()).get('/later')).status).toBe(503);
  });
});
