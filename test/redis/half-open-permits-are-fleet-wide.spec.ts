/**
 * Half-open trials are limited fleet-wide: with halfOpenMaxCalls = 2, at most 2 trial calls run
 * across 4 instances per opening, however many calls arrive; a permit held by an instance that
 * crashed frees itself at its expiry (now + halfOpenProbeTimeoutMs).
 */
import { expect, test } from '@jest/globals';
import { CircuitOpenError } from 'nestjs-breaker';
import type { CircuitBreaker } from 'nestjs-breaker';
import type { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import {
  FnError,
  ManualClock,
  advance,
  deleteKeys,
  eventually,
  fail,
  instance,
  redisStore,
  settle,
  storedState,
  subscribed,
  uniquePrefix,
  useRedisServer,
} from './helpers.js';
import type { Instance } from './helpers.js';

const NAME = 'inventory';
const OPEN_MS = 1_000;
const PROBE_MS = 3_000;

const redis = useRedisServer();
const { cleanups } = redis;

interface Fleet {
  clock: ManualClock;
  stores: RedisCircuitBreakerStore[];
  instances: Instance[];
}

/** `size` instances (a store each), tripped open by a failure on the first one. */
async function openFleet(size: number, halfOpenMaxCalls: number): Promise<Fleet> {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('permits');
  const stores = Array.from({ length: size }, () => redisStore(redis.url, clock, prefix));
  const instances = stores.map((store) =>
    instance(NAME, clock, store, {
      slidingWindow: { type: 'count', size: 10 },
      minimumCalls: 1,
      failureRateThreshold: 50,
      openDurationMs: OPEN_MS,
      halfOpenMaxCalls,
      halfOpenProbeTimeoutMs: PROBE_MS,
    }),
  );
  cleanups.push(async () => {
    for (const { breaker } of instances) breaker.dispose();
    await deleteKeys(redis.admin, prefix);
  });
  await subscribed(redis.admin, `${prefix}transitions`, size);
  await settle(stores); // each store's first read has answered
  await fail(instances[0]!.breaker, 1);
  await eventually(() => instances.every(({ breaker }) => breaker.state === 'open'), 3_000, 'every instance to open');
  await settle(stores);
  return { clock, stores, instances };
}

function permitsKey(store: RedisCircuitBreakerStore): string {
  return `${store.stateKey(NAME).replace(/:state$/, '')}:permits`;
}

/** Trial calls that stay pending until the test settles them. */
class Trials {
  readonly running: { breaker: CircuitBreaker; resolve: (value: string) => void; reject: (error: unknown) => void; outcome: Promise<unknown> }[] = [];
  rejected = 0;
  readonly other: unknown[] = [];

  /** `perInstance` concurrent calls on every instance (all issued before any answer can arrive). */
  burst(instances: readonly Instance[], perInstance: number): void {
    for (const { breaker } of instances) {
      for (let i = 0; i < perInstance; i++) {
        let resolve!: (value: string) => void;
        let reject!: (error: unknown) => void;
        let invoked = false;
        const outcome = breaker
          .execute(async () => {
            invoked = true;
            return new Promise<string>((res, rej) => {
              resolve = res;
              reject = rej;
            });
          })
          .catch((error: unknown) => {
            if (!invoked && error instanceof CircuitOpenError) this.rejected++;
            else if (!invoked) this.other.push(error);
            return error;
          });
        if (invoked) this.running.push({ breaker, resolve, reject, outcome });
      }
    }
  }
}

async function bursts(trials: Trials, fleet: Fleet, rounds: number, perInstance: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    trials.burst(fleet.instances, perInstance);
    await settle(fleet.stores); // the permit claims those calls started are answered
  }
}

test('at most halfOpenMaxCalls trials run across the fleet per opening, under concurrent calls', async () => {
  const fleet = await openFleet(4, 2);
  const { clock, stores, instances } = fleet;

  // Opening 1.
  await advance(clock, OPEN_MS, stores);
  const first = new Trials();
  await bursts(first, fleet, 6, 25);
  expect(first.other).toEqual([]);
  expect(first.running).toHaveLength(2);
  expect(first.rejected).toBe(6 * 4 * 25 - 2);
  expect(await redis.admin.zcard(permitsKey(stores[0]!))).toBe(2);

  // One trial fails: the circuit re-opens for everyone (a new opening), the other trial is stale.
  first.running[0]!.reject(new FnError('trial failed'));
  await first.running[0]!.outcome;
  await settle(stores);
  await eventually(() => instances.every(({ breaker }) => breaker.state === 'open'), 3_000, 'the fleet to re-open');
  first.running[1]!.resolve('late');
  await first.running[1]!.outcome;
  await settle(stores);
  expect(instances.every(({ breaker }) => breaker.state === 'open')).toBe(true);

  // Opening 2: again at most 2 trials; both succeed and close the circuit fleet-wide even when they
  // ran on two different instances (neither has 2 local successes).
  await advance(clock, OPEN_MS, stores);
  const second = new Trials();
  await bursts(second, fleet, 6, 25);
  expect(second.other).toEqual([]);
  expect(second.running).toHaveLength(2);
  for (const trial of second.running) {
    trial.resolve('ok');
    await trial.outcome;
  }
  await settle(stores);
  await eventually(() => instances.every(({ breaker }) => breaker.state === 'closed'), 3_000, 'the fleet to close');
  expect((await storedState(redis.admin, stores[0]!, NAME)).s).toBe('closed');
});

