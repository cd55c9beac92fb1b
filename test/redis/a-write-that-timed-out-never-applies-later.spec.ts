/**
 * A transition written during a Redis stall, which its instance gave up on (commandTimeoutMs),
 * must never apply when Redis wakes up: by then the fleet may have moved on (recovered), and a
 * late write would re-open it. Every write carries a deadline on the server's clock (`TIME`) and
 * the script refuses it past the deadline. (Before: the queued write ran on wake-up and the
 * peers adopted an opening nobody held any more.)
 */
import { expect, test } from '@jest/globals';
import { ManualClock, SYNC_MS, advance, attempt, deleteKeys, fail, instance, redisStore, settle, storedState, subscribed, turn, uniquePrefix, useRedisServer } from './helpers.js';

const NAME = 'payments';
const COMMAND_TIMEOUT_MS = 200;
const STALL_MS = 1_000;

const redis = useRedisServer();

test('a transition queued during a stall and given up on is refused when Redis wakes up', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('stall');
  const stores = [0, 1].map(() => redisStore(redis.url, clock, prefix, { commandTimeoutMs: COMMAND_TIMEOUT_MS }));
  const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 1, failureRateThreshold: 50, openDurationMs: 60_000 } as const;
  const a = instance(NAME, clock, stores[0]!, settings);
  const b = instance(NAME, clock, stores[1]!, settings);
  redis.cleanups.push(async () => {
    a.breaker.dispose();
    b.breaker.dispose();
    await deleteKeys(redis.admin, prefix);
  });
  await subscribed(redis.admin, `${prefix}transitions`, 2);
  await settle(stores); // first reads answered: each store knows the server's clock
  // One transition before the stall, so the server has the transition script loaded (a stalled
  // EVALSHA of an unknown script would fail on its own and prove nothing).
  b.breaker.reset();
  await settle(stores);
  // A write that found its link not yet clean goes out with the next sync: tick until it landed.
  let before = await storedState(redis.admin, stores[0]!, NAME);
  for (let tick = 0; tick < 10 && before['v'] === undefined; tick++) {
    await advance(clock, SYNC_MS, stores);
    before = await storedState(redis.admin, stores[0]!, NAME);
  }
  expect(before).toMatchObject({ v: '1', s: 'closed' });

  // Redis stalls (every client's commands wait), A trips and sends its transition into the stall.
  await redis.admin.client('PAUSE', STALL_MS, 'ALL');
  await fail(a.breaker, 1);
  expect(a.breaker.state).toBe('open');
  // A gives up on the write: the store counts as down, A protects on its local state.
  clock.advance(COMMAND_TIMEOUT_MS);
  await turn();
  expect(a.breaker.snapshot().store).toBe('local_fallback');

  // Redis wakes up (the admin's PING waits for the pause to end) and runs what was queued.
  expect(await redis.admin.ping()).toBe('PONG');
  await settle(stores);
  const stored = await storedState(redis.admin, stores[0]!, NAME);
  expect(stored).toMatchObject({ v: '1', s: 'closed' });
  expect(b.events.filter((event) => event.to === 'open')).toEqual([]);
  expect(b.breaker.state).toBe('closed');
  expect(await attempt(b.breaker)).toBe('called');
});
