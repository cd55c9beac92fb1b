/**
 * Unreadable data in Redis (a state key of the wrong type or with garbage fields, a window slice
 * with non-numeric counters, a garbage message on the channel) is ignored with a warning: the
 * breakers keep working (no fallback to local state), health says `store: 'unreadable'` while the
 * state cannot be read, and the next transition overwrites the corrupt state.
 */
import { describe, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
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
  keysUnder,
  redisStore,
  settle,
  storedState,
  subscribed,
  succeed,
  uniquePrefix,
  useRedisServer,
} from './helpers.js';
import type { CapturingLogger, Instance } from './helpers.js';

const NAME = 'orders';
const MINIMUM_CALLS = 6;

const redis = useRedisServer();
const { cleanups } = redis;

interface Pair {
  clock: ManualClock;
  prefix: string;
  stores: RedisCircuitBreakerStore[];
  loggers: CapturingLogger[];
  a: Instance;
  b: Instance;
}

async function pair(): Promise<Pair> {
  // Aligned so that the first ticks (at +100, +200 ms) fall in one 1 s window slice.
  const clock = new ManualClock(Math.ceil(Date.now() / 1_000) * 1_000 + 1);
  const prefix = uniquePrefix('corrupt');
  const stores = [redisStore(redis.url, clock, prefix), redisStore(redis.url, clock, prefix)];
  const settings = { slidingWindow: { type: 'count', size: 50 }, minimumCalls: MINIMUM_CALLS, failureRateThreshold: 50, openDurationMs: 5_000 } as const;
  const [a, b] = stores.map((store) => instance(NAME, clock, store, settings)) as [Instance, Instance];
  cleanups.push(async () => {
    a.breaker.dispose();
    b.breaker.dispose();
    await deleteKeys(redis.admin, prefix);
  });
  await subscribed(redis.admin, `${prefix}transitions`, 2);
  await settle(stores); // each store's first read of the shared state has answered: the next tick syncs
  return { clock, prefix, stores, loggers: stores.map((store) => store.logger as CapturingLogger), a, b };
}

/** Both breakers still work and still share (the store was not declared down). */
function expectStillShared({ a, b }: Pair): void {
  for (const { breaker } of [a, b]) {
    expect(breaker.snapshot().store).toBe('shared');
    expect(breaker.totals().storeFallbacks).toBe(0);
  }
}

function allWarnings({ loggers }: Pair): string[] {
  return loggers.flatMap((logger) => logger.warns);
}

describe('a corrupt state key', () => {
  test.each([
    ['a string', async (r: Redis, key: string) => void (await r.set(key, 'garbage'))],
    ['a list', async (r: Redis, key: string) => void (await r.rpush(key, 'a', 'b'))],
    ['a hash with garbage fields', async (r: Redis, key: string) => void (await r.hset(key, { v: 'x', s: 'bogus', ou: 'later', k: '-', e: 'z', t: '?' }))],
    ['a hash with an unknown state', async (r: Redis, key: string) => void (await r.hset(key, { v: '3', s: 'exploded', oa: '', ou: '0', k: '0', e: '0', t: '0' }))],
  ])('(%s) is ignored with a warning and overwritten by the next transition', async (_kind, corrupt) => {
    const fleet = await pair();
    const { clock, stores, a, b } = fleet;
    const key = stores[0]!.stateKey(NAME);
    await corrupt(redis.admin, key);

    await succeed(a.breaker, 2);
    await succeed(b.breaker, 2);
    await advance(clock, SYNC_MS, stores);
    expect(allWarnings(fleet)).toContainEqual(expect.stringMatching(/unreadable data/));
    expect(allWarnings(fleet).join('\n')).not.toMatch(/unavailable/);
    // The store answers (no fallback), but what it holds for this breaker cannot be read.
    for (const { breaker } of [a, b]) {
      expect(breaker.snapshot().store).toBe('unreadable');
      expect(breaker.totals().storeFallbacks).toBe(0);
    }
    expect(a.breaker.state).toBe('closed');
    expect(await attempt(b.breaker)).toBe('called');

    // The next transition replaces the corrupt value, and the peer adopts it.
    await fail(a.breaker, MINIMUM_CALLS);
    expect(a.breaker.state).toBe('open');
    await eventually(() => b.breaker.state === 'open', 3_000, 'B to adopt the trip');
    expect(await redis.admin.type(key)).toBe('hash');
    const stored = await storedState(redis.admin, stores[0]!, NAME);
    expect(stored).toMatchObject({ s: 'open' });
    expect(Number(stored.ou) - Number(stored.oa)).toBe(5_000); // A's opening (stored on the server's clock)
    expectStillShared(fleet);
  });
});

