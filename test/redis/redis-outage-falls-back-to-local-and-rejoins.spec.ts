/**
 * Redis killed mid-traffic and restarted: callers never see a Redis error, breakers fall back to
 * local state (one warning per store), a local trip still protects; once Redis is back the stores
 * rejoin, the state changed during the outage is written back, and sharing resumes.
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { CircuitOpenError } from 'nestjs-breaker';
import type { CircuitBreaker } from 'nestjs-breaker';
import type { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import type { Redis } from 'ioredis';
import {
  FnError,
  ManualClock,
  RedisServer,
  SYNC_MS,
  adminClient,
  advance,
  eventually,
  instance,
  redisStore,
  storedState,
  subscribed,
  uniquePrefix,
  expectSameOpening,
  openingWatch,
} from './helpers.js';
import type { CapturingLogger, Instance } from './helpers.js';

const NAME = 'payments';

let server: RedisServer;
let admin: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
const disposables: CircuitBreaker[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = adminClient(server.url);
  admin.on('error', () => {});
  process.on('unhandledRejection', onUnhandled);
}, 20_000);
afterEach(() => {
  for (const breaker of disposables.splice(0)) breaker.dispose();
}, 20_000);
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  // Undefined when beforeAll failed (e.g. no redis-server on PATH): nothing to stop.
  admin?.disconnect();
  await server?.stop();
}, 20_000);

/** Every outcome a caller saw; each must be fn's own result or error, or a CircuitOpenError. */
class Callers {
  readonly outcomes: unknown[] = [];
  fnCalls = 0;

  async run(breaker: CircuitBreaker, calls: number, failing: boolean): Promise<void> {
    for (let i = 0; i < calls; i++) {
      try {
        this.outcomes.push(
          await breaker.execute(async () => {
            this.fnCalls++;
            if (failing) throw new FnError();
            return 'ok';
          }),
        );
      } catch (error) {
        this.outcomes.push(error);
      }
    }
  }

  foreign(): unknown[] {
    return this.outcomes.filter((o) => o !== 'ok' && !(o instanceof FnError) && !(o instanceof CircuitOpenError));
  }
}

/** Advances sync intervals until `condition` holds (real waiting only for the reconnect's I/O). */
async function tickUntil(condition: () => boolean, clock: ManualClock, stores: RedisCircuitBreakerStore[], what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 10 s of sync ticks`);
    await advance(clock, SYNC_MS, stores);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('Redis killed mid-traffic: local fallback, one warning, local trips protect; restarted: rejoin, write-back, sharing resumes', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('outage');
  const stores = [redisStore(server.url, clock, prefix), redisStore(server.url, clock, prefix)];
  const loggers = stores.map((store) => store.logger as CapturingLogger);
  const settings = { slidingWindow: { type: 'count', size: 20 }, minimumCalls: 5, failureRateThreshold: 50, openDurationMs: 10_000 } as const;
  const [a, b] = stores.map((store) => instance(NAME, clock, store, settings)) as [Instance, Instance];
  disposables.push(a.breaker, b.breaker);
  const callers = new Callers();
  await subscribed(admin, `${prefix}transitions`, 2);

  // Traffic while Redis is up: shared, nothing tripped.
  for (let i = 0; i < 3; i++) {
    await callers.run(a.breaker, 5, false);
    await callers.run(b.breaker, 5, false);
    await callers.run(a.breaker, 1, true);
    await advance(clock, SYNC_MS, stores);
  }
  expect(a.breaker.snapshot().store).toBe('shared');
  expect(b.breaker.snapshot().store).toBe('shared');

  // Kill Redis in the middle of traffic.
  const inFlight = callers.run(a.breaker, 20, false);
  await server.stop('SIGKILL');
  await inFlight;
  await tickUntil(
    () => a.breaker.snapshot().store === 'local_fallback' && b.breaker.snapshot().store === 'local_fallback',
    clock,
    stores,
    'local fallback',
  );
  for (const { breaker } of [a, b]) {
    expect(breaker.totals().storeFallbacks).toBeGreaterThanOrEqual(1);
    expect(breaker.state).toBe('closed');
  }

  // Breakers work locally: calls run, a local trip still protects (and is local to A).
  await callers.run(b.breaker, 10, false);
  await callers.run(a.breaker, 10, true);
  expect(a.breaker.state).toBe('open');
  expect(a.events[a.events.length - 1]).toMatchObject({ to: 'open', reason: 'failure_rate' });
  const fnCallsBefore = callers.fnCalls;
  await callers.run(a.breaker, 5, false);
  expect(callers.fnCalls).toBe(fnCallsBefore); // rejected without calling fn
  expect(callers.outcomes.slice(-5).every((o) => o instanceof CircuitOpenError)).toBe(true);
  const openedAt = a.breaker.snapshot().openedAt!;
  expect(b.breaker.state).toBe('closed');

  // The outage goes on for several ticks: still exactly one warning per store.
  await advance(clock, 10 * SYNC_MS, stores);
  expect(loggers.map((logger) => logger.warns.length)).toEqual([1, 1]);
  expect(loggers[0]!.warns[0]).toMatch(/unavailable/);
  expect(loggers.map((logger) => logger.logs.length)).toEqual([0, 0]);

  // Redis comes back (empty: it keeps nothing on disk).
  const rejoining = openingWatch(clock);
  await server.start();
  await tickUntil(
    () => a.breaker.snapshot().store === 'shared' && b.breaker.snapshot().store === 'shared',
    clock,
    stores,
    'the stores to rejoin',
  );
  for (const logger of loggers) expect(logger.logs).toEqual([expect.stringMatching(/reachable again/)]);

  // A's trip during the outage is written back, and B adopts it.
  await tickUntil(() => b.breaker.state === 'open', clock, stores, 'B to adopt the trip made during the outage');
  expect(b.events[b.events.length - 1]).toMatchObject({ from: 'closed', to: 'open', reason: 'shared_state' });
  expectSameOpening(b.breaker.snapshot().openedAt, openedAt, rejoining);
  expect(await storedState(admin, stores[0]!, NAME)).toMatchObject({ s: 'open' });

  // Sharing resumes both ways: a reset on B closes A; a trip on A opens B.
  await subscribed(admin, `${prefix}transitions`, 2);
  b.breaker.reset();
  await eventually(() => a.breaker.state === 'closed', 3_000, 'A to adopt the reset');
  await callers.run(a.breaker, 5, true);
  expect(a.breaker.state).toBe('open');
  await eventually(() => b.breaker.state === 'open', 3_000, 'B to adopt the trip');
  expectSameOpening(b.breaker.snapshot().openedAt, a.breaker.snapshot().openedAt);

  // Through it all: callers saw only fn's results and errors, or CircuitOpenError.
  expect(callers.foreign()).toEqual([]);
  expect(unhandled).toEqual([]);
  expect(loggers.map((logger) => logger.warns.length)).toEqual([1, 1]);
}, 20_000);
