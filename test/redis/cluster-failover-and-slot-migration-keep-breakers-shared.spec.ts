/**
 * A Redis Cluster changing under traffic: a master failover (CLUSTER FAILOVER on its replica, and a
 * master killed outright) and the migration of a breaker's slot to another master. Callers never see
 * a Redis error (every call answers as a closed breaker answers), and afterwards the instances share
 * again: an opening on one reaches the other.
 *
 * Engine time comes from a ManualClock; waiting for the cluster is polling with a deadline.
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { Cluster } from 'ioredis';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import { RedisCluster, until } from '../support/redis-cluster.js';
import type { Instance } from './helpers.js';
import { ManualClock, SYNC_MS, capturingLogger, fail, instance, settle, track, uniquePrefix } from './helpers.js';

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

const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 4, failureRateThreshold: 50, openDurationMs: 60_000 } as const;

interface Fleet {
  readonly clock: ManualClock;
  readonly prefix: string;
  readonly stores: RedisCircuitBreakerStore[];
  readonly instances: Instance[];
  /** Every call's outcome: 'ok', or what the caller got instead. */
  readonly outcomes: unknown[];
}

async function fleet(tag: string): Promise<Fleet> {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix(tag);
  const stores = [0, 1].map(() => {
    const client = new Cluster(cluster.startupNodes, { lazyConnect: true });
    cleanups.push(() => client.disconnect());
    return track(RedisCircuitBreakerStore.fromClient(client, { keyPrefix: prefix, clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: 1_000, logger: capturingLogger() }));
  });
  const instances = stores.map((store) => instance('payments', clock, store, settings));
  cleanups.push(() => instances.forEach((i) => i.breaker.dispose()));
  await until(() => instances.every((i) => i.breaker.snapshot().store === 'shared'), 10_000, 'both instances sharing');
  await until(async () => (await cluster.shardSubscribers(`${prefix}{payments}:transitions`)) === 2, 5_000, 'both instances subscribed');
  return { clock, prefix, stores, instances, outcomes: [] };
}

/** One sync interval of traffic: 5 successful calls per instance, then the tick and its round trips. */
async function traffic(f: Fleet): Promise<void> {
  for (const { breaker } of f.instances) {
    for (let i = 0; i < 5; i++) f.outcomes.push(await breaker.execute(async () => 'ok').catch((error: unknown) => error));
  }
  f.clock.advance(SYNC_MS);
  await settle(f.stores, 10_000);
}

/** Traffic until `condition` holds (bounded by real time: the cluster's own failover timing). */
async function trafficUntil(f: Fleet, condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await until(async () => {
    await traffic(f);
    return condition();
  }, 20_000, what);
}

/** After the change: both instances share again, and an opening on one reaches the other. */
async function sharingResumes(f: Fleet): Promise<void> {
  await trafficUntil(f, () => f.instances.every((i) => i.breaker.snapshot().store === 'shared' && i.breaker.state === 'closed'), 'both instances sharing again');
  expect(f.outcomes.length).toBeGreaterThan(0);
  expect(f.outcomes.every((outcome) => outcome === 'ok')).toBe(true); // no caller saw a Redis error
  await fail(f.instances[0]!.breaker, settings.slidingWindow.size); // the local window alone trips
  expect(f.instances[0]!.breaker.state).toBe('open');
  await until(async () => {
    f.clock.advance(SYNC_MS);
    await settle(f.stores, 10_000);
    return f.instances[1]!.breaker.state === 'open';
  }, 10_000, 'the opening to reach the other instance');
  expect(f.instances[1]!.events.at(-1)?.reason).toBe('shared_state');
}

async function replicaOf(master: number): Promise<number> {
  const nodes = await cluster.nodes();
  const masterId = nodes.find((node) => node.port === master)!.id;
  return nodes.find((node) => node.masterId === masterId)!.port;
}

async function breakerMaster(f: Fleet): Promise<{ slot: number; port: number }> {
  const slot = await cluster.slotOf(`${f.prefix}{payments}:state`);
  return { slot, port: await cluster.masterOf(slot) };
}

test('a manual failover of the breaker\'s master mid-traffic: no caller-visible error, sharing resumes', async () => {
  const f = await fleet('cluster-failover');
  await traffic(f);
  const { slot, port: oldMaster } = await breakerMaster(f);
  const replica = await replicaOf(oldMaster);

  await cluster.node(replica).call('CLUSTER', 'FAILOVER');
  await trafficUntil(f, async () => (await cluster.masterOf(slot, replica)) === replica, 'the replica to take over the slot');
  await cluster.waitHealthy();
  await sharingResumes(f);
}, 60_000);

test('the breaker\'s slot migrates to another master mid-traffic: no caller-visible error, sharing resumes', async () => {
  // An earlier test's failover may still be settling: start from a cluster every node agrees on.
  await cluster.waitHealthy();
  const f = await fleet('cluster-migrate');
  await traffic(f);
  const { slot, port: source } = await breakerMaster(f);
  const nodes = await cluster.nodes();
  const target = nodes.find((node) => node.master && node.masterId === '' && node.port !== source)!;
  const sourceId = nodes.find((node) => node.port === source)!.id;

  await cluster.node(target.port).call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
  await cluster.node(source).call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
  await traffic(f);
  for (;;) {
    const keys = (await cluster.node(source).call('CLUSTER', 'GETKEYSINSLOT', slot, 1)) as string[];
    if (keys.length === 0) break;
    await cluster.node(source).call('MIGRATE', '127.0.0.1', target.port, '', 0, 5_000, 'KEYS', ...keys);
    await traffic(f); // one key moved, the others not yet: the scripts are asked to try again
  }
  // Every master learns the slot's new owner; each node is asked for its own role (a node's view of
  // the others can lag behind a failover, and SETSLOT is refused by a replica).
  for (const port of cluster.running) {
    const [role] = (await cluster.node(port).call('ROLE')) as [string];
    if (role === 'master') await cluster.node(port).call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
  }
  await until(async () => {
    for (const port of cluster.running) if ((await cluster.masterOf(slot, port)) !== target.port) return false;
    return true;
  }, 10_000, 'every node to agree on the slot\'s new master');
  expect((await breakerMaster(f)).port).toBe(target.port);
  await sharingResumes(f);
}, 60_000);

test('a killed master: its replica takes over, no caller-visible error, sharing resumes', async () => {
  const f = await fleet('cluster-kill');
  await traffic(f);
  const { slot, port: oldMaster } = await breakerMaster(f);
  const replica = await replicaOf(oldMaster);
  await cluster.kill(oldMaster);
  await trafficUntil(f, async () => (await cluster.masterOf(slot, replica)) === replica, 'the replica to be elected');
  await until(async () => /cluster_state:ok/.test((await cluster.node(replica).call('CLUSTER', 'INFO')) as string), 10_000, 'cluster_state:ok');
  await sharingResumes(f);
}, 60_000);

