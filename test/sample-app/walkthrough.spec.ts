/**
 * The README walkthrough, run against the sample app: trip the breaker, watch the fallback, 503 and
 * /health change, recover. Same requests as the curl commands, time from a ManualClock.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { once } from 'node:events';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import { AppModule } from '../../sample-app/app.module.js';
import { PaymentsDownstream } from '../../sample-app/payments/payments-downstream.js';

describe('sample app walkthrough (README)', () => {
  let app: INestApplication;
  let server: App;
  let clock: ManualClock;
  let downstream: PaymentsDownstream;

  beforeEach(async () => {
    clock = new ManualClock(1_000_000);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ paymentsPort: 0, clock })] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    server = app.getHttpServer() as App;
    downstream = app.get(PaymentsDownstream);
  });

  afterEach(async () => {
    await app.close();
  });

  const chaos = (body: object) => request(server).post('/chaos/payments').send(body).expect(201);

  it('trips on failures, serves the last known price, answers 503 with Retry-After, reports /health, recovers', async () => {
    // 1. healthy: a live price, which the fallback will remember
    const live = await request(server).get('/orders/42/quote').expect(200);
    expect(live.body).toMatchObject({ orderId: '42', source: 'live', currency: 'EUR' });
    await request(server).get('/health').expect(200).expect((res) => expect(res.body.details.circuit_breakers.breakers.payments.state).toBe('closed'));

    // 2. payments starts failing: the fallback answers from the cache while failures are recorded;
    //    with the live call that makes 5 calls (minimumCalls) at 80 % failures (>= 50 %): open
    await chaos({ mode: 'fail' });
    for (let i = 0; i < 4; i++) {
      const res = await request(server).get('/orders/42/quote').expect(200);
      expect(res.body).toMatchObject({ source: 'cache', price: live.body.price, reason: 'Error' });
    }
    const breaker = app.get(CircuitBreakerRegistry).get('payments');
    expect(breaker.state).toBe('open');

    // 3. open: no call reaches payments; cached orders get the fallback, others 503 + Retry-After
    const received = downstream.received;
    const cached = await request(server).get('/orders/42/quote').expect(200);
    expect(cached.body).toMatchObject({ source: 'cache', reason: 'CircuitOpenError' });
    const uncached = await request(server).get('/orders/7/quote').expect(503);
    expect(uncached.headers['retry-after']).toBe('10');
    expect(uncached.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', breaker: 'payments', retryAfterMs: 10_000 });
    const pay = await request(server).post('/orders/42/pay').expect(503);
    expect(pay.headers['retry-after']).toBe('10');
    expect(downstream.received).toBe(received);

    // 4. /health: open is degraded (liveness stays 200), readiness says down (503)
    const health = await request(server).get('/health').expect(200);
    expect(health.body.details.circuit_breakers.breakers.payments.state).toBe('open');
    await request(server).get('/health/ready').expect(503);

    // 5. payments recovers; after the open duration one trial call closes the circuit
    await chaos({ mode: 'ok' });
    clock.advance(4_000);
    expect((await request(server).get('/orders/7/quote').expect(503)).headers['retry-after']).toBe('6');
    clock.advance(6_000);
    const recovered = await request(server).get('/orders/7/quote').expect(200);
    expect(recovered.body).toMatchObject({ orderId: '7', source: 'live' });
    expect(breaker.state).toBe('closed');
    await request(server).post('/orders/42/pay').expect(201);
    await request(server).get('/health/ready').expect(200);
  });

  it('counts a decorated route calling a decorated provider on the same breaker once', async () => {
    await request(server).post('/orders/1/pay').expect(201);
    expect(app.get(CircuitBreakerRegistry).get('payments').snapshot().calls).toBe(1);
  });

  it('times out a slow dependency: 504 on the route, the last known price on the quote, and the request is aborted', async () => {
    await request(server).get('/orders/42/quote').expect(200);
    await chaos({ mode: 'slow' });

    const arrived = once(downstream.events, 'request');
    const pay = request(server).post('/orders/42/pay').then((res) => res);
    await arrived;
    clock.advance(1_000); // the breaker's timeoutMs
    const res = await pay;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ statusCode: 504, error: 'Gateway Timeout', breaker: 'payments', timeoutMs: 1_000 });

    const arrivedQuote = once(downstream.events, 'request');
    const quote = request(server).get('/orders/42/quote').then((r) => r);
    await arrivedQuote;
    clock.advance(1_000);
    expect((await quote).body).toMatchObject({ source: 'cache', reason: 'CircuitBreakerTimeoutError' });
    expect(app.get(CircuitBreakerRegistry).get('payments').totals().timeoutCalls).toBe(2);
  });

  it('rejects a malformed chaos request and leaves the behaviour unchanged', async () => {
    await request(server).post('/chaos/payments').send({ mode: 'explode' }).expect(400);
    await request(server).post('/chaos/payments').send({ mode: 'flaky', percent: 150 }).expect(400);
    expect(downstream.current.mode).toBe('ok');
  });
});
