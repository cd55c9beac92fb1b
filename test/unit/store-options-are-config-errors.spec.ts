/**
 * One error class for every configuration error: a store's options fail like a breaker's, with a
 * CircuitBreakerConfigError naming the store, the option, the value and what is allowed.
 */
import { describe, expect, it } from '@jest/globals';
import { CircuitBreakerConfigError, InMemoryCircuitBreakerStore } from 'nestjs-breaker';
import { RedisCircuitBreakerStore } from 'nestjs-breaker/redis';

function raised(build: () => unknown): CircuitBreakerConfigError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    return error as CircuitBreakerConfigError;
  }
  throw new Error('expected a CircuitBreakerConfigError');
}

const noLog = { warn: (): void => undefined };
const notAClient = { get: (): number => 1 };

describe('store options are configuration errors', () => {
  it.each<[string, () => unknown, string, string, unknown, string]>([
    ['in-memory syncIntervalMs 0', () => new InMemoryCircuitBreakerStore({ syncIntervalMs: 0 }), 'InMemoryCircuitBreakerStore', 'syncIntervalMs', 0, '(0, 60000]'],
    ['in-memory commandTimeoutMs NaN', () => new InMemoryCircuitBreakerStore({ commandTimeoutMs: Number.NaN }), 'InMemoryCircuitBreakerStore', 'commandTimeoutMs', Number.NaN, '(0, 60000]'],
    ['in-memory logger without log()', () => new InMemoryCircuitBreakerStore({ logger: noLog as never }), 'InMemoryCircuitBreakerStore', 'logger', noLog, 'log(message)'],
    ['redis URL of another scheme', () => RedisCircuitBreakerStore.fromUrl('http://127.0.0.1:6379'), 'RedisCircuitBreakerStore.fromUrl', 'url', 'http://127.0.0.1:6379', 'redis://'],
    ['redis client that is not one', () => RedisCircuitBreakerStore.fromClient(notAClient as never), 'RedisCircuitBreakerStore.fromClient', 'client', notAClient, 'ioredis client'],
    ['redis keyPrefix with a space', () => RedisCircuitBreakerStore.fromUrl('redis://127.0.0.1:6379', { keyPrefix: 'my app:' }), 'RedisCircuitBreakerStore', 'keyPrefix', 'my app:', 'without spaces'],
  ])('%s', (_label, build, source, option, value, allowed) => {
    const error = raised(build);
    expect(error).toMatchObject({ source, option, breakerName: undefined });
    expect(error.value).toBe(value);
    expect(error.message.startsWith(`${source}: option "${option}" must be ${error.allowed}, got `)).toBe(true);
    expect(error.allowed).toContain(allowed);
  });
});
