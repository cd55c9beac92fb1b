/**
 * `Cluster.duplicate(startupNodes, options)` takes other arguments than `Redis.duplicate(options)`:
 * options passed the Redis way are dropped silently, and the store's command connection would get
 * the cluster's offline queue, replaying a command the store gave up on after a reconnect. With
 * the options applied, a store whose cluster is unreachable fails its command at once instead of
 * queueing it.
 */
import { afterEach, expect, test } from '@jest/globals';
import { Cluster } from 'ioredis';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import { freePort } from '../support/redis-server.js';
import { capturingLogger } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

test('a store on an unreachable Cluster rejects a command within its command timeout (no offline queue)', async () => {
  const port = await freePort(); // nothing listens there
  const client = new Cluster([{ host: '127.0.0.1', port }], { lazyConnect: true, clusterRetryStrategy: () => 100 });
  cleanups.push(() => client.disconnect());
  const store = RedisCircuitBreakerStore.fromClient(client, { commandTimeoutMs: 200, logger: capturingLogger() });
  cleanups.push(() => store.release());

  const started = Date.now();
  const outcome = await Promise.race([
    store.ping().then(
      () => 'answered',
      () => 'rejected',
    ),
    new Promise((resolve) => setTimeout(() => resolve('still queued'), 3_000).unref()),
  ]);
  expect(outcome).toBe('rejected');
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(client.status).toBe('wait'); // the caller's own client was never used
});
