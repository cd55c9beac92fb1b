/**
 * Breaker names are URI-encoded inside the key prefix: names with ':', braces, spaces, newlines and
 * unicode (and names that look like another name's encoding) never collide, every key lives under
 * the prefix with the name as its hash tag, and a store with another prefix shares nothing.
 */
import { expect, test } from '@jest/globals';
import {
  ManualClock,
  SYNC_MS,
  advance,
  deleteKeys,
  eventually,
  fail,
  instance,
  keysUnder,
  redisStore,
  settle,
  subscribed,
  uniquePrefix,
  useRedisServer,
} from './helpers.js';
import type { Instance } from './helpers.js';

const NAMES = [
  'payments',
  'pay:ments',
  'pay%3Aments', // the encoding of the previous one, as a name of its own
  'pay{ments}',
  '{payments}',
  'pay}{ments',
  'pay ments',
  'pay\nments',
  'pay\nments\n1\nopen\n0\n0', // a name that would forge a pub/sub message if it were not encoded
  'paymentsstate',
  'payments:state',
  'платежи',
  '支払い 💳',
  '*',
  '?',
];

const redis = useRedisServer();

test('names with : {} spaces newlines and unicode do not collide, and every key lives under the prefix', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('names');
  const otherPrefix = uniquePrefix('names-other');
  redis.cleanups.push(async () => {
    await deleteKeys(redis.admin, prefix);
    await deleteKeys(redis.admin, otherPrefix);
  });
  const stores = [redisStore(redis.url, clock, prefix), redisStore(redis.url, clock, prefix)];
  const other = redisStore(redis.url, clock, otherPrefix);
  const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 2, failureRateThreshold: 50, openDurationMs: 60_000 } as const;
  const a = new Map<string, Instance>(NAMES.map((name) => [name, instance(name, clock, stores[0]!, settings)]));
  const b = new Map<string, Instance>(NAMES.map((name) => [name, instance(name, clock, stores[1]!, settings)]));
  const c = new Map<string, Instance>(NAMES.map((name) => [name, instance(name, clock, other, settings)]));
  const all = [...a.values(), ...b.values(), ...c.values()];
  try {
    await subscribed(redis.admin, `${prefix}transitions`, 2);
    await subscribed(redis.admin, `${otherPrefix}transitions`, 1);
    await settle([...stores, other]); // each store's first read has answered: the next tick is a sync, not skipped behind it

    // Every breaker has traffic, so every name gets its window slices too.
    for (const { breaker } of all) await breaker.execute(async () => 'ok');
    await advance(clock, SYNC_MS, [...stores, other]);

    // One trip at a time: only the breaker of that exact name opens on the other instance.
    const tripped = new Set<string>();
    for (const name of NAMES) {
      await fail(a.get(name)!.breaker, 2);
      tripped.add(name);
      await eventually(() => b.get(name)!.breaker.state === 'open', 3_000, `B's ${JSON.stringify(name)} to open`);
      for (const other of NAMES) {
        expect([other, b.get(other)!.breaker.state]).toEqual([other, tripped.has(other) ? 'open' : 'closed']);
      }
      expect(b.get(name)!.events).toEqual([expect.objectContaining({ name, to: 'open', reason: 'shared_state' })]);
    }
    // The same names under another prefix share nothing with them.
    for (const { breaker } of c.values()) expect(breaker.state).toBe('closed');

    // Keys: all under the prefix, `prefix{encoded name}:...`, one state key per name, besides the
    // fleet view's heartbeats (`prefix` + `instances`, next to the channel `prefix` + `transitions`).
    const keys = (await keysUnder(redis.admin, prefix)).filter((key) => key !== `${prefix}instances`);
    expect(keys.length).toBeGreaterThanOrEqual(NAMES.length * 2); // state + at least one window slice each
    const shape = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\{([^{}]+)\\}:(state|permits|options|w:[\\d:]+)$`);
    const stateNames: string[] = [];
    for (const key of keys) {
      const match = shape.exec(key);
      expect([key, match !== null]).toEqual([key, true]);
      const name = decodeURIComponent(match![1]!);
      expect(NAMES).toContain(name);
      expect(match![1]).toBe(encodeURIComponent(name));
      if (match![2] === 'state') stateNames.push(name);
    }
    expect(stateNames.sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(await redis.admin.hget(stores[0]!.stateKey(name), 's')).toBe('open');
    // The other prefix's keys are its own (window slices only: nothing tripped there).
    const otherKeys = await keysUnder(redis.admin, otherPrefix);
    expect(otherKeys.length).toBeGreaterThanOrEqual(NAMES.length);
    expect(otherKeys.some((key) => key.endsWith(':state'))).toBe(false);
    expect(otherKeys.every((key) => !key.startsWith(prefix))).toBe(true);
  } finally {
    for (const { breaker } of all) breaker.dispose();
  }
});
