/**
 * Helpers for the Redis integration and fault tests.
 *
 * Time semantics (sync ticks, open durations, permit expiry) only move through ManualClock.advance.
 * Real waiting is for Redis I/O alone: `eventually` polls a condition, `settle` waits until every
 * store operation the breakers started has answered (the stores are instrumented by `track`).
 *
 * Every spec file starts its own `redis-server` (test/support/redis-server.ts: `redis-server` on
 * PATH is all the tests need): `useRedisServer()` for a server the file's tests share, each test
 * under its own key prefix (`uniquePrefix`) with its keys deleted afterwards; `RedisServer.start()`
 * for a file that kills the server or counts its connections and commands.
 */
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { CircuitBreaker, CircuitOpenError, ManualClock } from 'nestjs-breaker';
import type { CircuitBreakerSettings, CircuitBreakerStore, StateChangeEvent } from 'nestjs-breaker';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import type { RedisStoreOptions } from 'nestjs-breaker/redis';
import { RedisServer } from '../support/redis-server.js';

export { RedisServer };

/** Sync interval used by every test (on the ManualClock). */
export const SYNC_MS = 100;

/** A key prefix no other test (or test run) uses. */
export function uniquePrefix(tag: string): string {
  return `cbtest:${process.pid}:${tag}:${Math.random().toString(36).slice(2, 10)}:`;
}

/** Every key under `prefix` (SCAN, not KEYS, so a shared server is not blocked). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}

export { eventually, turn } from '../support/waiting.js';
import { eventually, turn } from '../support/waiting.js';

// ------------------------------------------------------------------ store instrumentation

const pendingOps = new WeakMap<CircuitBreakerStore, { pending: number }>();
const STORE_OPS = ['sync', 'transition', 'acquireTrial', 'completeTrial', 'ping', 'heartbeat'] as const;

/**
 * Counts the store operations in flight (observation only: every call goes to the real method), so
 * a test can wait for the breakers' Redis round trips before it moves the ManualClock again. (The
 * store's command timeout runs on the same ManualClock: advancing it far while a command is in
 * flight would be read as an outage.)
 */
export function track<S extends CircuitBreakerStore>(store: S): S {
  const counter = { pending: 0 };
  pendingOps.set(store, counter);
  const target = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const op of STORE_OPS) {
    if (typeof target[op] !== 'function') continue; // heartbeat is optional
    const original = target[op].bind(store);
    target[op] = (...args: unknown[]) => {
      counter.pending++;
      let answer: Promise<unknown>;
      try {
        answer = original(...args);
      } catch (error) {
        counter.pending--;
        throw error;
      }
      return answer.finally(() => counter.pending--);
    };
  }
  return store;
}

/** Waits until no tracked store has an operation in flight and their answers have been applied. */
export async function settle(stores: readonly CircuitBreakerStore[], timeoutMs = 3_000): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await eventually(() => stores.every((store) => (pendingOps.get(store)?.pending ?? 0) === 0), timeoutMs, 'store operations to answer');
    await turn();
  }
}

/** Moves the clock `ms` forward in sync-interval steps, letting each step's Redis round trips finish. */
export async function advance(clock: ManualClock, ms: number, stores: readonly CircuitBreakerStore[], step = SYNC_MS): Promise<void> {
  let left = ms;
  while (left > 0) {
    const by = Math.min(step, left);
    clock.advance(by);
    left -= by;
    await settle(stores);
  }
}

// ------------------------------------------------------------------ loggers, breakers, calls

export { capturingLogger } from '../support/loggers.js';
export type { CapturingLogger } from '../support/loggers.js';
import { capturingLogger } from '../support/loggers.js';

export function redisStore(
  url: string,
  clock: ManualClock,
  keyPrefix: string,
  extra: RedisStoreOptions & { redisOptions?: RedisOptions } = {},
): RedisCircuitBreakerStore {
  return track(
    RedisCircuitBreakerStore.fromUrl(url, { keyPrefix, clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: 2_000, logger: capturingLogger(), ...extra }),
  );
}

/** A breaker with its state changes recorded in `events`. */
export interface Instance {
  readonly breaker: CircuitBreaker;
  readonly events: StateChangeEvent[];
}

export function instance(name: string, clock: ManualClock, store: CircuitBreakerStore, settings: CircuitBreakerSettings = {}): Instance {
  const breaker = new CircuitBreaker({ name, clock, store, ...settings });
  const events: StateChangeEvent[] = [];
  breaker.onStateChange((event) => events.push(event));
  return { breaker, events };
}

export class FnError extends Error {
  constructor(message = 'dependency failed') {
    super(message);
    this.name = 'FnError';
  }
}

