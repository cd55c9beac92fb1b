/**
 * Through Redis, the facts of an opening (reason, rates, calls) travel with the state, on the
 * channel and in the stored hash: the instance that adopts it logs the opener's facts, not its own
 * empty window ("failure rate 0% ... over 0 calls").
 */
import 'reflect-metadata';
import { expect, test } from '@jest/globals';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { capturingNestLogger } from '../support/loggers.js';
import { ManualClock, deleteKeys, eventually, fail, redisStore, settle, subscribed, succeed, uniquePrefix, useRedisServer } from './helpers.js';

const redis = useRedisServer();

test("the adopting instance's warning names the opener's reason and rates", async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('facts');
  const stores = [redisStore(redis.url, clock, prefix), redisStore(redis.url, clock, prefix)];
  const loggers = [capturingNestLogger(), capturingNestLogger()];
  const [a, b] = stores.map((store, i) => {
    const registry = new CircuitBreakerRegistry({
      breakers: { payments: { clock, store, slidingWindow: { type: 'count', size: 10 }, minimumCalls: 4, failureRateThreshold: 50, openDurationMs: 5_000 } },
      logger: loggers[i]!,
    });
    registry.get('payments');
    return registry;
  }) as [CircuitBreakerRegistry, CircuitBreakerRegistry];
  redis.cleanups.push(async () => {
    a.onModuleDestroy();
    b.onModuleDestroy();
    await deleteKeys(redis.admin, prefix);
  });
  await subscribed(redis.admin, `${prefix}transitions`, 2);
  await settle(stores);

  await succeed(a.get('payments'), 1);
  await fail(a.get('payments'), 3); // 3 of 4 calls failed: 75 %
  expect(a.get('payments').state).toBe('open');
  await eventually(() => b.get('payments').state === 'open', 3_000, 'B to adopt the opening');
  const lines = loggers[1]!.warns.filter((line) => /-> open/.test(line));
  expect(lines).toEqual([expect.stringMatching(/closed -> open \(shared_state\): opened by another instance \(failure_rate\): failure rate 75%, slow-call rate 0% over 4 calls; next trial in 5000 ms/)]);
  expect(await redis.admin.hgetall(stores[0]!.stateKey('payments'))).toMatchObject({ r: 'failure_rate', n: '4', fr: '75', sr: '0' });
});
