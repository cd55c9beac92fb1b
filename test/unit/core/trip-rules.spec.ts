import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, ManualClock } from '../../../lib/index.js';
import { failSync, setup, slowSync, succeedSync } from './helpers.js';

describe('trip rules: failure rate', () => {
  it.each([
    // threshold, successes, failures, trips
    [50, 5, 5, true],
    [40, 6, 4, true],
    [41, 6, 4, false],
    [50, 6, 4, false],
    [100, 0, 10, true],
    [100, 1, 9, false],
    [33.3, 2, 1, true],
    [33.4, 2, 1, false],
  ])('threshold %p%% with %p successes then %p failures: trips = %p', (threshold, successes, failures, trips) => {
    const { breaker, events } = setup({ failureRateThreshold: threshold, minimumCalls: successes + failures });
    succeedSync(breaker, successes);
    failSync(breaker, failures);
    expect(breaker.state).toBe(trips ? 'open' : 'closed');
    if (trips) {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ from: 'closed', to: 'open', reason: 'failure_rate' });
    } else {
      expect(events).toHaveLength(0);
    }
  });

  it('trips exactly when the rate reaches the threshold, not a call earlier', () => {
    const { breaker } = setup({ failureRateThreshold: 50, minimumCalls: 4 });
    succeedSync(breaker, 2);
    failSync(breaker, 1);
    expect(breaker.state).toBe('closed'); // 3 calls < minimumCalls
    failSync(breaker, 1);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', calls: 4, failures: 2, failureRate: 50 });
  });
});

describe('trip rules: slow-call rate', () => {
  it('a call lasting exactly slowCallDurationMs is slow; one ms less is not', () => {
    const { breaker, clock } = setup({ slowCallDurationMs: 100, minimumCalls: 10 });
    slowSync(breaker, clock, 99);
    expect(breaker.snapshot().slowCalls).toBe(0);
    slowSync(breaker, clock, 100);
    expect(breaker.snapshot().slowCalls).toBe(1);
    expect(breaker.totals().slowCalls).toBe(1);
  });

  it('trips with reason slow_call_rate when the slow rate reaches the threshold', () => {
    const { breaker, clock, events } = setup({ slowCallDurationMs: 100, slowCallRateThreshold: 50, minimumCalls: 2 });
    slowSync(breaker, clock, 10);
    expect(breaker.state).toBe('closed');
    slowSync(breaker, clock, 100);
    expect(breaker.state).toBe('open');
    expect(events.map((e) => e.reason)).toEqual(['slow_call_rate']);
  });

  it('does not trip while the slow rate is below the threshold', () => {
    const { breaker, clock } = setup({ slowCallDurationMs: 100, slowCallRateThreshold: 50, minimumCalls: 3 });
    slowSync(breaker, clock, 10);
    slowSync(breaker, clock, 10);
    slowSync(breaker, clock, 150);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 3, slowCalls: 1 });
  });

  it('measures async calls from start to settlement', async () => {
    const { breaker, clock } = setup({ slowCallDurationMs: 100, slowCallRateThreshold: 100, minimumCalls: 1 });
    let release!: (value: string) => void;
    const result = breaker.execute(() => new Promise<string>((resolve) => (release = resolve)));
    clock.advance(100);
    release('late');
    await expect(result).resolves.toBe('late');
    expect(breaker.state).toBe('open');
  });

  it('a slow failure counts as both a failure and a slow call', () => {
    const { breaker, clock } = setup({ slowCallDurationMs: 100, minimumCalls: 10 });
    slowSync(breaker, clock, 100, true);
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it('does not track slow calls without slowCallDurationMs', () => {
    // (slowCallRateThreshold without slowCallDurationMs is a configuration error: see options-validation.spec.ts)
    const { breaker, clock } = setup({ minimumCalls: 1 });
    slowSync(breaker, clock, 1_000_000);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', slowCalls: 0, slowCallRate: 0 });
  });

  // Regression (fixed in 6b1aadf): the "nothing can trip" shortcut looked only at window.failures,
  // so a fast success reaching minimumCalls never evaluated the slow-call rule.
  it('trips on the slow rate when the call that reaches minimumCalls is a fast success', () => {
    const { breaker, clock } = setup({ slowCallDurationMs: 100, slowCallRateThreshold: 50, minimumCalls: 4 });
    slowSync(breaker, clock, 100);
    slowSync(breaker, clock, 100);
    slowSync(breaker, clock, 100);
    expect(breaker.state).toBe('closed'); // 3 calls < minimumCalls
    slowSync(breaker, clock, 1); // fast success: 3 slow of 4 = 75% >= 50%
    expect(breaker.snapshot().slowCallRate).toBe(75);
    expect(breaker.state).toBe('open');
  });
});