/** A valid stored state but for one field (what adversarial checks wrote). */
const VALID_FIELDS = { v: '3', s: 'closed', oa: '', ou: '0', k: '0', e: '0', t: '0' };
const UNSAFE_FIELDS = [
  ['v=inf', { v: 'inf' }],
  ['v=1e400', { v: '1e400' }],
  ['v=2^53+1', { v: '9007199254740993' }],
  ['k=-1', { k: '-1' }],
  ['k=1.5', { k: '1.5' }],
  ['ou=inf', { ou: 'inf' }],
] as const;

describe('a state field Lua reads as a number but JavaScript cannot use', () => {
  test.each(UNSAFE_FIELDS)('(%s): health says unreadable meanwhile, and the next transition overwrites it and sharing resumes', async (_kind, field) => {
    const fleet = await pair();
    const { clock, stores, a, b } = fleet;
    const key = stores[0]!.stateKey(NAME);
    await redis.admin.hset(key, { ...VALID_FIELDS, ...field });

    await succeed(a.breaker, 2);
    await succeed(b.breaker, 2);
    await advance(clock, SYNC_MS, stores);
    expect(allWarnings(fleet)).toContainEqual(expect.stringMatching(/unreadable data/));
    // Peers' transitions cannot be read from such a state: health must not claim it is shared.
    for (const { breaker } of [a, b]) {
      expect(breaker.snapshot().store).toBe('unreadable');
      expect(breaker.totals().storeFallbacks).toBe(0);
    }

    await fail(a.breaker, MINIMUM_CALLS);
    expect(a.breaker.state).toBe('open');
    await eventually(() => b.breaker.state === 'open', 3_000, 'B to adopt the trip');
    expect(await storedState(redis.admin, stores[0]!, NAME)).toMatchObject({ s: 'open' });
    await advance(clock, SYNC_MS * 5, stores);
    expectStillShared(fleet);
  });
});

const SLICE_GARBAGE = [
  ['non-numeric counters', { c: 'abc', f: 'def', s: 'ghi' }],
  ['a numeric call counter but a garbage failure counter', { c: '1', f: 'x' }],
  ['a numeric call counter but a garbage slow counter', { c: '1', f: '0', s: 'x' }],
  ['negative counters', { c: '-5', f: '-5' }],
  ['counters Lua reads as numbers but HINCRBY does not', { c: '1e3', f: ' 2', s: '0x1' }],
  ['a string instead of a hash', 'garbage'],
] as const;

/**
 * Writes `garbage` into the window slice the next sync tick writes. The slice's key is found by a
 * warm-up sync (one call, one tick) rather than built here, so the test does not depend on how the
 * store spells slice keys; the clock is aligned so the warm-up and the next tick share a slice.
 */
async function corruptNextSlice({ clock, stores, prefix, a }: Pair, garbage: (typeof SLICE_GARBAGE)[number][1]): Promise<string> {
  await succeed(a.breaker, 1);
  await advance(clock, SYNC_MS, stores);
  const slices = (await keysUnder(redis.admin, prefix)).filter((key) => key.includes(':w:'));
  expect(slices).toHaveLength(1);
  const key = slices[0]!;
  await redis.admin.del(key);
  if (typeof garbage === 'string') await redis.admin.set(key, garbage);
  else await redis.admin.hset(key, garbage);
  return key;
}

