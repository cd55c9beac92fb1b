/**
 * The sample app's keyed route: GET /orders/:id/host-quote asks the first payments host, then the
 * second, each behind its own breaker of the "payment-hosts" family. Time from a ManualClock.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import { AppModule } from '../../sample-app/app.module.js';
import { PaymentsDownstream } from '../../sample-app/payments/payments-downstream.js';
import { SECOND_PAYMENTS_HOST } from '../../sample-app/payments/payment-hosts.js';

describe('sample app: two payments hosts, one breaker each', () => {
  let app: INestApplication;
  let server: App;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ paymentsPort: 0, clock: new ManualClock(1_000_000) })] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    server = app.getHttpServer() as App;
  });

  afterEach(async () => {
    await app.close();
  });

  it('a failing first host opens its own circuit; the second answers, and is never refused', async () => {
    const first = app.get(PaymentsDownstream);
    const second = app.get<PaymentsDownstream>(SECOND_PAYMENTS_HOST);
    const firstHost = new URL(first.url).host;
    const secondHost = new URL(second.url).host;
    const live = await request(server).get('/orders/42/host-quote').expect(200);
    expect(live.body).toMatchObject({ orderId: '42', host: firstHost, skipped: [] });

    await request(server).post('/chaos/payments').send({ mode: 'fail' }).expect(201);
    // With the live call, two failures make 3 calls (minimumCalls) at 67 % failures: open.
    for (let i = 0; i < 2; i++) {
      const res = await request(server).get('/orders/42/host-quote').expect(200);
      expect(res.body).toMatchObject({ host: secondHost, skipped: [{ host: firstHost, reason: 'answered 500' }] });
    }
    const family = app.get(CircuitBreakerRegistry).family('payment-hosts');
    expect(family.find(firstHost)?.state).toBe('open');
    expect(family.find(secondHost)?.state).toBe('closed');

    // Open: the first host gets no request at all; the second still answers.
    const received = first.received;
    const res = await request(server).get('/orders/7/host-quote').expect(200);
    expect(res.body).toMatchObject({ host: secondHost, skipped: [{ host: firstHost, reason: 'circuit open' }] });
    expect(first.received).toBe(received);

    // /health shows the family as one entry; the admin API lists its keys.
    const health = await request(server).get('/health').expect(200);
    expect(health.body.details.circuit_breakers.breakers['payment-hosts']).toMatchObject({ family: true, keys: 2, openKeys: [firstHost] });
  });

  it('with both hosts failing, answers 502 listing why each host was skipped; the second host gets its own breaker opened', async () => {
    const first = app.get(PaymentsDownstream);
    const second = app.get<PaymentsDownstream>(SECOND_PAYMENTS_HOST);
    const firstHost = new URL(first.url).host;
    const secondHost = new URL(second.url).host;
    await request(server).post('/chaos/payments').send({ mode: 'fail' }).expect(201);
    await request(server).post('/chaos/payments-b').send({ mode: 'fail' }).expect(201);
    const res = await request(server).get('/orders/8/host-quote').expect(502);
    expect(res.body.skipped).toEqual([
      { host: firstHost, reason: 'answered 500' },
      { host: secondHost, reason: 'answered 500' },
    ]);
    for (let i = 0; i < 2; i++) await request(server).get('/orders/8/host-quote').expect(502);
    const family = app.get(CircuitBreakerRegistry).family('payment-hosts');
    expect(family.summary()).toMatchObject({ keys: 2, openKeys: [firstHost, secondHost].sort(), openKeyCount: 2 });
    const refused = await request(server).get('/orders/9/host-quote').expect(502);
    expect(refused.body.skipped.map((s: { reason: string }) => s.reason)).toEqual(['circuit open', 'circuit open']);
  });
});
