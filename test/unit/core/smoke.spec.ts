import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, CircuitOpenError, ManualClock } from '../../../lib/index.js';

describe('CircuitBreaker (smoke)', () => {
  it('opens after the failure rate reaches the threshold and rejects without calling fn', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'payments', clock, minimumCalls: 2, failureRateThreshold: 50 });
    await breaker.execute(async () => 'ok');
    await expect(breaker.execute(async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    let called = false;
    await expect(
      breaker.execute(async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
  });
});
