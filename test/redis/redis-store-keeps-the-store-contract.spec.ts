/** The Redis store under the store contract (test/support/store-contract.ts), on this file's own redis-server. */
import { ManualClock } from 'nestjs-breaker';
import { describeStoreContract } from '../support/store-contract.js';
import { deleteKeys, redisStore, uniquePrefix, useRedisServer } from './helpers.js';

const redis = useRedisServer();

describeStoreContract('RedisCircuitBreakerStore', async () => {
  const clock = new ManualClock(Date.now() - 7 * 60_000); // the requester's clock is 7 minutes behind the server's
  const prefix = uniquePrefix('contract');
  const store = redisStore(redis.url, clock, prefix);
  return {
    store,
    now: () => clock.now(),
    cleanup: async () => {
      await store.release();
      await deleteKeys(redis.admin, prefix);
    },
  };
});