/** Runs `count` async calls that fail with FnError; answers what each caller got. */
export async function fail(breaker: CircuitBreaker, count = 1): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (let i = 0; i < count; i++) {
    try {
      await breaker.execute(async () => {
        throw new FnError();
      });
      outcomes.push('resolved');
    } catch (error) {
      outcomes.push(error);
    }
  }
  return outcomes;
}

export async function succeed(breaker: CircuitBreaker, count = 1): Promise<unknown[]> {
  const outcomes: unknown[] = [];
  for (let i = 0; i < count; i++) {
    try {
      outcomes.push(await breaker.execute(async () => 'ok'));
    } catch (error) {
      outcomes.push(error);
    }
  }
  return outcomes;
}

/** Resolves to the error a call was rejected with (fn counted in `invoked`), or 'called' if fn ran. */
export async function attempt(breaker: CircuitBreaker): Promise<'called' | unknown> {
  let called = false;
  try {
    await breaker.execute(async () => {
      called = true;
      return 'ok';
    });
  } catch (error) {
    if (called) throw error;
    return error;
  }
  return 'called';
}

export function isOpenError(value: unknown): value is CircuitOpenError {
  return value instanceof CircuitOpenError;
}

/** Waits until the channel has `count` subscribers (a peer that is not subscribed yet would miss a message). */
export async function subscribed(redis: Redis, channel: string, count: number): Promise<void> {
  await eventually(
    async () => {
      const reply = (await redis.pubsub('NUMSUB', channel)) as [string, number];
      return Number(reply[1]) === count;
    },
    3_000,
    `${count} subscriber(s) on ${channel}`,
  );
}

export async function storedState(redis: Redis, store: RedisCircuitBreakerStore, name: string): Promise<Record<string, string>> {
  return redis.hgetall(store.stateKey(name));
}

export async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  const match = /total_commands_processed:(\d+)/.exec(info);
  if (match === null) throw new Error('INFO stats has no total_commands_processed');
  return Number(match[1]);
}

export async function clientCount(redis: Redis): Promise<number> {
  const list = (await redis.client('LIST')) as string;
  return list.split('\n').filter((line) => line.trim().length > 0).length;
}

// ------------------------------------------------------------------ the spec file's own redis-server

/** An admin connection for assertions (not the breakers' own). */
export function adminClient(url: string): Redis {
  return new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
}

export interface RedisFixture {
  /** The URL of the file's server (from beforeAll on). */
  readonly url: string;
  /** An admin connection to it, for assertions (from beforeAll on). */
  readonly admin: Redis;
  /** Run (and emptied) after each test: dispose breakers, delete keys. */
  readonly cleanups: (() => Promise<void>)[];
}

/** A redis-server for the spec file's tests (started before them, stopped after them), an admin connection, cleanups. */
export function useRedisServer(): RedisFixture {
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = adminClient(server.url);
  }, 20_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(async () => {
    await admin?.quit();
    await server?.stop();
  });
  return {
    get url(): string {
      if (server === undefined) throw new Error('useRedisServer: the server runs from beforeAll on');
      return server.url;
    },
    get admin(): Redis {
      if (admin === undefined) throw new Error('useRedisServer: the admin connection exists from beforeAll on');
      return admin;
    },
    cleanups,
  };
}

export { ManualClock };

/**
 * Two instances' `openedAt` for one opening. The store keeps an opening as a duration on the Redis
 * server's clock and each reader places it on its own clock (docs/fleet.md, "One clock"). In
 * production both run in real time; here the instances' ManualClock stands still while the server's
 * clock runs, so an opening written and read later is placed earlier by the real time that passed
 * in between, and later by what the ManualClock was moved meanwhile. Give `since` (from
 * {@link openingWatch}, taken before the write) to allow for both; without it, one sync interval.
 */
export function expectSameOpening(actual: number | undefined, expected: number | undefined, since?: OpeningWatch): void {
  expect(actual).toEqual(expect.any(Number));
  expect(expected).toEqual(expect.any(Number));
  const drift = since === undefined ? 0 : Math.max(performance.now() - since.realMs, since.clock.now() - since.clockMs);
  expect(Math.abs(actual! - expected!)).toBeLessThanOrEqual(SYNC_MS + Math.ceil(drift));
}

export interface OpeningWatch {
  readonly clock: ManualClock;
  readonly realMs: number;
  readonly clockMs: number;
}

/** Notes the real time and the ManualClock's before an opening is written (see {@link expectSameOpening}). */
export function openingWatch(clock: ManualClock): OpeningWatch {
  return { clock, realMs: performance.now(), clockMs: clock.now() };
}
