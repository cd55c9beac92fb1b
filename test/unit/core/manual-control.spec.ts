import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitOpenError, ManualClock } from '../../../lib/index.js';
import { failSync, pendingCall, setup, succeedSync, thrownBy } from './helpers.js';

const settings = { minimumCalls: 2, failureRateThreshold: 50, openDurationMs: 1000, slidingWindow: { type: 'count', size: 4 } } as const;

describe('forceOpen()', () => {
  it('rejects everything with retryAfterMs undefined, never calling fn, for as long as it lasts', () => {
    const { breaker, clock, events } = setup(settings);
    clock.advance(50);
    breaker.forceOpen();
    expect(breaker.state).toBe('forced_open');
    expect(events).toEqual([{ name: 'payments', from: 'closed', to: 'forced_open', at: 50, reason: 'forced_open' }]);
    const fn = jest.fn(() => 'never');
    for (let i = 0; i < 3; i++) {
      const error = thrownBy(() => breaker.executeSync(fn));
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect((error as CircuitOpenError).retryAfterMs).toBeUndefined();
      clock.advance(1_000_000);
    }
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.state).toBe('forced_open');
    expect(breaker.snapshot()).toMatchObject({ openedAt: 50, notPermittedCalls: 3 });
    expect(breaker.snapshot().retryAfterMs).toBeUndefined();
  });

  it('is idempotent (one transition)', () => {
    const { breaker, events } = setup(settings);
    breaker.forceOpen();
    breaker.forceOpen();
    expect(events).toHaveLength(1);
  });

  it('overrides half_open and open', () => {
    const { breaker, clock } = setup(settings);
    failSync(breaker, 2);
    breaker.forceOpen();
    clock.advance(5000);
    expect(() => breaker.executeSync(() => 1)).toThrow(CircuitOpenError);
    expect(breaker.state).toBe('forced_open');
  });
});

describe('disable()', () => {
  it('admits every call and records nothing', async () => {
    const { breaker, events } = setup(settings);
    breaker.disable();
    expect(events.at(-1)).toMatchObject({ from: 'closed', to: 'disabled', reason: 'disabled' });
    failSync(breaker, 10);
    succeedSync(breaker, 3);
    await expect(breaker.execute(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(breaker.state).toBe('disabled');
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0, consecutiveFailures: 0 });
    expect(breaker.totals()).toMatchObject({ failedCalls: 0, successfulCalls: 0, openings: 0 });
  });

  it('admits calls while the circuit would be open', () => {
    const { breaker } = setup(settings);
    failSync(breaker, 2);
    expect(breaker.state).toBe('open');
    breaker.disable();
    expect(breaker.executeSync(() => 'through')).toBe('through');
  });

  it('keeps the window it had', () => {
    const { breaker } = setup({ ...settings, minimumCalls: 4 });
    failSync(breaker, 3);
    breaker.disable();
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 3 });
  });
});

describe('metricsOnly()', () => {
  it('records but never rejects', () => {
    const { breaker, events } = setup(settings);
    breaker.metricsOnly();
    failSync(breaker, 10);
    expect(breaker.state).toBe('metrics_only');
    expect(events).toHaveLength(1);
    expect(breaker.executeSync(() => 'admitted')).toBe('admitted');
    expect(breaker.totals()).toMatchObject({ failedCalls: 10, successfulCalls: 1, notPermittedCalls: 0, openings: 0 });
    expect(breaker.snapshot()).toMatchObject({ calls: 4, failures: 3 });
  });

  it('snapshot().wouldTrip is true while a trip rule holds; totals().wouldTrips counts each time it starts to hold', () => {
    const { breaker } = setup(settings);
    breaker.metricsOnly();
    expect(breaker.snapshot().wouldTrip).toBe(false);
    failSync(breaker, 1);
    expect(breaker.snapshot().wouldTrip).toBe(false); // 1 call < minimumCalls
    failSync(breaker, 1);
    expect(breaker.snapshot().wouldTrip).toBe(true);
    expect(breaker.totals().wouldTrips).toBe(1);
    failSync(breaker, 1);
    expect(breaker.totals().wouldTrips).toBe(1); // still holding: not a new would-be trip
    succeedSync(breaker, 4); // window [S S S S]
    expect(breaker.snapshot().wouldTrip).toBe(false);
    failSync(breaker, 1); // 1 of 4
    expect(breaker.snapshot().wouldTrip).toBe(false);
    failSync(breaker, 1); // 2 of 4 = 50%
    expect(breaker.snapshot().wouldTrip).toBe(true);
    expect(breaker.totals().wouldTrips).toBe(2);
  });

  it('counts would-be trips of the consecutive-failure rule', () => {
    const { breaker } = setup({ consecutiveFailureThreshold: 2, minimumCalls: 100 });
    breaker.metricsOnly();
    failSync(breaker, 2);
    expect(breaker.snapshot().wouldTrip).toBe(true);
    succeedSync(breaker);
    expect(breaker.snapshot().wouldTrip).toBe(false);
    failSync(breaker, 2);
    expect(breaker.totals().wouldTrips).toBe(2);
  });

  // Regression (fixed in 6b1aadf): entering metrics_only with a window that already meets a trip rule
  // reported wouldTrip: false until the next call completed.
  it('wouldTrip is true at once when metrics_only is entered with a window that meets a trip rule', () => {
    const { breaker } = setup(settings);
    failSync(breaker, 2); // opens; the window (2 failures of 2) is kept
    breaker.metricsOnly();
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 2, failureRate: 100 });
    expect(breaker.snapshot().wouldTrip).toBe(true);
    expect(breaker.totals().wouldTrips).toBe(0); // the rule held before: not a new would-be trip
  });

  // Regression (fixed in 6b1aadf): wouldTrip stayed true after a time window's failures expired.
  it('wouldTrip turns false once the failures that made it true have left a time window', () => {
    const { breaker, clock } = setup({ slidingWindow: { type: 'time', durationMs: 1000, buckets: 10 }, minimumCalls: 2 });
    breaker.metricsOnly();
    failSync(breaker, 2);
    expect(breaker.snapshot().wouldTrip).toBe(true);
    clock.advance(1000);
    expect(breaker.snapshot().calls).toBe(0);
    expect(breaker.snapshot().wouldTrip).toBe(false);
  });

  it('wouldTrip is absent outside metrics_only', () => {
    const { breaker } = setup(settings);
    expect('wouldTrip' in breaker.snapshot()).toBe(false);
    breaker.forceOpen();
    expect('wouldTrip' in breaker.snapshot()).toBe(false);
  });
});

