/**
 * The fleet converges after the failures a store meets in production besides a clean outage:
 * - the connection is reset exactly when a transition is written (the write fails, Redis keeps its
 *   data): the transition is written when the store answers again, and the instance does not get
 *   stuck in half_open against a stored state that never heard of its opening;
 * - Redis loses its data (restart without persistence, flush, failover) and an instance that never
 *   saw the old versions writes first: the others still follow it;
 * - an instance that trips before its first sync (it does not know the stored version yet) still
 *   opens the fleet.
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { CircuitOpenError } from 'nestjs-breaker';
import type { CircuitBreaker } from 'nestjs-breaker';
import type { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import {
  ManualClock,
  RedisServer,
  SYNC_MS,
  adminClient,
  advance,
  attempt,
  eventually,
  fail,
  instance,
  redisStore,
  settle,
  storedState,
  subscribed,
  uniquePrefix,
  expectSameOpening,
  openingWatch,
} from './helpers.js';
import type { CapturingLogger, Instance } from './helpers.js';

const NAME = 'payments';
const OPEN_MS = 1_000;
const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 2, failureRateThreshold: 50, openDurationMs: OPEN_MS } as const;

let server: RedisServer;
let admin: Redis;
const disposables: CircuitBreaker[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = adminClient(server.url);
  admin.on('error', () => {});
}, 15_000);
afterEach(async () => {
  for (const breaker of disposables.splice(0)) breaker.dispose();
  if (server === undefined) return; // beforeAll failed (e.g. no redis-server on PATH)
  if (!server.running) await server.start();
  await admin.flushall();
}, 15_000);
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
}, 15_000);

interface Fleet {
  clock: ManualClock;
  prefix: string;
  stores: RedisCircuitBreakerStore[];
  instances: Instance[];
}

async function fleet(size: number): Promise<Fleet> {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('converge');
  const stores = Array.from({ length: size }, (_, i) => redisStore(server.url, clock, prefix, { redisOptions: { connectionName: `cbtest-${i}` } }));
  const instances = stores.map((store) => instance(NAME, clock, store, settings));
  disposables.push(...instances.map(({ breaker }) => breaker));
  await subscribed(admin, `${prefix}transitions`, size);
  await settle(stores); // each store's first read has answered
  return { clock, prefix, stores, instances };
}

/** One full trip -> trial -> close cycle, so every instance knows a stored version > 0 (here 2). */
async function cycle({ clock, stores, instances }: Fleet): Promise<void> {
  const [a] = instances as [Instance];
  await fail(a.breaker, 2);
  await eventually(() => instances.every(({ breaker }) => breaker.state === 'open'), 3_000, 'every instance to open');
  await advance(clock, OPEN_MS, stores);
  expect(await attempt(a.breaker)).toBeInstanceOf(CircuitOpenError);
  await settle(stores);
  expect(await attempt(a.breaker)).toBe('called');
  await eventually(() => instances.every(({ breaker }) => breaker.state === 'closed'), 3_000, 'every instance to close');
  expect(await storedState(admin, stores[0]!, NAME)).toMatchObject({ v: '2', s: 'closed' });
}

