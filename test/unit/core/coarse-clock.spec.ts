/**
 * The shared coarse clock (lib/core/coarse-clock.ts) that time windows and timed calls read on the
 * default clock. Jest's fake timers drive both the ticker and `performance.now()`: no real waiting.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerTimeoutError } from '../../../lib/index.js';
import { COARSE_CLOCK_RESOLUTION_MS, coarseClock } from '../../../lib/core/coarse-clock.js';
import { monotonicClock } from '../../../lib/core/clock.js';

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
});
afterEach(() => {
  // Two ticks without a read stop the shared ticker: the next test starts without one.
  jest.advanceTimersByTime(2 * COARSE_CLOCK_RESOLUTION_MS);
  expect(jest.getTimerCount()).toBe(0);
  jest.useRealTimers();
});

describe('coarse clock', () => {
  it('reads the real clock once, then a value refreshed every 10 ms by one ticker', () => {
    const first = coarseClock.now();
    expect(first).toBeCloseTo(monotonicClock.now(), 3);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(COARSE_CLOCK_RESOLUTION_MS - 1);
    expect(coarseClock.now()).toBe(first); // not refreshed yet
    jest.advanceTimersByTime(1);
    expect(coarseClock.now()).toBeCloseTo(first + COARSE_CLOCK_RESOLUTION_MS, 3);
    expect(jest.getTimerCount()).toBe(1); // still one ticker, whoever reads
  });

  it('stops its ticker after a tick without a read: an idle process keeps no timer', () => {
    coarseClock.now();
    jest.advanceTimersByTime(COARSE_CLOCK_RESOLUTION_MS); // read since the last tick: refreshes
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(COARSE_CLOCK_RESOLUTION_MS); // nobody read: stops
    expect(jest.getTimerCount()).toBe(0);
    const later = coarseClock.now(); // the next read starts afresh from the real clock
    expect(later).toBeCloseTo(monotonicClock.now(), 3);
    expect(jest.getTimerCount()).toBe(1);
  });
});

describe('breakers on the default clock', () => {
  it('a time window with 1 s slices counts calls by the coarse clock', () => {
    const breaker = new CircuitBreaker({ name: 'coarse-window', slidingWindow: { type: 'time', durationMs: 10_000, buckets: 10 }, minimumCalls: 100 });
    breaker.executeSync(() => 'ok');
    expect(breaker.snapshot().calls).toBe(1);
    jest.advanceTimersByTime(10_000); // the whole window ages out
    expect(breaker.snapshot().calls).toBe(0);
    breaker.dispose();
  });

  it('a timed call times out no earlier than timeoutMs after it started, and at most 10 ms later', async () => {
    const breaker = new CircuitBreaker({ name: 'coarse-timeout', timeoutMs: 100 });
    coarseClock.now();
    jest.advanceTimersByTime(7); // the coarse clock is now 7 ms behind the real one
    let outcome: unknown = 'pending';
    breaker.execute(() => new Promise<never>(() => undefined)).catch((error: unknown) => (outcome = error));
    await jest.advanceTimersByTimeAsync(99);
    expect(outcome).toBe('pending'); // never early
    await jest.advanceTimersByTimeAsync(COARSE_CLOCK_RESOLUTION_MS + 1);
    expect(outcome).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect((outcome as CircuitBreakerTimeoutError).timeoutMs).toBe(100);
    breaker.dispose();
  });
});
