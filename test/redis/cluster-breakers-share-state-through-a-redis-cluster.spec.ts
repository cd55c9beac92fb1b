/**
 * On a real Redis Cluster (3 masters, 3 replicas, started by the file): breakers of one name in
 * different instances share openings, the fleet's window and half-open permits, with sharded pub/sub
 * (Redis >= 7) and with the classic channel; breakers whose keys live on different masters sync in
 * one tick; a closed breaker's successful calls send no command to any node.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { Cluster } from 'ioredis';
import { CircuitBreaker, CircuitOpenError } from 'nestjs-breaker';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import type { PubSubMode } from '../../lib/redis/redis-connection.js';
import { RedisCluster, until } from '../support/redis-cluster.js';
import { ManualClock, SYNC_MS, advance, capturingLogger, eventually, fail, instance, settle, succeed, track, uniquePrefix } from './helpers.js';

let cluster: RedisCluster;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 40_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await cluster?.stop();
});

const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 4, failureRateThreshold: 50, openDurationMs: 1_000 } as const;

/** A store on a Cluster client of its own (as an app would pass it), closed after the test. */
function clusterStore(clock: ManualClock, keyPrefix: string, pubSub?: PubSubMode, clientPrefix?: string): RedisCircuitBreakerStore {
  const client = new Cluster(cluster.startupNodes, { lazyConnect: true, ...(clientPrefix === undefined ? {} : { keyPrefix: clientPrefix }) });
  cleanups.push(() => client.disconnect());
  return track(
    RedisCircuitBreakerStore.fromClient(client, {
      keyPrefix,
      clock,
      syncIntervalMs: SYNC_MS,
      commandTimeoutMs: 2_000,
      logger: capturingLogger(),
      ...(pubSub === undefined ? {} : { pubSub }),
    }),
  );
}

function made(...breakers: CircuitBreaker[]): void {
  cleanups.push(() => breakers.forEach((breaker) => breaker.dispose()));
}

describe.each([['sharded', undefined], ['classic', 'classic']] as const)('%s pub/sub', (_mode, pubSub) => {
  test('an opening on one instance reaches the others through the cluster, and one trial closes it for all', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = uniquePrefix('cluster-share');
    const stores = [clusterStore(clock, prefix, pubSub), clusterStore(clock, prefix, pubSub), clusterStore(clock, prefix, pubSub)];
    const instances = stores.map((store) => instance('payments', clock, store, settings));
    made(...instances.map((i) => i.breaker));
    await eventually(() => instances.every((i) => i.breaker.snapshot().store === 'shared'), 10_000, 'every instance sharing');
    // Sharded mode: each store subscribes to the breaker's channel once it has seen the breaker.
    if (pubSub === undefined) await until(async () => (await cluster.shardSubscribers(`${prefix}{payments}:transitions`)) === 3, 5_000, '3 shard subscribers');
    else await until(async () => (await cluster.subscribers(`${prefix}transitions`)) === 3, 5_000, '3 subscribers');

    await fail(instances[0]!.breaker, 4);
    await eventually(() => instances.every((i) => i.breaker.state === 'open'), 5_000, 'the opening to reach every instance');
    expect(instances[1]!.events.at(-1)?.reason).toBe('shared_state');
    const [opened] = instances.map((i) => i.breaker.snapshot().openedAt);
    expect(instances.map((i) => i.breaker.snapshot().openedAt)).toEqual([opened, opened, opened]);
    expect(await succeed(instances[2]!.breaker)).toEqual([expect.any(CircuitOpenError)]);

    // After the open duration the fleet grants one trial (halfOpenMaxCalls 1): its success closes every instance.
    await advance(clock, settings.openDurationMs, stores);
    const first = await succeed(instances[1]!.breaker); // asks for the permit
    await settle(stores);
    expect(first).toEqual([expect.any(CircuitOpenError)]);
    expect(await succeed(instances[2]!.breaker)).toEqual([expect.any(CircuitOpenError)]);
    await settle(stores);
    expect(await succeed(instances[1]!.breaker)).toEqual(['ok']); // the trial
    await eventually(() => instances.every((i) => i.breaker.state === 'closed'), 5_000, 'the close to reach every instance');
  });
});

test('breakers whose keys live on different masters all sync in one tick; the fleet window trips them', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('cluster-slots');
  // Names whose state keys hash to three different masters.
  const names: string[] = [];
  const masters = new Set<number>();
  for (let i = 0; names.length < 3 && i < 200; i++) {
    const name = `dep-${i}`;
    const master = await cluster.masterOf(await cluster.slotOf(`${prefix}{${name}}:state`));
    if (!masters.has(master)) {
      masters.add(master);
      names.push(name);
    }
  }
  expect(masters.size).toBe(3);
  const [a, b] = [clusterStore(clock, prefix), clusterStore(clock, prefix)];
  const left = names.map((name) => instance(name, clock, a, settings));
  const right = names.map((name) => instance(name, clock, b, settings));
  made(...left.map((i) => i.breaker), ...right.map((i) => i.breaker));
  await eventually(() => [...left, ...right].every((i) => i.breaker.snapshot().store === 'shared'), 10_000, 'every breaker sharing');

  // 2 failures on each side: neither instance alone meets minimumCalls 4, the fleet's window does.
  for (const i of [...left, ...right]) await fail(i.breaker, 2);
  await advance(clock, SYNC_MS, [a, b]);
  await advance(clock, SYNC_MS, [a, b]);
  // Every breaker opens within a few syncs: on the fleet window itself, or by adopting the opening
  // a peer wrote (by its message, or by the next sync if the message came before this instance's
  // shard subscription did). Each wait is one more sync interval on the clock.
  let syncs = 0;
  await eventually(
    async () => {
      if ([...left, ...right].every((i) => i.breaker.state === 'open')) return true;
      if (syncs++ < 5) await advance(clock, SYNC_MS, [a, b]);
      return false;
    },
    5_000,
    'every breaker to trip on the fleet window within 5 more syncs',
  );
  expect([...left, ...right].every((i) => i.breaker.snapshot().store === 'shared')).toBe(true);
});

test('a closed breaker sends no command to any node on its successful calls', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('cluster-quiet');
  const store = clusterStore(clock, prefix);
  const breaker = new CircuitBreaker({ name: 'quiet', clock, store });
  made(breaker);
  await eventually(() => breaker.snapshot().store === 'shared', 10_000, 'store shared');
  await advance(clock, SYNC_MS, [store]);
  await settle([store]);
  // Quiet: no data command reaches any node for a while (the cluster's own PING, REPLCONF and the
  // readings' INFO are left out by dataCommandCalls).
  let before = await cluster.dataCommandCalls();
  await until(async () => {
    const now = await cluster.dataCommandCalls();
    const quiet = now === before;
    before = now;
    return quiet;
  }, 10_000, 'the cluster to go quiet');

  for (let i = 0; i < 5_000; i++) breaker.executeSync(() => i);
  for (let i = 0; i < 5_000; i++) await breaker.execute(async () => i);
  await new Promise((resolve) => setTimeout(resolve, 50)); // anything sent would have arrived by now
  const after = await cluster.dataCommandCalls();
  expect(after - before).toBe(0);
  expect(breaker.totals().successfulCalls).toBe(10_000);

  // The next tick sends the delta: an EVALSHA on the breaker's master.
  clock.advance(SYNC_MS);
  await settle([store]);
  expect((await cluster.dataCommandCalls()) - after).toBeGreaterThan(0);
});
