/**
 * The last breaker of a store is disposed while a command is between a NOSCRIPT answer and its
 * retry (the server had lost the scripts). The retry must not open a connection after the store
 * released its own: such a connection would live, and reconnect, forever.
 */
import { expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { CircuitBreaker } from 'nestjs-breaker';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';
import { ManualClock, SYNC_MS, capturingLogger, clientCount, eventually, settle, subscribed, track, uniquePrefix, useRedisServer } from './helpers.js';

const redis = useRedisServer();

/** A command ioredis sends (its internals, only what this test reads). */
interface SentCommand {
  readonly name: string;
  readonly promise: Promise<unknown>;
}

test('dispose while a sync waits to retry after NOSCRIPT: no connection opens afterwards', async () => {
  const clock = new ManualClock(Date.now());
  const prefix = uniquePrefix('noscript-release');
  const client = new Redis(redis.url, { lazyConnect: true });
  const baseline = await clientCount(redis.admin);
  let armed = false; // from the SCRIPT FLUSH on (the very first sync of a fresh server is answered NOSCRIPT too)
  let disposed = false;
  let duplicatesAfterDispose = 0;
  let breaker: CircuitBreaker | undefined;
  // The store's connections are duplicates of `client`: each one disposes the breaker as soon as
  // a script call is answered NOSCRIPT, before the store can send its retry.
  const duplicate = client.duplicate.bind(client);
  client.duplicate = ((options?: Partial<RedisOptions>) => {
    if (disposed) duplicatesAfterDispose++;
    const connection = duplicate(options);
    const send = connection.sendCommand.bind(connection) as (command: SentCommand, ...rest: unknown[]) => unknown;
    (connection as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
      const answer = send(command, ...rest);
      if (command.name === 'evalsha') {
        command.promise.catch((error: unknown) => {
          if (armed && !disposed && String((error as Error).message).startsWith('NOSCRIPT')) {
            disposed = true;
            breaker?.dispose();
          }
        });
      }
      return answer;
    };
    return connection;
  }) as typeof client.duplicate;

  const store = track(RedisCircuitBreakerStore.fromClient(client, { keyPrefix: prefix, clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: 2_000, logger: capturingLogger() }));
  breaker = new CircuitBreaker({ name: 'payments', clock, store });

  await subscribed(redis.admin, `${prefix}transitions`, 1);
  await eventually(() => breaker!.snapshot().store === 'shared', 3_000, 'store shared');
  await settle([store]);
  await redis.admin.script('FLUSH'); // the next script call is answered NOSCRIPT
  armed = true;

  breaker.executeSync(() => 'ok');
  clock.advance(SYNC_MS); // the sync goes out, is answered NOSCRIPT, and the breaker is disposed
  await eventually(() => disposed, 3_000, 'the NOSCRIPT answer');
  await settle([store]);
  await eventually(async () => (await clientCount(redis.admin)) === baseline, 3_000, "the store's connections to close");
  await new Promise((resolve) => setTimeout(resolve, 200)); // a connection opened by the retry would show up by now
  expect(duplicatesAfterDispose).toBe(0);
  expect(await clientCount(redis.admin)).toBe(baseline);
  expect(clock.pendingTimers).toBe(0);
  client.disconnect();
});
