/**
 * On a Redis Cluster the first {...} of a key is its hash tag. A Cluster client whose own keyPrefix
 * starts a key with an empty tag "{}" would hash each key of a breaker on its own (different
 * slots, cross-slot script errors at run time), so fromClient refuses it at once, naming the option.
 */
import { afterEach, expect, test } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { CircuitBreakerConfigError } from 'nestjs-breaker';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';

const clients: (Cluster | Redis)[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function cluster(keyPrefix: string): Cluster {
  const client = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true, keyPrefix });
  clients.push(client);
  return client;
}

test('a Cluster client with keyPrefix "{}orders:" is refused with a CircuitBreakerConfigError', () => {
  let error: unknown;
  try {
    RedisCircuitBreakerStore.fromClient(cluster('{}orders:'));
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(CircuitBreakerConfigError);
  expect(String((error as Error).message)).toContain('keyPrefix');
  expect(String((error as Error).message)).toContain('{}orders:');
});

test('a non-empty tag in a Cluster client keyPrefix, and any prefix of a standalone client, are accepted', () => {
  expect(() => RedisCircuitBreakerStore.fromClient(cluster('{orders}:'))).not.toThrow();
  expect(() => RedisCircuitBreakerStore.fromClient(cluster('orders:'))).not.toThrow();
  const standalone = new Redis({ lazyConnect: true, keyPrefix: '{}orders:' });
  clients.push(standalone);
  expect(() => RedisCircuitBreakerStore.fromClient(standalone)).not.toThrow();
});
