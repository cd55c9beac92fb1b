import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreakerConfigError, CircuitOpenError } from '../../../lib/index.js';
import type { CircuitBreakerSettings } from '../../../lib/index.js';
import { failSync, flush, pendingCall, setup, succeedSync } from './helpers.js';

describe('reconfigure()', () => {
  it.each<[string, CircuitBreakerSettings, string, unknown]>([
    ['a bad threshold', { failureRateThreshold: 0 }, 'failureRateThreshold', 0],
    ['a bad window', { slidingWindow: { type: 'count', size: 0 } }, 'slidingWindow.size', 0],
    ['an unknown key', { retries: 3 } as unknown as CircuitBreakerSettings, 'retries', 3],
    ['minimumCalls above the current window size', { minimumCalls: 11 }, 'minimumCalls', 11],
    // The name is the breaker's identity (registry key, store key, metric label): it never changes.
    ['a new name', { name: 'refunds' } as unknown as CircuitBreakerSettings, 'name', 'refunds'],
    ['its own name', { name: 'payments', minimumCalls: 4 } as unknown as CircuitBreakerSettings, 'name', 'payments'],
    ['no object at all', null as unknown as CircuitBreakerSettings, 'options', null],
  ])('%s throws CircuitBreakerConfigError and changes nothing', (_label, settings, option, value) => {
    const { breaker } = setup({ slidingWindow: { type: 'count', size: 10 }, minimumCalls: 5 });
    failSync(breaker, 3);
    const before = breaker.options;
    let error: unknown;
    try {
      breaker.reconfigure(settings);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ breakerName: 'payments', option, value });
    expect(breaker.options).toBe(before);
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 3 });
    failSync(breaker, 2); // the old options still apply: trips at minimumCalls 5
    expect(breaker.state).toBe('open');
  });

  it('a new failureRateThreshold applies to the next trip decision, without a restart', () => {
    const { breaker } = setup({ minimumCalls: 4, failureRateThreshold: 75 });
    succeedSync(breaker, 2);
    failSync(breaker, 2); // 50% < 75%
    expect(breaker.state).toBe('closed');
    breaker.reconfigure({ failureRateThreshold: 50 });
    expect(breaker.options.failureRateThreshold).toBe(50);
    expect(breaker.state).toBe('closed'); // nothing happens until the next call
    succeedSync(breaker); // 2 of 5 = 40%
    expect(breaker.state).toBe('closed');
    failSync(breaker); // 3 of 6 = 50%
    expect(breaker.state).toBe('open');
  });

  it('merges with the options given before', () => {
    const { breaker } = setup({ minimumCalls: 4, openDurationMs: 2000 });
    breaker.reconfigure({ failureRateThreshold: 60 });
    expect(breaker.options).toMatchObject({ minimumCalls: 4, openDurationMs: 2000, failureRateThreshold: 60, name: 'payments' });
  });

  it('an explicit undefined returns an option to its default', () => {
    const { breaker } = setup({ consecutiveFailureThreshold: 2, minimumCalls: 100 });
    breaker.reconfigure({ consecutiveFailureThreshold: undefined });
    expect(breaker.options.consecutiveFailureThreshold).toBeUndefined();
    failSync(breaker, 5);
    expect(breaker.state).toBe('closed');
  });

  it('the probe timeout default follows a new timeoutMs, not openDurationMs', () => {
    const { breaker } = setup({ openDurationMs: 1000 });
    breaker.reconfigure({ openDurationMs: 4000 });
    expect(breaker.options.halfOpenProbeTimeoutMs).toBe(60_000);
    breaker.reconfigure({ timeoutMs: 3000 });
    expect(breaker.options.halfOpenProbeTimeoutMs).toBe(3000);
  });

  it('keeps the window when its shape is unchanged', () => {
    const { breaker } = setup({ slidingWindow: { type: 'count', size: 10 }, minimumCalls: 10 });
    failSync(breaker, 3);
    breaker.reconfigure({ slidingWindow: { type: 'count', size: 10 }, failureRateThreshold: 90 });
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 3 });
    breaker.reconfigure({ minimumCalls: 5 });
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 3 });
  });

  it.each<[string, CircuitBreakerSettings]>([
    ['a new count size', { slidingWindow: { type: 'count', size: 20 } }],
    ['a switch to a time window', { slidingWindow: { type: 'time', durationMs: 10_000 } }],
  ])('rebuilds the window (empty) for %s', (_label, settings) => {
    const { breaker } = setup({ slidingWindow: { type: 'count', size: 10 }, minimumCalls: 10 });
    failSync(breaker, 3);
    breaker.reconfigure(settings);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0 });
  });

  it('rebuilds a time window when its buckets change, keeps it when nothing changes', () => {
    const { breaker } = setup({ slidingWindow: { type: 'time', durationMs: 10_000, buckets: 10 } });
    failSync(breaker, 3);
    breaker.reconfigure({ slidingWindow: { type: 'time', durationMs: 10_000, buckets: 10 } });
    expect(breaker.snapshot().calls).toBe(3);
    breaker.reconfigure({ slidingWindow: { type: 'time', durationMs: 10_000, buckets: 5 } });
    expect(breaker.snapshot().calls).toBe(0);
  });

  it('a new timeoutMs applies to calls started afterwards', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    const before = pendingCall(breaker); // deadline 100
    breaker.reconfigure({ timeoutMs: 500 });
    const after = pendingCall(breaker); // deadline 500
    clock.advance(100);
    await flush();
    expect(before.call.status).toBe('rejected');
    expect(after.call.status).toBe('pending');
    clock.advance(400);
    await flush();
    expect(after.call.status).toBe('rejected');
  });

  it('a lower halfOpenMaxCalls in half_open never lets more trials run than the new limit; trials in flight keep counting', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, halfOpenMaxCalls: 3 });
    failSync(breaker);
    clock.advance(1000);
    const trials = [pendingCall(breaker), pendingCall(breaker), pendingCall(breaker)];
    breaker.reconfigure({ halfOpenMaxCalls: 1 });
    let ran = 0;
    await expect(breaker.execute(async () => ++ran)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(ran).toBe(0);
    expect(breaker.snapshot().halfOpenCallsInFlight).toBe(3);
    trials[0]!.deferred.resolve('ok'); // a trial of this half-open period: 1 success of the 1 now needed
    await trials[0]!.call.done;
    expect(breaker.state).toBe('closed');
  });

  it('a higher halfOpenMaxCalls in half_open admits trials up to the new limit, counting the one in flight', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000 });
    failSync(breaker);
    clock.advance(1000);
    const first = pendingCall(breaker);
    breaker.reconfigure({ halfOpenMaxCalls: 3 });
    const more = [pendingCall(breaker), pendingCall(breaker)];
    await expect(breaker.execute(async () => 'fourth')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(breaker.snapshot().halfOpenCallsInFlight).toBe(3);
    for (const trial of [first, ...more]) {
      trial.deferred.resolve('ok');
      await trial.call.done;
    }
    expect(breaker.state).toBe('closed'); // 3 successes, the first trial's included
  });

  it('adding a healthCheck while open starts polling', () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 10_000 });
    failSync(breaker);
    const check = jest.fn(() => true);
    breaker.reconfigure({ healthCheck: { check, intervalMs: 100 } });
    clock.advance(100);
    expect(check).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('half_open');
  });

  // Regression (fixed in 6b1aadf): any reconfigure() while open re-armed the poll timer (the
  // healthCheck objects were compared by identity), pushing the next poll back by intervalMs.
  it('an unrelated reconfigure while open does not postpone the next health poll', () => {
    const check = jest.fn(() => false);
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, healthCheck: { check, intervalMs: 1000 } });
    failSync(breaker); // next poll at 1000
    clock.advance(900);
    breaker.reconfigure({ failureRateThreshold: 60 });
    clock.advance(100); // t = 1000
    expect(check).toHaveBeenCalledTimes(1);
  });
});
