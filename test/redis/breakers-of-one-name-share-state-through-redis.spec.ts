/**
 * Breakers of one name share their state through Redis, whether they use one store instance (one
 * process, one session) or a store instance each (separate "instances" of a fleet): a trip opens the
 * others with the same opening, the fleet's aggregate window trips, one trial closes the circuit
 * everywhere, manual control propagates.
 */
import { describe, expect, test } from '@jest/globals';
import { CircuitOpenError } from 'nestjs-breaker';
import type { CircuitBreakerSettings } from 'nestjs-breaker';
import type { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import {
  ManualClock,
  SYNC_MS,
  advance,
  attempt,
  deleteKeys,
  eventually,
  fail,
  instance,
  redisStore,
  settle,
  storedState,
  subscribed,
  succeed,
  turn,
  uniquePrefix,
  useRedisServer,
} from './helpers.js';
import type { Instance } from './helpers.js';

const NAME = 'payments';
const OPEN_MS = 1_000;

const redis = useRedisServer();
const { cleanups } = redis;

type Topology = 'one store instance' | 'separate store instances';

interface Fleet {
  clock: ManualClock;
  stores: RedisCircuitBreakerStore[];
  instances: Instance[];
}

async function fleet(topology: Topology, size: number, settings: CircuitBreakerSettings): Promise<Fleet> {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('share');
  const storeCount = topology === 'one store instance' ? 1 : size;
  const stores = Array.from({ length: storeCount }, () => redisStore(redis.url, clock, prefix));
  const instances = Array.from({ length: size }, (_, i) => instance(NAME, clock, stores[i % storeCount]!, { openDurationMs: OPEN_MS, ...settings }));
  cleanups.push(async () => {
    for (const { breaker } of instances) breaker.dispose();
    await deleteKeys(redis.admin, prefix);
  });
  await subscribed(redis.admin, `${prefix}transitions`, storeCount);
  await settle(stores); // each store's first read has answered: the next tick is a sync, not skipped behind it
  return { clock, stores, instances };
}

const last = (inst: Instance) => inst.events[inst.events.length - 1];

describe.each<Topology>(['one store instance', 'separate store instances'])('breakers of one name on %s', (topology) => {
  test('a trip on one instance opens the others with the same opening (reason shared_state)', async () => {
    const { instances, stores } = await fleet(topology, 3, { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 3, failureRateThreshold: 50 });
    const [a, b, c] = instances as [Instance, Instance, Instance];

    await fail(a.breaker, 3);
    expect(a.breaker.state).toBe('open');
    expect(last(a)).toMatchObject({ from: 'closed', to: 'open', reason: 'failure_rate' });

    await eventually(() => b.breaker.state === 'open' && c.breaker.state === 'open', 3_000, 'peers to open');
    const opened = a.breaker.snapshot();
    for (const peer of [b, c]) {
      expect(peer.events).toHaveLength(1);
      expect(last(peer)).toMatchObject({ from: 'closed', to: 'open', reason: 'shared_state' });
      const snapshot = peer.breaker.snapshot();
      expect(snapshot.openedAt).toBe(opened.openedAt);
      expect(snapshot.retryAfterMs).toBe(opened.retryAfterMs); // same openUntil (same clock)
      expect(snapshot.store).toBe('shared');
      let called = false;
      await expect(
        peer.breaker.execute(async () => {
          called = true;
        }),
      ).rejects.toBeInstanceOf(CircuitOpenError);
      expect(called).toBe(false);
    }
    const stored = await storedState(redis.admin, stores[0]!, NAME);
    // Stored on the server's clock (TIME): the opening as durations from the server's time of the write.
    expect(stored).toMatchObject({ s: 'open' });
    expect(Number(stored.ou) - Number(stored.oa)).toBe(OPEN_MS);
    expect(Number(stored.w) - Number(stored.oa)).toBe(0); // written the moment it opened (same ManualClock instant)
  });

  test.each([
    ['minimumCalls', { minimumCalls: 10 }, { failures: 4, successes: 0 }],
    ['minimumFailures', { minimumCalls: 2, minimumFailures: 5 }, { failures: 2, successes: 2 }],
  ] as const)(
    "each instance alone is below %s; the fleet's aggregate window trips (failure_rate) after a sync tick",
    async (_gate, gate, traffic) => {
      const { clock, stores, instances } = await fleet(topology, 3, {
        slidingWindow: { type: 'count', size: 100 },
        failureRateThreshold: 50,
        ...gate,
      });
      for (const { breaker } of instances) {
        await succeed(breaker, traffic.successes);
        await fail(breaker, traffic.failures);
      }
      await turn();
      // Locally nobody has enough: no trip before the fleet's window is read.
      for (const { breaker } of instances) {
        expect(breaker.state).toBe('closed');
        expect(breaker.snapshot().calls).toBe(traffic.failures + traffic.successes);
      }

      await advance(clock, SYNC_MS, stores);
      await eventually(() => instances.every(({ breaker }) => breaker.state === 'open'), 3_000, 'every instance to open');

      const reasons = instances.flatMap(({ events }) => events.map((event) => event.reason));
      expect(reasons.filter((reason) => reason === 'failure_rate')).toHaveLength(1);
      expect(reasons.filter((reason) => reason === 'shared_state')).toHaveLength(2);
      const openedAt = new Set(instances.map(({ breaker }) => breaker.snapshot().openedAt));
      expect(openedAt.size).toBe(1);
      expect([...openedAt][0]).toEqual(expect.any(Number));
    },
  );

  test('after the open duration one trial closes the circuit for every instance', async () => {
    const { clock, stores, instances } = await fleet(topology, 3, {
      slidingWindow: { type: 'count', size: 10 },
      minimumCalls: 3,
      failureRateThreshold: 50,
      halfOpenMaxCalls: 1,
    });
    const [a, b, c] = instances as [Instance, Instance, Instance];
    await fail(a.breaker, 3);
    await eventually(() => instances.every(({ breaker }) => breaker.state === 'open'), 3_000, 'every instance to open');

    await advance(clock, OPEN_MS, stores);
    // The first call after the open duration is rejected while the fleet permit is claimed...
    const first = await attempt(b.breaker);
    expect(first).toBeInstanceOf(CircuitOpenError);
    expect(b.breaker.state).toBe('half_open');
    await settle(stores);
    // ...the next one is the trial.
    expect(await attempt(b.breaker)).toBe('called');
    expect(b.breaker.state).toBe('closed');
    expect(last(b)).toMatchObject({ to: 'closed', reason: 'trials_succeeded' });

    await eventually(() => a.breaker.state === 'closed' && c.breaker.state === 'closed', 3_000, 'peers to close');
    for (const peer of [a, c]) expect(last(peer)).toMatchObject({ from: 'open', to: 'closed', reason: 'shared_state' });
    expect((await storedState(redis.admin, stores[0]!, NAME)).s).toBe('closed');
    // Closed everywhere: calls run again on every instance.
    for (const { breaker } of instances) expect(await attempt(breaker)).toBe('called');
  });

  test('manual forceOpen, disable and reset propagate to every instance', async () => {
    const { instances } = await fleet(topology, 3, {});
    const [a, b, c] = instances as [Instance, Instance, Instance];

    a.breaker.forceOpen();
    await eventually(() => b.breaker.state === 'forced_open' && c.breaker.state === 'forced_open', 3_000, 'peers forced open');
    for (const peer of [b, c]) {
      expect(last(peer)).toMatchObject({ from: 'closed', to: 'forced_open', reason: 'shared_state' });
      await expect(peer.breaker.execute(async () => 'ok')).rejects.toBeInstanceOf(CircuitOpenError);
    }

    b.breaker.reset();
    await eventually(() => a.breaker.state === 'closed' && c.breaker.state === 'closed', 3_000, 'peers reset');
    for (const peer of [a, c]) expect(last(peer)).toMatchObject({ from: 'forced_open', to: 'closed', reason: 'shared_state' });

    c.breaker.disable();
    await eventually(() => a.breaker.state === 'disabled' && b.breaker.state === 'disabled', 3_000, 'peers disabled');

    a.breaker.reset();
    await eventually(() => instances.every(({ breaker }) => breaker.state === 'closed'), 3_000, 'every instance closed');
    for (const { breaker } of instances) expect(await attempt(breaker)).toBe('called');
  });
});