describe('reset()', () => {
  function inState(state: string): { breaker: CircuitBreaker; clock: ManualClock } {
    const { breaker, clock } = setup({ ...settings, openDurationBackoff: { multiplier: 2 } });
    failSync(breaker, 1);
    if (state === 'closed') return { breaker, clock };
    failSync(breaker, 1); // open
    clock.advance(1000);
    failSync(breaker, 1); // trial fails: open again, k = 2
    if (state === 'open') return { breaker, clock };
    if (state === 'half_open') {
      clock.advance(2000);
      pendingCall(breaker);
    } else if (state === 'forced_open') breaker.forceOpen();
    else if (state === 'disabled') breaker.disable();
    else if (state === 'metrics_only') breaker.metricsOnly();
    return { breaker, clock };
  }

  it.each(['closed', 'open', 'half_open', 'forced_open', 'disabled', 'metrics_only'])(
    'from %s: closed, window empty, consecutive run and backoff reset',
    (state) => {
      const { breaker } = inState(state);
      expect(breaker.state).toBe(state);
      expect(breaker.snapshot().calls).toBeGreaterThan(0);
      breaker.reset();
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0, failureRate: 0, consecutiveFailures: 0 });
      expect(breaker.snapshot().openedAt).toBeUndefined();
      failSync(breaker, 2); // trips again
      expect(breaker.snapshot().retryAfterMs).toBe(1000); // k back to 1
    },
  );

  it('emits a transition with reason manual_reset', () => {
    const { breaker, events } = setup(settings);
    breaker.forceOpen();
    breaker.reset();
    expect(events.at(-1)).toMatchObject({ from: 'forced_open', to: 'closed', reason: 'manual_reset' });
  });

  it('on a closed breaker still emits an event (closed -> closed, manual_reset): operators audit manual actions', () => {
    const { breaker, clock, events } = setup(settings);
    failSync(breaker, 1);
    clock.advance(42);
    breaker.reset();
    expect(events).toEqual([{ name: 'payments', from: 'closed', to: 'closed', at: 42, reason: 'manual_reset' }]);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
  });

  it('keeps the cumulative totals', () => {
    const { breaker } = setup(settings);
    failSync(breaker, 2);
    breaker.reset();
    expect(breaker.totals()).toMatchObject({ failedCalls: 2, openings: 1 });
  });
});

describe('only reset() and a close from half_open clear the window', () => {
  it('forceOpen() then metricsOnly() keeps the counts', () => {
    const { breaker } = setup({ ...settings, minimumCalls: 4 });
    failSync(breaker, 1);
    succeedSync(breaker, 2);
    breaker.forceOpen();
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 1 });
    breaker.metricsOnly();
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 1 });
    failSync(breaker, 1); // recorded on top of the kept counts
    expect(breaker.snapshot()).toMatchObject({ calls: 4, failures: 2 });
  });

  it('open -> forced_open -> disabled keeps the counts', () => {
    const { breaker } = setup(settings);
    failSync(breaker, 2);
    breaker.forceOpen();
    breaker.disable();
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 2 });
  });
});

describe('reset() while closed', () => {
  it('makes calls in flight stale: their outcome does not land in the fresh window', async () => {
    const breaker = new CircuitBreaker({ name: 'reset-in-flight', clock: new ManualClock(), minimumCalls: 1 });
    let fail!: (error: Error) => void;
    const inFlight = breaker.execute(() => new Promise<never>((_, reject) => (fail = reject)));
    breaker.reset();
    fail(new Error('late'));
    await expect(inFlight).rejects.toThrow('late');
    expect(breaker.snapshot().calls).toBe(0);
    expect(breaker.state).toBe('closed');
  });
});
