/**
 * Fleet-wide options through Redis: a record written by one instance (`{name}:options`, versioned)
 * reaches the other instances with their next sync, and an instance created later starts with it.
 * An unreadable record is ignored with one warning.
 */
import 'reflect-metadata';
import { expect, test } from '@jest/globals';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { ManualClock, SYNC_MS, advance, capturingLogger, deleteKeys, redisStore, settle, uniquePrefix, useRedisServer } from './helpers.js';
import type { CapturingLogger } from './helpers.js';

const redis = useRedisServer();

function app(clock: ManualClock, store: ReturnType<typeof redisStore>, logger = capturingLogger()) {
  const registry = new CircuitBreakerRegistry({ breakers: { payments: { clock, store, failureRateThreshold: 50 } }, logger: { ...logger, error: () => {} } });
  registry.get('payments');
  return { registry, logger };
}

test('written by one instance, adopted by the others and by an instance started later', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('options');
  const stores = [redisStore(redis.url, clock, prefix), redisStore(redis.url, clock, prefix), redisStore(redis.url, clock, prefix)];
  const a = app(clock, stores[0]!);
  const b = app(clock, stores[1]!);
  let late: ReturnType<typeof app> | undefined;
  redis.cleanups.push(async () => {
    for (const x of [a, b, late]) x?.registry.onModuleDestroy();
    await deleteKeys(redis.admin, prefix);
  });
  await settle(stores.slice(0, 2));

  const record = await a.registry.reconfigure('payments', { failureRateThreshold: 20, slidingWindow: { type: 'count', size: 30 } }, { fleet: true, source: 'runbook 12' });
  expect(record).toMatchObject({ version: 1, source: 'runbook 12' });
  expect(await redis.admin.hgetall(`${prefix}{payments}:options`)).toMatchObject({ v: '1', src: 'runbook 12' });
  await advance(clock, 5 * SYNC_MS, stores.slice(0, 2));
  expect(b.registry.get('payments').options).toMatchObject({ failureRateThreshold: 20, slidingWindow: { type: 'count', size: 30 } });
  expect(b.logger.logs).toContainEqual(expect.stringMatching(/fleet options version 1 \(from runbook 12\) adopted/));

  late = app(clock, stores[2]!);
  await settle(stores);
  expect(late.registry.get('payments').options.failureRateThreshold).toBe(20);
});

test('an unreadable record is ignored with one warning; the next write replaces it', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('options-garbage');
  const logger: CapturingLogger = capturingLogger();
  const stores = [redisStore(redis.url, clock, prefix, { logger }), redisStore(redis.url, clock, prefix)];
  const a = app(clock, stores[0]!);
  const b = app(clock, stores[1]!);
  redis.cleanups.push(async () => {
    a.registry.onModuleDestroy();
    b.registry.onModuleDestroy();
    await deleteKeys(redis.admin, prefix);
  });
  await settle(stores);
  await redis.admin.hset(`${prefix}{payments}:options`, { v: '3', j: '{not json', src: 'x' });
  await advance(clock, 10 * SYNC_MS, stores);
  expect(logger.warns.filter((line) => /unreadable fleet options/.test(line))).toHaveLength(1);
  expect(a.registry.get('payments').options.failureRateThreshold).toBe(50);

  await b.registry.reconfigure('payments', { failureRateThreshold: 30 }, { fleet: true });
  await advance(clock, 5 * SYNC_MS, stores);
  expect(a.registry.get('payments').options.failureRateThreshold).toBe(30);
});