test('permits taken by a crashed instance (never completed) free themselves at their expiry', async () => {
  const fleet = await openFleet(4, 2);
  const { clock, stores, instances } = fleet;
  await advance(clock, OPEN_MS, stores);

  // A "crashed" instance took both permits and will never complete them.
  const version = Number((await storedState(redis.admin, stores[0]!, NAME)).v);
  const takenAt = clock.now();
  for (const token of ['crashed:1', 'crashed:2']) {
    const reply = await stores[3]!.acquireTrial({
      name: NAME,
      version,
      token,
      maxCalls: 2,
      nowMs: takenAt,
      expiresAtMs: takenAt + PROBE_MS,
      openUntilMs: instances[3]!.breaker.snapshot().openedAt! + OPEN_MS,
      ignoreOpenUntil: false,
    });
    expect(reply.granted).toBe(true);
  }
  const live = instances.slice(0, 3);
  const blocked = new Trials();
  for (let round = 0; round < 4; round++) {
    blocked.burst(live, 10);
    await settle(stores);
  }
  expect(blocked.running).toHaveLength(0);
  expect(blocked.other).toEqual([]);
  // Rejections say when a permit may free up.
  const error = await live[0]!.breaker.execute(async () => 'ok').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CircuitOpenError);
  expect((error as CircuitOpenError).retryAfterMs).toBe(takenAt + PROBE_MS - clock.now());

  // Just before the expiry: still nothing.
  await advance(clock, takenAt + PROBE_MS - 1 - clock.now(), stores);
  blocked.burst(live, 5);
  await settle(stores);
  blocked.burst(live, 5);
  await settle(stores);
  expect(blocked.running).toHaveLength(0);

  // At the expiry both permits are free again: 2 trials run, and they close the circuit.
  await advance(clock, 1, stores);
  const freed = new Trials();
  for (let round = 0; round < 4; round++) {
    freed.burst(live, 10);
    await settle(stores);
  }
  expect(freed.running).toHaveLength(2);
  for (const trial of freed.running) {
    trial.resolve('ok');
    await trial.outcome;
  }
  await settle(stores);
  await eventually(() => live.every(({ breaker }) => breaker.state === 'closed'), 3_000, 'the fleet to close');
});

test('a permit held by an instance disposed mid-trial frees itself at its expiry', async () => {
  const fleet = await openFleet(3, 1);
  const { clock, stores, instances } = fleet;
  const [crashing, ...others] = instances as [Instance, ...Instance[]];
  await advance(clock, OPEN_MS, stores);

  const held = new Trials();
  held.burst([crashing], 1);
  await settle(stores);
  held.burst([crashing], 1);
  expect(held.running).toHaveLength(1);
  // The permit as the store holds it: its expiry is at least the trial's probe timeout away.
  const permits = await redis.admin.zrange(permitsKey(stores[0]!), '0', '-1', 'WITHSCORES');
  expect(permits).toHaveLength(2);
  const expiresAt = Number(permits[1]);
  expect(expiresAt).toBeGreaterThanOrEqual(clock.now() + PROBE_MS);
  crashing.breaker.dispose(); // the instance dies with its trial in flight: nobody completes the permit
  await settle(stores);

  const blocked = new Trials();
  for (let round = 0; round < 3; round++) {
    blocked.burst(others, 10);
    await settle(stores);
  }
  // Just before the expiry: still taken.
  await advance(clock, expiresAt - 1 - clock.now(), stores, 1_000);
  for (let round = 0; round < 3; round++) {
    blocked.burst(others, 10);
    await settle(stores);
  }
  expect(blocked.running).toHaveLength(0);

  await advance(clock, 1, stores);
  const freed = new Trials();
  for (let round = 0; round < 3; round++) {
    freed.burst(others, 10);
    await settle(stores);
  }
  expect(freed.running).toHaveLength(1);
  freed.running[0]!.resolve('ok');
  await freed.running[0]!.outcome;
  await settle(stores);
  await eventually(() => others.every(({ breaker }) => breaker.state === 'closed'), 3_000, 'the survivors to close');
  held.running[0]!.resolve('late'); // the crashed instance's call finally settles: nothing breaks
  await held.running[0]!.outcome;
});
