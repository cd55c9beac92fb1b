/**
 * Three instances of the built sample app (child processes, dist-sample/main.js) share one payments
 * dependency (PAYMENTS_URL, run here in the test process so its request counter can be read) and
 * one breaker state (REDIS_URL, a key prefix of this run's own). Only one instance sees the
 * failures; all three fail fast, and recover through a single fleet-wide trial.
 *
 * Starts a redis-server of its own (`redis-server` on PATH, test/support/redis-server.ts).
 * Builds dist/ and dist-sample/ first when they are older than their sources.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Response, Test } from 'supertest';
import { PaymentsDownstream } from '../../sample-app/payments/payments-downstream.js';
import { RedisServer } from '../support/redis-server.js';
import { SampleInstance, ensureSampleBuilt, sleep, waitFor } from './fleet.js';

const KEY_PREFIX = `fleet-test:${process.pid}-${randomBytes(4).toString('hex')}:`;
const ADMIN_KEY = 'fleet-test-admin-key';
/** Instead of the sample's 10 s (PAYMENTS_OPEN_DURATION_MS). */
const OPEN_DURATION_MS = 1_500;
/** The sample's payments breaker (sample-app/app.module.ts). */
const HALF_OPEN_MAX_CALLS = 1;
const MINIMUM_CALLS = 5;
/**
 * While the fleet recovers, the dependency answers correctly but this slowly, so the trial call is
 * still in flight while the test sends every instance more calls (the sample's timeoutMs is 1 000).
 */
const TRIAL_HOLD_MS = 500;

interface Snapshot {
  name: string;
  state: string;
  calls: number;
  failures: number;
  notPermittedCalls: number;
  retryAfterMs?: number;
  store?: string;
}