describe('trip rules: consecutive failures', () => {
  it('trips after consecutiveFailureThreshold failures in a row, with reason consecutive_failures', () => {
    const { breaker, events } = setup({ consecutiveFailureThreshold: 3, minimumCalls: 100 });
    failSync(breaker, 2);
    expect(breaker.state).toBe('closed');
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(events.map((e) => e.reason)).toEqual(['consecutive_failures']);
  });

  it('trips whatever the window says (failure rate far below the threshold)', () => {
    const { breaker } = setup({ consecutiveFailureThreshold: 3, failureRateThreshold: 50, minimumCalls: 5 });
    succeedSync(breaker, 20);
    failSync(breaker, 3);
    const { failureRate } = breaker.snapshot();
    expect(failureRate).toBeLessThan(50);
    expect(breaker.state).toBe('open');
  });

  it('a success resets the run', () => {
    const { breaker } = setup({ consecutiveFailureThreshold: 3, minimumCalls: 100 });
    failSync(breaker, 2);
    succeedSync(breaker);
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
    failSync(breaker, 2);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('is off by default', () => {
    const { breaker } = setup({ minimumCalls: 100, slidingWindow: { type: 'count', size: 100 } });
    failSync(breaker, 99);
    expect(breaker.state).toBe('closed');
    expect(breaker.options.consecutiveFailureThreshold).toBeUndefined();
  });
});

describe('trip rules: minimumCalls gate', () => {
  it('does not trip with fewer calls than minimumCalls, even at 100% failures', () => {
    const { breaker } = setup({ minimumCalls: 5, failureRateThreshold: 50 });
    failSync(breaker, 4);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failureRate: 100 });
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('trips when the call that reaches minimumCalls is a success', () => {
    const { breaker, events } = setup({ minimumCalls: 5, failureRateThreshold: 50 });
    failSync(breaker, 4);
    expect(breaker.state).toBe('closed');
    succeedSync(breaker);
    expect(breaker.state).toBe('open');
    expect(events[0]?.reason).toBe('failure_rate');
  });

  it('defaults to 10', () => {
    const { breaker } = setup();
    expect(breaker.options.minimumCalls).toBe(10);
    failSync(breaker, 9);
    expect(breaker.state).toBe('closed');
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it.each([
    [1, 1],
    [5, 5],
    [10, 10],
    [50, 10],
  ])('the default is capped at a count window size of %p (-> %p)', (size, expected) => {
    const { breaker } = setup({ slidingWindow: { type: 'count', size } });
    expect(breaker.options.minimumCalls).toBe(expected);
    failSync(breaker, expected - 1);
    expect(breaker.state).toBe('closed');
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('a time window keeps the default of 10', () => {
    const { breaker } = setup({ slidingWindow: { type: 'time', durationMs: 1000, buckets: 2 } });
    expect(breaker.options.minimumCalls).toBe(10);
  });

  it('does not gate the consecutive-failure rule', () => {
    const { breaker } = setup({ minimumCalls: 50, consecutiveFailureThreshold: 2 });
    failSync(breaker, 2);
    expect(breaker.state).toBe('open');
  });
});

describe('trip rules: minimumFailures gate', () => {
  it('100% failure rate with fewer failures than minimumFailures does not trip', () => {
    const { breaker } = setup({ minimumCalls: 1, minimumFailures: 3, failureRateThreshold: 50 });
    failSync(breaker, 2);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failureRate: 100, failures: 2 });
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('defaults to 1 (gate off)', () => {
    const { breaker } = setup({ minimumCalls: 1 });
    expect(breaker.options.minimumFailures).toBe(1);
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('does not gate the slow-call rule', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'slow', clock, minimumCalls: 1, minimumFailures: 5, slowCallDurationMs: 10 });
    slowSync(breaker, clock, 10);
    expect(breaker.state).toBe('open');
  });
});
