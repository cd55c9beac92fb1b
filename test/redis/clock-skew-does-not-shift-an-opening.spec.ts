/**
 * Through Redis, instances whose clocks differ by minutes agree on when a shared opening ends: the
 * scripts store the opening as durations from the server's `TIME`, and every answer and message
 * carries the server's now, so each instance places the end of the opening on its own clock.
 */
import { expect, test } from '@jest/globals';
import { CircuitOpenError } from 'nestjs-breaker';
import { ManualClock, advance, deleteKeys, eventually, expectSameOpening, openingWatch, fail, instance, redisStore, settle, storedState, subscribed, uniquePrefix, useRedisServer } from './helpers.js';

const NAME = 'payments';
const OPEN_MS = 10_000;
const SKEW_MS = 5 * 60_000;

const redis = useRedisServer();

test.each([
  ['5 minutes ahead', SKEW_MS],
  ['5 minutes behind', -SKEW_MS],
])('a peer whose clock is %s adopts an opening that ends OPEN_MS after it began, on its own clock', async (_label, skewMs) => {
  const clockA = new ManualClock(Date.now());
  const clockB = new ManualClock(Date.now() + skewMs);
  const prefix = uniquePrefix('skew');
  const stores = [redisStore(redis.url, clockA, prefix), redisStore(redis.url, clockB, prefix)];
  const settings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 1, failureRateThreshold: 50, openDurationMs: OPEN_MS } as const;
  const a = instance(NAME, clockA, stores[0]!, settings);
  const b = instance(NAME, clockB, stores[1]!, settings);
  redis.cleanups.push(async () => {
    a.breaker.dispose();
    b.breaker.dispose();
    await deleteKeys(redis.admin, prefix);
  });
  await subscribed(redis.admin, `${prefix}transitions`, 2);
  await settle(stores);

  const watch = openingWatch(clockA);
  await fail(a.breaker, 1);
  expect(a.breaker.state).toBe('open');
  await eventually(() => b.breaker.state === 'open', 3_000, 'B to adopt the opening');
  // The message carries the server's time of the write: B places the opening on its own clock, off
  // by no more than the real time that passed on the server while the ManualClocks stood still
  // (a few ms), never by the 5 minutes between the clocks.
  const placedLaterMs = b.breaker.snapshot().openedAt! - (a.breaker.snapshot().openedAt! + skewMs);
  expectSameOpening(b.breaker.snapshot().openedAt, a.breaker.snapshot().openedAt! + skewMs, watch);
  // Start and end are each placed from the server's times (each rounded): within that much, plus 1 ms.
  const toleranceMs = Math.abs(placedLaterMs) + 1;
  const near = (actual: number | undefined, expected: number) => expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(toleranceMs);
  near(b.breaker.snapshot().retryAfterMs, OPEN_MS);
  const stored = await storedState(redis.admin, stores[0]!, NAME);
  expect(Number(stored.ou) - Number(stored.oa)).toBe(OPEN_MS);

  // Both clocks move together; the opening ends at the same moment for both.
  const stepAll = async (ms: number) => {
    clockB.advance(ms);
    await advance(clockA, ms, stores);
  };
  await stepAll(OPEN_MS - 100);
  near(b.breaker.snapshot().retryAfterMs, 100);
  await expect(b.breaker.execute(async () => 'ok')).rejects.toBeInstanceOf(CircuitOpenError);
  expect(b.breaker.state).toBe('open');
  await stepAll(100 + toleranceMs);
  expect(b.breaker.snapshot().retryAfterMs).toBe(0);
  expect(a.breaker.snapshot().retryAfterMs).toBe(0);
});
