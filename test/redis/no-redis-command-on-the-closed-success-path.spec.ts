/**
 * A call never waits on Redis: on a server of the test's own, 10,000 successful calls on a closed
 * shared breaker send no command at all (INFO's total_commands_processed grows only by the test's
 * own INFO calls); the calls reach Redis as one window delta at the next sync tick.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { CircuitBreaker } from 'nestjs-breaker';
import {
  ManualClock,
  RedisServer,
  SYNC_MS,
  adminClient,
  clientCount,
  commandsProcessed,
  eventually,
  redisStore,
  settle,
  subscribed,
  uniquePrefix,
} from './helpers.js';

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  admin = adminClient(server.url);
});
afterAll(async () => {
  // Undefined when beforeAll failed (e.g. no redis-server on PATH): nothing to stop.
  await admin?.quit();
  await server?.stop();
});

/** The server's command count once it is stable (connection set-up done): each reading costs exactly 1 (itself). */
async function quietCount(): Promise<number> {
  let previous = await commandsProcessed(admin);
  for (let reading = 0; reading < 100; reading++) {
    const current = await commandsProcessed(admin);
    if (current === previous + 1) return current;
    previous = current;
  }
  throw new Error('the server never went quiet: something keeps sending commands');
}

test('10,000 successful calls send no Redis command; the next sync tick sends their delta', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('quiet');
  const store = redisStore(server.url, clock, prefix);
  const sync = new CircuitBreaker({ name: 'sync-calls', clock, store });
  const async = new CircuitBreaker({ name: 'async-calls', clock, store, slidingWindow: { type: 'time', durationMs: 10_000, buckets: 10 } });
  try {
    await subscribed(admin, `${prefix}transitions`, 1);
    // Let the store's connections finish their set-up (ready check, subscription).
    await eventually(async () => (await clientCount(admin)) === 3, 3_000, "the store's 2 connections");
    await eventually(() => sync.snapshot().store === 'shared', 3_000, 'store shared');
    const before = await quietCount();

    for (let i = 0; i < 5_000; i++) sync.executeSync(() => i);
    for (let i = 0; i < 5_000; i++) await async.execute(async () => i);
    await new Promise((resolve) => setTimeout(resolve, 50)); // anything sent would have arrived by now

    const after = await commandsProcessed(admin);
    expect(after - before).toBe(1); // the INFO that read `before`
    expect(sync.totals().successfulCalls + async.totals().successfulCalls).toBe(10_000);

    // One sync interval later the ticker sends the deltas (a sync per breaker, in one pipeline).
    clock.advance(SYNC_MS);
    await settle([store]);
    const synced = await commandsProcessed(admin);
    expect(synced - after).toBeGreaterThan(1);
    const slices = await admin.keys(`${prefix}*:w:*`);
    const counted = await Promise.all(slices.map((key) => admin.hget(key, 'c')));
    expect(counted.map(Number).sort((x, y) => x - y)).toEqual([5_000, 5_000]);

    // Idle breakers with nothing to send stay quiet between refreshes too.
    const idle = await quietCount();
    clock.advance(SYNC_MS);
    await settle([store]);
    expect((await commandsProcessed(admin)) - idle).toBe(1);
  } finally {
    sync.dispose();
    async.dispose();
  }
});
