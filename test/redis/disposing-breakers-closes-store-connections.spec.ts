/**
 * Nothing leaks: a store made by fromUrl closes its connections when the last breaker using it is
 * disposed (not before); a store made by fromClient closes only its pub/sub duplicate and leaves the
 * caller's client open; no ticker timer is left behind. Counted with CLIENT LIST on a server of the
 * test's own (and jest --detectOpenHandles watches the whole run).
 */
import { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { CircuitBreaker } from 'nestjs-breaker';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import {
  ManualClock,
  RedisServer,
  SYNC_MS,
  adminClient,
  advance,
  capturingLogger,
  clientCount,
  eventually,
  fail,
  redisStore,
  settle,
  subscribed,
  track,
  uniquePrefix,
} from './helpers.js';

let server: RedisServer;
let admin: Redis;
let baseline: number;

/**
 * TCP sockets this process holds to the test's own server (the store's connections are among them
 * while they live). Only sockets to that port count: Jest may run every file in one process, and
 * sockets of other files (HTTP keep-alive, other servers) open and close meanwhile.
 */
function tcpSockets(): number {
  const port = Number(new URL(server.url).port);
  // process._getActiveHandles() is the one way to see a live socket's peer from inside the process.
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((handle) => handle instanceof Socket && handle.remotePort === port).length;
}

// A failed expectation must not leave a store connected: later tests would count its connections,
// and an open connection keeps Jest (in band on 2 cores) from exiting.
const created: CircuitBreaker[] = [];
afterEach(() => {
  for (const breaker of created.splice(0)) breaker.dispose();
});
function made<T extends CircuitBreaker[]>(breakers: T): T {
  created.push(...breakers);
  return breakers;
}

beforeAll(async () => {
  server = await RedisServer.start();
  admin = adminClient(server.url);
  baseline = await clientCount(admin); // the admin connection itself
});
afterAll(async () => {
  // Undefined when beforeAll failed (e.g. no redis-server on PATH): nothing to stop.
  await admin?.quit();
  await server?.stop();
});

const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 2, failureRateThreshold: 50, openDurationMs: 1_000 } as const;

test('fromUrl stores close their connections when their last breaker is disposed', async () => {
  const sockets = tcpSockets();
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('leak');
  const first = redisStore(server.url, clock, prefix);
  const second = redisStore(server.url, clock, prefix);
  const breakers = made([
    new CircuitBreaker({ name: 'payments', clock, store: first, ...settings }),
    new CircuitBreaker({ name: 'inventory', clock, store: first, ...settings }),
    new CircuitBreaker({ name: 'payments', clock, store: second, ...settings }),
  ]);
  await subscribed(admin, `${prefix}transitions`, 2);
  // Exercise every kind of command: syncs, a transition, a trial.
  await fail(breakers[0]!, 2);
  // Past the opening's end with room to spare: the store places the end on the server's clock, which
  // moves in real time while this ManualClock does not (on a loaded machine, by up to a second).
  await advance(clock, settings.openDurationMs * 3, [first, second]);
  await breakers[2]!.execute(async () => 'ok').catch(() => undefined);
  await settle([first, second]);
  await breakers[2]!.execute(async () => 'ok');
  await settle([first, second]);
  await eventually(async () => (await clientCount(admin)) === baseline + 4, 3_000, '2 connections per store');

  // Not the last breaker of its store: the connections stay.
  breakers[0]!.dispose();
  await settle([first, second]);
  expect(await clientCount(admin)).toBe(baseline + 4);
  expect(breakers[1]!.snapshot().store).toBe('shared');

  breakers[1]!.dispose();
  await eventually(async () => (await clientCount(admin)) === baseline + 2, 3_000, "the first store's connections to close");
  expect(tcpSockets()).toBe(sockets + 2);
  breakers[2]!.dispose();
  await eventually(async () => (await clientCount(admin)) === baseline, 3_000, 'every store connection to close');
  expect(clock.pendingTimers).toBe(0);
  await eventually(() => tcpSockets() === sockets, 3_000, "this process's sockets to close");
});

test('disposing the last breaker while a command is in flight leaves no connection behind', async () => {
  const sockets = tcpSockets();
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('leak-inflight');
  const store = redisStore(server.url, clock, prefix);
  const [breaker] = made([new CircuitBreaker({ name: 'payments', clock, store, ...settings })]);
  await subscribed(admin, `${prefix}transitions`, 1);
  await admin.script('FLUSH'); // the store must load its scripts again: its first sync takes two round trips

  breaker.executeSync(() => 'ok');
  clock.advance(SYNC_MS); // the sync is sent...
  breaker.dispose(); // ...and the last breaker goes away before it is answered
  await settle([store]);
  await eventually(async () => (await clientCount(admin)) === baseline, 3_000, 'every store connection to close');
  await new Promise((resolve) => setTimeout(resolve, 100)); // a connection opened late would show up by now
  expect(await clientCount(admin)).toBe(baseline);
  expect(clock.pendingTimers).toBe(0);
  await eventually(() => tcpSockets() === sockets, 3_000, "this process's sockets to close");
});

test('a fromClient store closes only the connections it opened; the caller keeps a working client', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('leak-client');
  const client = new Redis(server.url);
  try {
    await client.ping();
    const store = track(RedisCircuitBreakerStore.fromClient(client, { keyPrefix: prefix, clock, syncIntervalMs: SYNC_MS, logger: capturingLogger() }));
    const breakers = made([
      new CircuitBreaker({ name: 'payments', clock, store, ...settings }),
      new CircuitBreaker({ name: 'inventory', clock, store, ...settings }),
    ]);
    await subscribed(admin, `${prefix}transitions`, 1);
    await fail(breakers[0]!, 2);
    await advance(clock, SYNC_MS, [store]);
    expect(await client.hget(store.stateKey('payments'), 's')).toBe('open');
    expect(await clientCount(admin)).toBeGreaterThanOrEqual(baseline + 2); // the caller's client + the store's own duplicate(s)

    for (const breaker of breakers) breaker.dispose();
    await eventually(async () => (await clientCount(admin)) === baseline + 1, 3_000, "the store's own connections to close");
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    expect(clock.pendingTimers).toBe(0);
  } finally {
    await client.quit();
  }
  await eventually(async () => (await clientCount(admin)) === baseline, 3_000, 'back to the baseline');
});