describe('sample app fleet: three instances, one Redis-shared "payments" breaker', () => {
  const downstream = new PaymentsDownstream({ port: 0 });
  let redis: RedisServer | undefined;
  let instances: SampleInstance[] = [];
  let a: SampleInstance; // the only one that sees failures
  let peers: SampleInstance[]; // b and c
  let order = 0;
  /** A new order id per call: nothing is ever cached, so an open breaker answers 503, never the fallback. */
  const orderId = (): string => `o${++order}`;

  const snapshot = async (instance: SampleInstance): Promise<Snapshot> => {
    const res = await instance.http().get('/admin/circuit-breakers/payments').set('x-api-key', ADMIN_KEY);
    if (res.status !== 200) throw new Error(`${instance.name}: GET /admin/circuit-breakers/payments answered ${res.status} ${res.text}`);
    return res.body as Snapshot;
  };
  const states = async (): Promise<string> =>
    (await Promise.all(instances.map(async (i) => `${i.name}=${JSON.stringify(await snapshot(i).catch((e: unknown) => String(e)))}`))).join(', ');
  const waitForState = (instance: SampleInstance, state: string): Promise<Snapshot> => {
    let last: Snapshot | undefined;
    return waitFor(
      async () => {
        last = await snapshot(instance);
        return last.state === state ? last : undefined;
      },
      () => `${instance.name} to report "payments" ${state}; last snapshot ${JSON.stringify(last)}\n--- ${instance.name} log:\n${instance.log}`,
    );
  };
  const quote = (instance: SampleInstance): Test => instance.http().get(`/orders/${orderId()}/quote`);
  const expectFastFail = (res: Response, where: string): void => {
    expect({ where, status: res.status }).toEqual({ where, status: 503 });
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', breaker: 'payments' });
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    const built = await ensureSampleBuilt();
    if (built.length > 0) console.log(`fleet test: built ${built.join(' and ')} (missing, or older than their sources)`);

    await downstream.onModuleInit();
    const env = {
      REDIS_URL: redis.url,
      // The store's deadline (default 250 ms), as in test/redis: three Nest processes on a loaded CI
      // machine can stall an event loop past 250 ms, which the store rightly reads as an outage
      // (storeFallbacks 1), and this test asserts there is none. Outages are test/redis's subject.
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      CIRCUIT_BREAKER_KEY_PREFIX: KEY_PREFIX,
      PAYMENTS_URL: downstream.url,
      PAYMENTS_OPEN_DURATION_MS: String(OPEN_DURATION_MS),
      ADMIN_API_KEY: ADMIN_KEY,
    };
    instances = ['a', 'b', 'c'].map((name) => new SampleInstance(name, env));
    await Promise.all(instances.map((i) => i.ready()));
    [a, ...peers] = instances;
  }, 180_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await downstream.onModuleDestroy();
    await redis?.stop();
  }, 30_000);

  it('starts three instances on their own ports, on the shared payments service and the Redis store', async () => {
    expect(new Set(instances.map((i) => i.port)).size).toBe(3);
    for (const instance of instances) {
      expect(instance.log).toContain(`Payments dependency on ${downstream.url.replace('127.0.0.1', 'localhost')} (external: PAYMENTS_URL)`);
      expect(instance.log).toMatch(new RegExp(`Breaker state: shared through Redis at redis://\\S+ \\(key prefix "${KEY_PREFIX}"\\)`));
      expect(await snapshot(instance)).toMatchObject({ name: 'payments', state: 'closed', calls: 0, store: 'shared' });
      // The dependency is not this instance's to switch.
      await instance.http().post('/chaos/payments').send({ mode: 'fail' }).expect(409);
    }
    expect(downstream.current.mode).toBe('ok');
    expect(downstream.received).toBe(0);
  });

  it('failures seen by one instance open the breaker on all three; the others fail fast without calling payments', async () => {
    downstream.set({ mode: 'fail' });
    // Failing calls to instance a only, until its breaker opens (the fallback has nothing cached: 502).
    let res = await quote(a);
    for (let calls = 1; res.status === 502 && calls < 20; calls++) res = await quote(a);
    expectFastFail(res, 'a, once open');
    expect(downstream.received).toBe(MINIMUM_CALLS);
    expect(await snapshot(a)).toMatchObject({ state: 'open', failures: MINIMUM_CALLS, store: 'shared' });

    // b and c adopt the opening (pub/sub) although they never saw a call.
    for (const peer of peers) {
      const shared = await waitForState(peer, 'open');
      expect(shared).toMatchObject({ state: 'open', calls: 0, failures: 0, notPermittedCalls: 0, store: 'shared' });
      expect(shared.retryAfterMs).toBeGreaterThan(0);
      expect(peer.log).toContain('Circuit breaker "payments" closed -> open (shared_state)');
      const health = await peer.http().get('/health').expect(200);
      expect(health.body.details.circuit_breakers.breakers.payments).toMatchObject({ state: 'open', store: 'shared', storeFallbacks: 0 });
      await peer.http().get('/health/ready').expect(503);
      const metrics = (await peer.http().get('/metrics').expect(200)).text;
      expect(metrics).toContain('circuit_breaker_calls_total{name="payments",kind="failed"} 0');
      expect(metrics).toContain('circuit_breaker_calls_total{name="payments",kind="successful"} 0');
    }

    // Every instance now fails fast: 503 + Retry-After on a quote and on a payment; payments sees nothing.
    const before = downstream.received;
    for (const instance of instances) {
      expectFastFail(await quote(instance), `${instance.name} quote`);
      expectFastFail(await instance.http().post(`/orders/${orderId()}/pay`), `${instance.name} pay`);
    }
    expect(downstream.received).toBe(before);
    for (const peer of peers) expect(await snapshot(peer)).toMatchObject({ state: 'open', calls: 0, failures: 0, notPermittedCalls: 2 });
  }, 60_000);

  it(`after the open duration, at most ${HALF_OPEN_MAX_CALLS} trial call reaches payments fleet-wide and its success closes the breaker everywhere`, async () => {
    // Payments works again, slowly enough that the trial is observably in flight.
    downstream.set({ mode: 'slow', slowMs: TRIAL_HOLD_MS });
    const before = downstream.received;

    // One call at a time, round robin, until one reaches payments: that is the trial. Before the
    // open duration is over every call is rejected; after it, each instance asks the store for a
    // trial permit (its first half-open call is rejected meanwhile) and only one is granted.
    let trial: { instance: SampleInstance; response: Promise<Response> } | undefined;
    for (let probe = 0; trial === undefined; probe++) {
      if (probe > 600) throw new Error(`no trial call reached payments after ${probe} calls; ${await states()}`);
      const instance = instances[probe % instances.length]!;
      const arrived = new Promise<'trial'>((resolve) => downstream.events.once('request', () => resolve('trial')));
      const response = quote(instance).then((r) => r);
      const first = await Promise.race([arrived, response]);
      if (first === 'trial') {
        trial = { instance, response };
      } else {
        downstream.events.removeAllListeners('request');
        expectFastFail(first, `${instance.name} before the trial`);
        await sleep(20);
      }
    }
    expect(downstream.received).toBe(before + 1);

    // While the trial is in flight, every instance gets several concurrent calls: none reaches payments.
    const burst = await Promise.all(instances.flatMap((instance) => [0, 1, 2].map(() => quote(instance).then((res) => ({ instance, res })))));
    for (const { instance, res } of burst) expectFastFail(res, `${instance.name} during the trial`);
    expect(downstream.received - before).toBeLessThanOrEqual(HALF_OPEN_MAX_CALLS);
    expect(downstream.received).toBe(before + 1);

    // The trial succeeds: its instance closes, and the others adopt the close through the store.
    const done = await trial.response;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ source: 'live' });
    for (const instance of instances) await waitForState(instance, 'closed');
    expect(downstream.received).toBe(before + 1);
    expect(trial.instance.log).toContain('Circuit breaker "payments" half_open -> closed (trials_succeeded)');
    for (const instance of instances) {
      if (instance === trial.instance) continue;
      expect(instance.log).toMatch(/Circuit breaker "payments" (open|half_open) -> closed \(shared_state\)/);
      expect(instance.log).not.toContain('(trials_succeeded)');
    }

    // Closed everywhere: calls reach payments again, through every instance.
    downstream.set({ mode: 'ok' });
    for (const instance of instances) {
      const res = await quote(instance).expect(200);
      expect(res.body).toMatchObject({ source: 'live' });
    }
    expect(downstream.received).toBe(before + 1 + instances.length);
    for (const instance of instances) {
      const health = await instance.http().get('/health').expect(200);
      expect(health.body.details.circuit_breakers.breakers.payments).toMatchObject({ state: 'closed', store: 'shared', storeFallbacks: 0 });
    }
  }, 60_000);
});