/** Advances sync intervals until `condition` holds (real waiting only for reconnects). */
async function tickUntil(condition: () => boolean, clock: ManualClock, stores: RedisCircuitBreakerStore[], what: string, maxTicks = 50): Promise<void> {
  for (let tick = 0; !condition(); tick++) {
    if (tick >= maxTicks) throw new Error(`${what} did not happen within ${maxTicks} sync ticks`);
    await advance(clock, SYNC_MS, stores);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resets the command connection of store `index` (not its subscriber), the way a proxy or a network blip would. */
async function resetCommandConnection(index: number): Promise<void> {
  const list = (await admin.client('LIST')) as string;
  const line = list.split('\n').find((entry) => entry.includes(` name=cbtest-${index} `) && entry.includes(' sub=0 ') && entry.includes(' psub=0 '));
  if (line === undefined) throw new Error(`no command connection named cbtest-${index} in\n${list}`);
  const id = /\bid=(\d+)/.exec(line)![1]!;
  await admin.client('KILL', 'ID', id);
}

async function tripDuringReset(f: Fleet): Promise<Instance> {
  const [a] = f.instances as [Instance];
  await resetCommandConnection(0);
  await fail(a.breaker, 2); // its write is the command that meets the reset
  expect(a.breaker.state).toBe('open');
  await settle(f.stores);
  expect(a.breaker.snapshot().store).toBe('local_fallback');
  await tickUntil(() => a.breaker.snapshot().store === 'shared', f.clock, f.stores, 'A to rejoin');
  expect((f.stores[0]!.logger as CapturingLogger).logs).toEqual([expect.stringMatching(/reachable again/)]);
  return a;
}

test('a trip whose write met a connection reset is written when the store answers again', async () => {
  const f = await fleet(2);
  await cycle(f);
  const watch = openingWatch(f.clock);
  const a = await tripDuringReset(f);
  const b = f.instances[1]!;

  // Redis kept its data (closed, version 2) and never heard of A's opening: A must tell the fleet.
  await tickUntil(() => b.breaker.state === 'open', f.clock, f.stores, "B to learn of A's trip", 10);
  expectSameOpening(b.breaker.snapshot().openedAt, a.breaker.snapshot().openedAt, watch);
  expect((await storedState(admin, f.stores[0]!, NAME)).s).toBe('open');
}, 15_000);

test('after a write lost to a connection reset, the instance still gets a trial after the open duration', async () => {
  const f = await fleet(2);
  await cycle(f);
  const a = await tripDuringReset(f);
  await advance(f.clock, OPEN_MS, f.stores);

  // The first call claims the fleet permit; within a few calls a trial must run (not: rejected forever).
  const outcomes: unknown[] = [];
  for (let i = 0; i < 5 && outcomes[outcomes.length - 1] !== 'called'; i++) {
    outcomes.push(await attempt(a.breaker));
    await settle(f.stores);
  }
  expect(outcomes[outcomes.length - 1]).toBe('called');
  expect(a.breaker.state).toBe('closed');
}, 15_000);

/** A new instance (a rolling deploy) joins the fleet's store; answers it with every store to wait on. */
async function newInstance(f: Fleet): Promise<{ c: Instance; stores: RedisCircuitBreakerStore[] }> {
  const store = redisStore(server.url, f.clock, f.prefix);
  const c = instance(NAME, f.clock, store, settings);
  disposables.push(c.breaker);
  await subscribed(admin, `${f.prefix}transitions`, f.stores.length + 1);
  return { c, stores: [...f.stores, store] };
}

test('after Redis lost its data, a transition by an instance that never saw the old versions still reaches the others', async () => {
  const f = await fleet(2);
  await cycle(f); // A and B know version 2
  await server.stop('SIGKILL');
  await server.start(); // empty
  await tickUntil(() => f.instances.every(({ breaker }) => breaker.snapshot().store === 'shared'), f.clock, f.stores, 'the stores to rejoin');
  await subscribed(admin, `${f.prefix}transitions`, 2);

  // A new instance starts on the emptied Redis and is the first to write (an operator forces it open).
  const { c, stores } = await newInstance(f);
  c.breaker.forceOpen();
  await settle(stores);
  expect(await storedState(admin, stores[2]!, NAME)).toMatchObject({ s: 'forced_open' });

  await tickUntil(() => f.instances.every(({ breaker }) => breaker.state === 'forced_open'), f.clock, stores, 'A and B to follow C', 10);
}, 15_000);

test.each([
  ['forceOpen()', (breaker: CircuitBreaker) => breaker.forceOpen(), 'forced_open', ['forced_open']],
  ['a trip', (breaker: CircuitBreaker) => fail(breaker, 2), 'open', ['failure_rate']],
] as const)('an instance that moves (%s) before its first sync is not overruled by the state it had not read yet', async (_what, move, state, reasons) => {
  const f = await fleet(2);
  await cycle(f); // the stored state is closed, at version 2

  // A new instance joins and moves at once, before any sync told it the stored version.
  const { c, stores } = await newInstance(f);
  await move(c.breaker);
  expect(c.breaker.state).toBe(state);
  await settle(stores);

  await tickUntil(() => f.instances.every(({ breaker }) => breaker.state === state), f.clock, stores, `A and B to follow C (${state})`, 10);
  expect(c.breaker.state).toBe(state);
  expect(c.events.map((event) => event.reason)).toEqual(reasons); // never reverted to closed meanwhile
}, 15_000);

test.each([
  ['forceOpen() then reset()', (breaker: CircuitBreaker) => (breaker.forceOpen(), breaker.reset()), 'closed'],
  ['reset() then forceOpen()', (breaker: CircuitBreaker) => (breaker.reset(), breaker.forceOpen()), 'forced_open'],
  ['disable() then metricsOnly()', (breaker: CircuitBreaker) => (breaker.disable(), breaker.metricsOnly()), 'metrics_only'],
] as const)('two transitions within one round trip (%s): the fleet ends in the last one', async (_what, moves, last) => {
  const f = await fleet(2);
  const [a, b] = f.instances as [Instance, Instance];
  await cycle(f);
  moves(a.breaker);
  expect(a.breaker.state).toBe(last);
  await settle(f.stores);
  await tickUntil(() => b.breaker.state === last, f.clock, f.stores, `B to end ${last}`, 10);
  await advance(f.clock, 5 * SYNC_MS, f.stores); // a refresh: everything the store holds has been read
  expect(a.breaker.state).toBe(last);
  expect(b.breaker.state).toBe(last);
  expect((await storedState(admin, f.stores[0]!, NAME)).s).toBe(last);
}, 15_000);
