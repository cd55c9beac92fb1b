/**
 * Two services on one Redis, told apart only by their ioredis client's own `keyPrefix` (the store's
 * keyPrefix left at its default): ioredis prefixes keys but never a pub/sub channel, so the store
 * must put the client's prefix into the channel itself. An opening in one service reaches its own
 * peer and never the other service's breaker of the same name.
 */
import { afterEach, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import type { Instance } from './helpers.js';
import { ManualClock, SYNC_MS, advance, capturingLogger, eventually, fail, instance, keysUnder, settle, subscribed, track, useRedisServer } from './helpers.js';

const redis = useRedisServer();
const clients: Redis[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

const settings = { slidingWindow: { type: 'count', size: 4 }, minimumCalls: 4, failureRateThreshold: 50, openDurationMs: 60_000 } as const;

function service(clientPrefix: string, clock: ManualClock): { store: RedisCircuitBreakerStore; instances: Instance[] } {
  const client = new Redis(redis.url, { keyPrefix: clientPrefix, lazyConnect: true });
  clients.push(client);
  const store = track(RedisCircuitBreakerStore.fromClient(client, { clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: 2_000, logger: capturingLogger() }));
  const instances = [instance('payments', clock, store, settings), instance('payments', clock, store, settings)];
  redis.cleanups.push(async () => instances.forEach((i) => i.breaker.dispose()));
  return { store, instances };
}

test('an opening in the service with client keyPrefix "orders:" never reaches the "billing:" service', async () => {
  const clock = new ManualClock(Date.now());
  const orders = service('orders:', clock);
  const billing = service('billing:', clock);
  const stores = [orders.store, billing.store];
  const all = [...orders.instances, ...billing.instances];
  await eventually(() => all.every((i) => i.breaker.snapshot().store === 'shared'), 3_000, 'every breaker sharing');
  // Each service's channel carries its client prefix, and each service listens on its own.
  // Both services listen (whatever their channels are called) before anything is published.
  await eventually(async () => ((await redis.admin.client('LIST')) as string).split('\n').filter((line) => / sub=1 /.test(line)).length === 2, 3_000, 'both services subscribed');

  await fail(orders.instances[0]!.breaker, 4);
  await settle(stores);
  // The opening reached the other breaker of the same store through pub/sub (the message went out)...
  await eventually(() => orders.instances[1]!.breaker.state === 'open', 3_000, 'the opening to reach the orders peer');
  // ...and the billing service, with its own keys, saw nothing: not now, not after syncs.
  await advance(clock, 5 * SYNC_MS, stores);
  expect(billing.instances.map((i) => i.breaker.state)).toEqual(['closed', 'closed']);
  expect(billing.instances.flatMap((i) => i.events)).toEqual([]);
  expect(await keysUnder(redis.admin, 'orders:circuit-breaker:{payments}:state')).toHaveLength(1);
  expect(await keysUnder(redis.admin, 'billing:circuit-breaker:{payments}:state')).toHaveLength(0);
  // The channels carry the client prefix (docs/fleet.md names them).
  await subscribed(redis.admin, 'orders:circuit-breaker:transitions', 1);
  await subscribed(redis.admin, 'billing:circuit-breaker:transitions', 1);
});