describe('a corrupt window slice', () => {
  test.each(SLICE_GARBAGE)('(%s) is ignored with a warning, without falling back to local state; the fleet window keeps working', async (_kind, garbage) => {
    const fleet = await pair();
    const { clock, stores, a, b } = fleet;
    await corruptNextSlice(fleet, garbage);

    // Failing calls (their deltas carry failure counts) are synced into the corrupt slice.
    await fail(a.breaker, 1);
    await fail(b.breaker, 1);
    await advance(clock, SYNC_MS, stores);
    expect(allWarnings(fleet)).toContainEqual(expect.stringMatching(/unreadable data/));
    expect(allWarnings(fleet).join('\n')).not.toMatch(/unavailable/);
    expectStillShared(fleet);
    expect(a.breaker.state).toBe('closed');
    expect(await attempt(b.breaker)).toBe('called');

    // In the next slice: each instance alone is below minimumCalls, together they trip.
    await advance(clock, 1_000, stores);
    await fail(a.breaker, MINIMUM_CALLS / 2);
    await fail(b.breaker, MINIMUM_CALLS / 2);
    for (const { breaker } of [a, b]) expect(breaker.snapshot().calls).toBeLessThan(MINIMUM_CALLS); // no local trip possible
    await advance(clock, SYNC_MS, stores);
    await eventually(() => a.breaker.state === 'open' && b.breaker.state === 'open', 3_000, 'the fleet window to trip');
    expect([...a.events, ...b.events].map((event) => event.reason)).toContain('failure_rate');
    // One opening: the peer that lost the race adopts the winner's times (read within a command timeout of the write: exact).
    expect(a.breaker.snapshot().openedAt).toBe(b.breaker.snapshot().openedAt);
    expectStillShared(fleet);
  });

  test.each(SLICE_GARBAGE)('(%s): calls synced into it still count (the slice is reset, not discarded with them)', async (_kind, garbage) => {
    const fleet = await pair();
    const { clock, stores, a, b } = fleet;
    await corruptNextSlice(fleet, garbage);

    // Each instance alone is below minimumCalls; together they reach it, in the corrupt slice.
    await fail(a.breaker, MINIMUM_CALLS / 2);
    await fail(b.breaker, MINIMUM_CALLS / 2);
    await advance(clock, SYNC_MS, stores);
    await eventually(() => a.breaker.state === 'open' && b.breaker.state === 'open', 3_000, 'the fleet window to trip');
    expectStillShared(fleet);
  });
});

test('a garbage message on the channel is ignored with a warning; real transitions still propagate', async () => {
  const fleet = await pair();
  const { prefix, loggers, a, b } = fleet;
  const channel = `${prefix}transitions`;
  const garbage = [
    'garbage',
    '',
    '%E0%A4%A\n1\nopen\n1\n2\n1', // a name that is not valid percent-encoding
    `${NAME}\nNaN\nopen\n\n\n`,
    `${NAME}\n2\nexploded\n\n0\n0`,
    `${NAME}\n2\nopen\n\n0\n0\nextra`,
  ];
  for (const message of garbage) expect(await redis.admin.publish(channel, message)).toBe(2);
  await eventually(() => loggers.every((logger) => logger.warns.length > 0), 3_000, 'a warning from each store');
  for (const logger of loggers) expect(logger.warns).toEqual([expect.stringMatching(/unreadable message/)]);

  for (const { breaker } of [a, b]) {
    expect(breaker.state).toBe('closed');
    expect(await attempt(breaker)).toBe('called');
  }
  expectStillShared(fleet);

  await fail(a.breaker, MINIMUM_CALLS);
  await eventually(() => b.breaker.state === 'open', 3_000, 'B to adopt the trip');
  expect(b.events).toEqual([expect.objectContaining({ to: 'open', reason: 'shared_state' })]);
});
