/**
 * The sample app's operations endpoints: GET /metrics (Prometheus text of the app's own registry)
 * follows the payments breaker, and /admin/circuit-breakers answers only with the x-api-key.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { ManualClock } from '../../lib/index.js';
import { AppModule } from '../../sample-app/app.module.js';

/** `name{labels}` -> value, from the exposition text; labels in the order the text has them. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('sample app: /metrics and the admin API', () => {
  let app: INestApplication | undefined;
  let server: App;
  let clock: ManualClock;
  const savedKey = process.env.ADMIN_API_KEY;

  async function start(adminKey: string | undefined): Promise<void> {
    if (adminKey === undefined) delete process.env.ADMIN_API_KEY;
    else process.env.ADMIN_API_KEY = adminKey;
    clock = new ManualClock(1_000_000);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ paymentsPort: 0, clock })] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    server = app.getHttpServer() as App;
  }

  beforeEach(() => {
    app = undefined;
  });

  afterEach(async () => {
    await app?.close();
    if (savedKey === undefined) delete process.env.ADMIN_API_KEY;
    else process.env.ADMIN_API_KEY = savedKey;
  });

  const chaos = (body: object) => request(server).post('/chaos/payments').send(body).expect(201);
  const metrics = async () => {
    const res = await request(server).get('/metrics').expect(200);
    // prom-client's registry.contentType (Express under Nest 11 may reorder the parameters)
    const [type, ...params] = String(res.headers['content-type']).split(/;\s*/);
    expect(type).toBe('text/plain');
    expect(params.sort()).toEqual(['charset=utf-8', 'version=0.0.4']);
    return samples(res.text);
  };

  it('GET /metrics shows the payments breaker tripping, with only the breaker metrics', async () => {
    await start('test-key');
    let m = await metrics();
    expect(m.get('circuit_breaker_state{name="payments",state="closed"}')).toBe(1);
    expect(m.get('circuit_breaker_state{name="payments",state="open"}')).toBe(0);
    expect([...m.keys()].every((key) => key.startsWith('circuit_breaker_'))).toBe(true);

    await chaos({ mode: 'fail' });
    // nothing cached for order 7: the fallback answers 502; the 5th failure (minimumCalls) trips
    for (let i = 0; i < 5; i++) await request(server).get('/orders/7/quote').expect(502);
    m = await metrics();
    expect(m.get('circuit_breaker_state{name="payments",state="open"}')).toBe(1);
    expect(m.get('circuit_breaker_state{name="payments",state="closed"}')).toBe(0);
    expect(m.get('circuit_breaker_calls_total{name="payments",kind="failed"}')).toBe(5);
    expect(m.get('circuit_breaker_calls_total{name="payments",kind="not_permitted"}')).toBe(0);
    expect(m.get('circuit_breaker_failure_rate{name="payments"}')).toBe(100);
    expect(m.get('circuit_breaker_openings_total{name="payments"}')).toBe(1);
    expect(m.get('circuit_breaker_transitions_total{name="payments",from="closed",to="open"}')).toBe(1);
    expect(m.get('circuit_breaker_retry_after_seconds{name="payments"}')).toBe(10);

    // the fallback path: rejected calls are not_permitted
    await request(server).get('/orders/7/quote').expect(503);
    clock.advance(10_000);
    await chaos({ mode: 'ok' });
    await request(server).get('/orders/7/quote').expect(200);
    m = await metrics();
    expect(m.get('circuit_breaker_calls_total{name="payments",kind="not_permitted"}')).toBe(1);
    expect(m.get('circuit_breaker_state{name="payments",state="closed"}')).toBe(1);
    expect(m.get('circuit_breaker_open_duration_seconds_count{name="payments"}')).toBe(1);
    expect(m.get('circuit_breaker_open_duration_seconds_sum{name="payments"}')).toBe(10);
  });

  it('the admin API answers 401 without the right x-api-key, and works with it', async () => {
    await start('test-key');
    await request(server).get('/admin/circuit-breakers').expect(401);
    await request(server).get('/admin/circuit-breakers').set('x-api-key', 'change-me').expect(401);
    await request(server).post('/admin/circuit-breakers/payments/force-open').set('x-api-key', 'test-key-but-longer').expect(401);
    await request(server).get('/orders/7/quote').expect(200); // nothing was forced open

    const list = await request(server).get('/admin/circuit-breakers').set('x-api-key', 'test-key').expect(200);
    expect(list.body).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'payments', state: 'closed' })]));

    const forced = await request(server).post('/admin/circuit-breakers/payments/force-open').set('x-api-key', 'test-key').send({}).expect(200);
    expect(forced.body).toMatchObject({ name: 'payments', state: 'forced_open' });
    const rejected = await request(server).get('/orders/8/quote').expect(503); // 7 is cached now
    expect(rejected.headers['retry-after']).toBeUndefined();
    expect((await metrics()).get('circuit_breaker_state{name="payments",state="forced_open"}')).toBe(1);

    await request(server).post('/admin/circuit-breakers/payments/reset').set('x-api-key', 'test-key').send({}).expect(200);
    await request(server).get('/orders/7/quote').expect(200);
    await request(server).get('/admin/circuit-breakers/nope').set('x-api-key', 'test-key').expect(404);
  });

  it("accepts the default key 'change-me' when ADMIN_API_KEY is not set", async () => {
    await start(undefined);
    await request(server).get('/admin/circuit-breakers/payments').set('x-api-key', 'change-me').expect(200);
    await request(server).get('/admin/circuit-breakers/payments').set('x-api-key', '').expect(401);
    await request(server).get('/admin/circuit-breakers/payments').expect(401);
  });
});
