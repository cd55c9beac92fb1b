import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../../../lib/index.js';
import { failSync, pendingCall, setup } from './helpers.js';

describe('dispose()', () => {
  it('closed with pending timed calls: the calls keep their deadline and time out; then no timer is left', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    const calls = [pendingCall(breaker), pendingCall(breaker), pendingCall(breaker)];
    expect(clock.pendingTimers).toBe(1);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100);
    await Promise.all(calls.map((c) => c.call.done));
    expect(calls.map((c) => c.call.reason)).toEqual([expect.any(CircuitBreakerTimeoutError), expect.any(CircuitBreakerTimeoutError), expect.any(CircuitBreakerTimeoutError)]);
    expect(breaker.totals()).toMatchObject({ timeoutCalls: 3, successfulCalls: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('closed with pending timed calls that settle in time: the deadline timer goes with the last of them', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    const calls = [pendingCall(breaker), pendingCall(breaker)];
    breaker.dispose();
    calls[0]!.deferred.resolve('first');
    await calls[0]!.call.done;
    expect(clock.pendingTimers).toBe(1);
    calls[1]!.deferred.resolve('second');
    await calls[1]!.call.done;
    expect(clock.pendingTimers).toBe(0);
    expect(calls.map((c) => c.call.value)).toEqual(['first', 'second']);
    expect(breaker.totals()).toMatchObject({ timeoutCalls: 0, successfulCalls: 2 });
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

  it('half_open with a timed probe in flight: clears the probe timer; the probe keeps its deadline', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, timeoutMs: 5000 });
    failSync(breaker);
    clock.advance(1000);
    const probe = pendingCall(breaker);
    expect(clock.pendingTimers).toBe(2);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5000);
    await probe.call.done;
    expect(probe.call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(0);
  });

  it('afterwards, a timed call is still timed, and nothing stays armed; the breaker keeps working', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, timeoutMs: 100 });
    breaker.dispose();
    const hung = pendingCall(breaker);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100);
    await hung.call.done;
    expect(hung.call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(clock.pendingTimers).toBe(0);
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

  it('is idempotent', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    const call = pendingCall(breaker);
    breaker.dispose();
    breaker.dispose();
    call.deferred.resolve('done');
    await call.call.done;
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
