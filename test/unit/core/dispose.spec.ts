import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitOpenError, ManualClock } from '../../../lib/index.js';
import { failSync, pendingCall, setup } from './helpers.js';

describe('dispose()', () => {
  it('closed with pending timed calls: clears the deadline timer; the calls settle with their own outcome', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    const calls = [pendingCall(breaker), pendingCall(breaker), pendingCall(breaker)];
    expect(clock.pendingTimers).toBe(1);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    calls.forEach((c, i) => c.deferred.resolve(`late ${i}`));
    await Promise.all(calls.map((c) => c.call.done));
    expect(calls.map((c) => c.call.value)).toEqual(['late 0', 'late 1', 'late 2']);
    expect(breaker.totals()).toMatchObject({ timeoutCalls: 0, successfulCalls: 3 });
  });

  it('open with a healthCheck: clears the poll timer', () => {
    const check = jest.fn(() => false);
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, healthCheck: { check, intervalMs: 100 } });
    failSync(breaker);
    clock.advance(100);
    expect(check).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(1);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    expect(check).toHaveBeenCalledTimes(1);
  });

  it('half_open with a probe in flight: clears the probe timer', () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000 });
    failSync(breaker);
    clock.advance(1000);
    pendingCall(breaker);
    expect(clock.pendingTimers).toBe(1);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('half_open with a timed probe in flight: clears both the probe and the deadline timer', () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, timeoutMs: 5000 });
    failSync(breaker);
    clock.advance(1000);
    pendingCall(breaker);
    expect(clock.pendingTimers).toBe(2);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('arms no timer afterwards, but the breaker keeps working', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, timeoutMs: 100 });
    breaker.dispose();
    const call = pendingCall(breaker);
    expect(clock.pendingTimers).toBe(0);
    call.deferred.reject(new Error('x'));
    await call.call.done;
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    clock.advance(1000);
    await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(clock.pendingTimers).toBe(0);
  });

  it('after dispose(), opening with a healthCheck arms no poll timer', () => {
    const check = jest.fn(() => true);
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, healthCheck: { check, intervalMs: 100 } });
    breaker.dispose();
    failSync(breaker);
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(0);
    clock.advance(1000);
    expect(check).not.toHaveBeenCalled();
  });

  it('is idempotent', () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    pendingCall(breaker);
    breaker.dispose();
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('dispose() with a health check', () => {
  it('an open breaker that can no longer poll falls back to openDurationMs', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      name: 'disposed-health',
      clock,
      minimumCalls: 1,
      openDurationMs: 1_000,
      healthCheck: { check: () => false, intervalMs: 100 },
    });
    expect(() => breaker.executeSync(() => {
      throw new Error('down');
    })).toThrow('down');
    expect(breaker.state).toBe('open');
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(999);
    expect(() => breaker.executeSync(() => 1)).toThrow(CircuitOpenError);
    clock.advance(1);
    expect(breaker.executeSync(() => 1)).toBe(1);
    expect(breaker.state).toBe('closed');
  });
});
