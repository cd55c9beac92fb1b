import { describe, expect, it } from '@jest/globals';
import { IgnoredError, failSync, ignoreIgnoredError, pendingCall, setup, slowSync, succeedSync, thrownBy } from './helpers.js';

const settings = { minimumCalls: 8, failureRateThreshold: 50, openDurationMs: 1000, slowCallDurationMs: 100 } as const;

describe('snapshot()', () => {
  it('closed: counts and rates in percent, no open-only fields', () => {
    const { breaker, clock } = setup(settings);
    succeedSync(breaker, 4);
    failSync(breaker, 2);
    slowSync(breaker, clock, 100);
    slowSync(breaker, clock, 150, true);
    expect(breaker.snapshot()).toEqual({
      name: 'payments',
      state: 'closed',
      calls: 8,
      failures: 3,
      slowCalls: 2,
      failureRate: 37.5,
      slowCallRate: 25,
      consecutiveFailures: 1,
      notPermittedCalls: 0,
    });
  });

  it('an empty window reports rates of 0', () => {
    const { breaker } = setup(settings);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failureRate: 0, slowCallRate: 0 });
  });

  it('open: retryAfterMs and openedAt', () => {
    const { breaker, clock } = setup(settings);
    clock.advance(100);
    failSync(breaker, 8);
    clock.advance(300);
    thrownBy(() => breaker.executeSync(() => 1));
    expect(breaker.snapshot()).toEqual({
      name: 'payments',
      state: 'open',
      calls: 8,
      failures: 8,
      slowCalls: 0,
      failureRate: 100,
      slowCallRate: 0,
      consecutiveFailures: 0,
      notPermittedCalls: 1,
      retryAfterMs: 700,
      openedAt: 100,
    });
  });

  it('open past its duration (no call yet): retryAfterMs 0', () => {
    const { breaker, clock } = setup(settings);
    failSync(breaker, 8);
    clock.advance(5000);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', retryAfterMs: 0 });
  });

  it('half_open: halfOpenCallsInFlight and openedAt; retryAfterMs only with every slot taken', () => {
    const { breaker, clock } = setup({ ...settings, halfOpenMaxCalls: 2, halfOpenProbeTimeoutMs: 500 });
    failSync(breaker, 8); // opened at 0
    clock.advance(1000);
    pendingCall(breaker);
    const one = breaker.snapshot();
    expect(one).toMatchObject({ state: 'half_open', openedAt: 0, halfOpenCallsInFlight: 1 });
    expect('retryAfterMs' in one).toBe(false);
    clock.advance(100);
    pendingCall(breaker);
    clock.advance(100);
    expect(breaker.snapshot()).toMatchObject({ halfOpenCallsInFlight: 2, retryAfterMs: 300 });
  });

  it('forced_open: openedAt, no retryAfterMs; disabled: neither', () => {
    const { breaker, clock } = setup(settings);
    clock.advance(42);
    breaker.forceOpen();
    const forced = breaker.snapshot();
    expect(forced.openedAt).toBe(42);
    expect('retryAfterMs' in forced).toBe(false);
    breaker.disable();
    const disabled = breaker.snapshot();
    expect('openedAt' in disabled).toBe(false);
    expect('retryAfterMs' in disabled).toBe(false);
    expect('halfOpenCallsInFlight' in disabled).toBe(false);
  });

  it('closed after a recovery has no openedAt', () => {
    const { breaker, clock } = setup(settings);
    failSync(breaker, 8);
    clock.advance(1000);
    succeedSync(breaker);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().openedAt).toBeUndefined();
  });
});

describe('totals()', () => {
  it('counts every kind of call cumulatively and is never reset', async () => {
    const { breaker, clock } = setup({ ...settings, isFailure: ignoreIgnoredError, timeoutMs: 50 });
    succeedSync(breaker, 3);
    failSync(breaker, 2);
    failSync(breaker, 1, new IgnoredError('ignored'));
    slowSync(breaker, clock, 200);
    const timedOut = pendingCall(breaker);
    clock.advance(50);
    await timedOut.call.done;
    failSync(breaker, 1); // 8 calls, 4 failures (incl. timeout) = 50%: opens
    expect(breaker.state).toBe('open');
    await breaker.execute(async () => 1).catch(() => undefined); // not permitted
    breaker.metricsOnly();
    breaker.reset();
    breaker.metricsOnly();
    failSync(breaker, 8);
    expect(breaker.totals()).toEqual({
      successfulCalls: 4,
      failedCalls: 11,
      ignoredCalls: 1,
      notPermittedCalls: 1,
      timeoutCalls: 1,
      slowCalls: 1, // the 200 ms success (the timeout lasted 50 ms < slowCallDurationMs)
      openings: 1,
      wouldTrips: 1,
      storeFallbacks: 0, // no store
    });
  });
});
