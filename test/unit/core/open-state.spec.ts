import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../../../lib/index.js';
import { failSync, setup, thrownBy, track } from './helpers.js';

const tripping = { consecutiveFailureThreshold: 1, openDurationMs: 1000 } as const;

describe('closed -> open', () => {
  it('opens with the reason of the rule that tripped, at the clock time', () => {
    const { breaker, clock, events } = setup(tripping);
    clock.advance(1234);
    failSync(breaker);
    expect(breaker.state).toBe('open');
    expect(events).toEqual([{ name: 'payments', from: 'closed', to: 'open', at: 1234, reason: 'consecutive_failures' }]);
    expect(breaker.snapshot().openedAt).toBe(1234);
    expect(breaker.totals().openings).toBe(1);
  });

  it('arms no timer to leave open (recovery is lazy)', () => {
    const { breaker, clock } = setup(tripping);
    failSync(breaker);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('open', () => {
  it('rejects with CircuitOpenError carrying breakerName and retryAfterMs, without calling fn', () => {
    const { breaker } = setup(tripping);
    failSync(breaker);
    const fn = jest.fn(() => 'never');
    const error = thrownBy(() => breaker.executeSync(fn));
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ name: 'CircuitOpenError', breakerName: 'payments', retryAfterMs: 1000 });
    expect((error as Error).message).toContain('payments');
    expect(fn).not.toHaveBeenCalled();
  });

  it('retryAfterMs decreases as the clock advances', () => {
    const { breaker, clock } = setup(tripping);
    failSync(breaker);
    const retryAfter = (): number | undefined => (thrownBy(() => breaker.executeSync(() => 1)) as CircuitOpenError).retryAfterMs;
    expect(retryAfter()).toBe(1000);
    clock.advance(250);
    expect(retryAfter()).toBe(750);
    clock.advance(749);
    expect(retryAfter()).toBe(1);
    expect(breaker.snapshot().retryAfterMs).toBe(1);
  });

  it('counts rejected calls as not permitted', () => {
    const { breaker } = setup(tripping);
    failSync(breaker);
    for (let i = 0; i < 3; i++) thrownBy(() => breaker.executeSync(() => 1));
    expect(breaker.snapshot().notPermittedCalls).toBe(3);
    expect(breaker.totals()).toMatchObject({ notPermittedCalls: 3, failedCalls: 1, successfulCalls: 0 });
  });

  it('rejects an async fn with a rejected promise and never calls it', async () => {
    const { breaker } = setup(tripping);
    failSync(breaker);
    let called = false;
    const result = breaker.execute(async () => {
      called = true;
    });
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
  });

  it('the rejection carries no stack frames (fast fail)', () => {
    const { breaker } = setup(tripping);
    failSync(breaker);
    const error = thrownBy(() => breaker.executeSync(() => 1)) as Error;
    expect(error.stack ?? '').not.toContain('    at ');
  });
});

describe('open -> half_open', () => {
  it('still rejects 1 ms before openDurationMs', () => {
    const { breaker, clock } = setup(tripping);
    failSync(breaker);
    clock.advance(999);
    expect(() => breaker.executeSync(() => 1)).toThrow(CircuitOpenError);
    expect(breaker.state).toBe('open');
  });

  it('stays open until the next call after openDurationMs, which moves it to half_open and is admitted', () => {
    const { breaker, clock, events } = setup(tripping);
    failSync(breaker);
    clock.advance(5000);
    expect(breaker.state).toBe('open'); // lazy: nothing happens without a call
    const trial = track(breaker.execute(() => new Promise<string>(() => undefined)));
    expect(trial.status).toBe('pending');
    expect(breaker.state).toBe('half_open');
    expect(events.map((e) => [e.from, e.to, e.reason, e.at])).toEqual([
      ['closed', 'open', 'consecutive_failures', 0],
      ['open', 'half_open', 'open_duration_elapsed', 5000],
    ]);
    expect(breaker.snapshot()).toMatchObject({ openedAt: 0, halfOpenCallsInFlight: 1 });
  });

  it('the admitted call runs fn', () => {
    const { breaker, clock } = setup(tripping);
    failSync(breaker);
    clock.advance(1000);
    expect(breaker.executeSync(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
  });
});

describe('open fast-fail reuse', () => {
  it('rejections in the same millisecond share one error; a later one carries the new retryAfterMs', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'reuse', clock, minimumCalls: 1, openDurationMs: 1_000 });
    await expect(breaker.execute(async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    const first = await breaker.execute(async () => 1).catch((error: unknown) => error);
    const second = await breaker.execute(async () => 1).catch((error: unknown) => error);
    expect(second).toBe(first);
    expect((first as CircuitOpenError).retryAfterMs).toBe(1_000);
    clock.advance(250);
    const later = await breaker.execute(async () => 1).catch((error: unknown) => error);
    expect(later).not.toBe(first);
    expect((later as CircuitOpenError).retryAfterMs).toBe(750);
    expect(breaker.totals().notPermittedCalls).toBe(3);
  });
});

describe('CircuitOpenError.cause: the failure that opened the circuit', () => {
  const rejectionOf = (breaker: CircuitBreaker): CircuitOpenError => thrownBy(() => breaker.executeSync(() => 1)) as CircuitOpenError;

  it('the error of the call that tripped a closed circuit', async () => {
    const { breaker } = setup({ minimumCalls: 2, failureRateThreshold: 100 });
    failSync(breaker, 1, new Error('first failure'));
    const tripping = new Error('ECONNREFUSED 10.0.0.7:5432');
    await breaker.execute(async () => Promise.reject(tripping)).catch(() => undefined);
    expect(breaker.state).toBe('open');
    expect(rejectionOf(breaker).cause).toBe(tripping);
  });

  it('the error of the failed trial that re-opened it; a timeout error for a trial that timed out or hung', async () => {
    const { breaker, clock } = setup({ ...tripping, timeoutMs: 200, halfOpenProbeTimeoutMs: 300 });
    failSync(breaker);
    clock.advance(1000);
    const trialError = new Error('still down');
    failSync(breaker, 1, trialError);
    expect(breaker.snapshot().state).toBe('open');
    expect(rejectionOf(breaker).cause).toBe(trialError);
    clock.advance(1000);
    const timedOut = breaker.execute(() => new Promise<never>(() => undefined)).catch((error: unknown) => error);
    clock.advance(200);
    const timeout = await timedOut;
    expect(rejectionOf(breaker).cause).toBe(timeout);
  });

  it('a CircuitBreakerTimeoutError for a probe that hung past halfOpenProbeTimeoutMs', () => {
    const { breaker, clock } = setup({ ...tripping, halfOpenProbeTimeoutMs: 300 });
    failSync(breaker);
    clock.advance(1000);
    breaker.execute(() => new Promise<never>(() => undefined));
    clock.advance(300);
    const cause = rejectionOf(breaker).cause;
    expect(cause).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(cause).toMatchObject({ breakerName: 'payments', timeoutMs: 300 });
  });

  it('the flagged result when isResultFailure tripped it; none for a slow-call trip or a forced opening', () => {
    const response = { status: 503 };
    const flagged = setup({ ...tripping, isResultFailure: (r) => (r as { status: number }).status >= 500 }).breaker;
    flagged.executeSync(() => response);
    expect(rejectionOf(flagged).cause).toBe(response);

    const { breaker: slow, clock } = setup({ slowCallDurationMs: 10, minimumCalls: 1, openDurationMs: 1000 });
    slow.executeSync(() => clock.advance(20));
    expect(slow.state).toBe('open');
    expect(rejectionOf(slow).cause).toBeUndefined();

    const forced = setup(tripping).breaker;
    failSync(forced);
    forced.forceOpen();
    expect(rejectionOf(forced).cause).toBeUndefined();
  });

  it('the cause of a rejected promise is the same (execute)', async () => {
    const { breaker } = setup(tripping);
    const error = new Error('down');
    failSync(breaker, 1, error);
    const rejection = await breaker.execute(async () => 1).catch((e: unknown) => e);
    expect((rejection as CircuitOpenError).cause).toBe(error);
  });
});
