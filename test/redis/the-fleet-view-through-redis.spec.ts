/**
 * The fleet view through Redis: each instance's heartbeat lands in `<prefix>instances` (aged on
 * the server's clock); `registry.fleet()` lists the live ones; an instance that stops removes its
 * own at once.
 */
import 'reflect-metadata';
import { expect, test } from '@jest/globals';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { ManualClock, SYNC_MS, advance, deleteKeys, redisStore, settle, uniquePrefix, useRedisServer } from './helpers.js';

const redis = useRedisServer();

test('lists every live instance; one that stops leaves at once', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('fleet-view');
  const stores = [redisStore(redis.url, clock, prefix), redisStore(redis.url, clock, prefix)];
  const [a, b] = stores.map((store) => {
    const registry = new CircuitBreakerRegistry({ defaults: { clock, store }, breakers: { payments: {}, inventory: {} }, logger: false });
    registry.get('payments');
    registry.get('inventory');
    return registry;
  }) as [CircuitBreakerRegistry, CircuitBreakerRegistry];
  let bClosed = false;
  redis.cleanups.push(async () => {
    a.onModuleDestroy();
    if (!bClosed) b.onModuleDestroy();
    await deleteKeys(redis.admin, prefix);
  });
  await settle(stores);
  await advance(clock, SYNC_MS, stores); // the first tick sends each instance's heartbeat

  const view = await a.fleet();
  expect(view.unreachableStores).toBe(0);
  expect(view.instances.map((i) => i.self)).toEqual([true, false]);
  for (const instance of view.instances) {
    expect(instance).toMatchObject({ pid: process.pid, breakers: { payments: { state: 'closed', store: 'shared' }, inventory: { state: 'closed' } } });
    expect(instance.ageMs).toBeGreaterThanOrEqual(0);
  }
  expect(await redis.admin.hlen(`${prefix}instances`)).toBe(2);

  b.onModuleDestroy();
  bClosed = true;
  await settle(stores);
  const left = await a.fleet();
  expect(left.instances).toHaveLength(1);
  expect(left.instances[0]!.self).toBe(true);
});
