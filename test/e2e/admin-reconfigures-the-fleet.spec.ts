/**
 * The admin API's `POST /:name/reconfigure?fleet=true` writes the breaker's fleet options record:
 * the other instance (another Nest app on the same store) adopts it with its next sync; a bad value
 * answers 400 naming the option and reaches no instance.
 */
import 'reflect-metadata';
import { afterEach, expect, test } from '@jest/globals';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerAdminModule, CircuitBreakerModule, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

const SYNC_MS = 100;
const apps = new Apps();
afterEach(() => apps.closeAll());

async function fleetOfTwo() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new InMemoryCircuitBreakerStore({ clock, syncIntervalMs: SYNC_MS });
  const instance = async () =>
    apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({ defaults: { clock, store }, breakers: { payments: tripFast() }, logger: false }),
          CircuitBreakerAdminModule.register({ path: 'admin/breakers', guards: [] }),
        ],
      }),
    );
  const [a, b] = [await instance(), await instance()];
  const ticks = async () => {
    for (let i = 0; i < 5; i++) {
      clock.advance(SYNC_MS);
      for (let j = 0; j < 5; j++) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { a, b, ticks };
}

test('?fleet=true reaches the other instance; without it, only this one', async () => {
  const { a, b, ticks } = await fleetOfTwo();
  const peer = b.get(CircuitBreakerRegistry).get('payments');
  await ticks();

  const local = await request(a.getHttpServer() as App).post('/admin/breakers/payments/reconfigure').send({ minimumCalls: 9 });
  expect(local.status).toBe(200);
  const fleet = await request(a.getHttpServer() as App).post('/admin/breakers/payments/reconfigure?fleet=true').send({ failureRateThreshold: 25 });
  expect(fleet.status).toBe(200);
  expect(fleet.body).toMatchObject({ name: 'payments', fleetOptionsVersion: 1 });
  await ticks();
  expect(peer.options.failureRateThreshold).toBe(25);
  expect(peer.options.minimumCalls).toBe(2); // the local reconfigure stayed on its instance
  expect((await request(b.getHttpServer() as App).get('/admin/breakers/payments')).body).toMatchObject({ fleetOptionsVersion: 1 });
});

test('a bad value answers 400 naming the option and reaches no instance', async () => {
  const { a, b, ticks } = await fleetOfTwo();
  await ticks();
  const bad = await request(a.getHttpServer() as App).post('/admin/breakers/payments/reconfigure?fleet=true').send({ failureRateThreshold: 250 });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ option: 'failureRateThreshold' });
  const code = await request(a.getHttpServer() as App).post('/admin/breakers/payments/reconfigure?fleet=true').send({ isFailure: 'x' });
  expect(code.status).toBe(400);
  await ticks();
  for (const app of [a, b]) {
    const breaker = app.get(CircuitBreakerRegistry).get('payments');
    expect(breaker.options.failureRateThreshold).toBe(50);
    expect(breaker.snapshot().fleetOptionsVersion).toBeUndefined();
  }
});
