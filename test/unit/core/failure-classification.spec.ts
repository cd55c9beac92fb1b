import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, ManualClock } from '../../../lib/index.js';
import { IgnoredError, failSync, ignoreIgnoredError, setup, succeedSync, thrownBy } from './helpers.js';

function ignoredSync(breaker: ReturnType<typeof setup>['breaker'], count = 1): unknown {
  let thrown: unknown;
  for (let i = 0; i < count; i++) {
    thrown = thrownBy(() =>
      breaker.executeSync((): never => {
        throw new IgnoredError('client error');
      }),
    );
  }
  return thrown;
}

describe('isFailure returning false: the call is ignored', () => {
  it('the error is still thrown to the caller (same object)', () => {
    const { breaker } = setup({ isFailure: ignoreIgnoredError });
    const error = new IgnoredError('400');
    expect(
      thrownBy(() =>
        breaker.executeSync((): never => {
          throw error;
        }),
      ),
    ).toBe(error);
  });

  it('an async rejection is still propagated', async () => {
    const { breaker } = setup({ isFailure: ignoreIgnoredError });
    const error = new IgnoredError('400');
    await expect(breaker.execute(async () => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.totals().ignoredCalls).toBe(1);
  });

  it('is outside the window: not in calls, failures or rates', () => {
    const { breaker } = setup({ isFailure: ignoreIgnoredError, minimumCalls: 100 });
    failSync(breaker, 1);
    ignoredSync(breaker, 3);
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1, failureRate: 100 });
    expect(breaker.totals()).toMatchObject({ ignoredCalls: 3, failedCalls: 1, successfulCalls: 0 });
  });

  it('does not count toward minimumCalls', () => {
    const { breaker } = setup({ isFailure: ignoreIgnoredError, minimumCalls: 3, failureRateThreshold: 50 });
    failSync(breaker, 2);
    ignoredSync(breaker, 5);
    expect(breaker.state).toBe('closed');
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('does not dilute the failure rate', () => {
    const { breaker } = setup({ isFailure: ignoreIgnoredError, minimumCalls: 2, failureRateThreshold: 100 });
    failSync(breaker, 1);
    ignoredSync(breaker, 10);
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('neither extends nor breaks a run of consecutive failures', () => {
    const { breaker } = setup({ isFailure: ignoreIgnoredError, consecutiveFailureThreshold: 3, minimumCalls: 100 });
    failSync(breaker, 1);
    ignoredSync(breaker, 1);
    failSync(breaker, 1);
    expect(breaker.snapshot().consecutiveFailures).toBe(2);
    expect(breaker.state).toBe('closed');
    ignoredSync(breaker, 1);
    failSync(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('is not a slow call', () => {
    const { breaker, clock } = setup({ isFailure: ignoreIgnoredError, slowCallDurationMs: 10, minimumCalls: 1 });
    thrownBy(() =>
      breaker.executeSync((): never => {
        clock.advance(100);
        throw new IgnoredError('slow and ignored');
      }),
    );
    expect(breaker.totals()).toMatchObject({ slowCalls: 0, ignoredCalls: 1 });
    expect(breaker.state).toBe('closed');
  });

  it('isFailure receives the error', () => {
    const isFailure = jest.fn((_error: unknown) => true);
    const { breaker } = setup({ isFailure });
    const error = new Error('which?');
    failSync(breaker, 1, error);
    expect(isFailure).toHaveBeenCalledWith(error);
  });

  it('isFailure is not consulted for successes', () => {
    const isFailure = jest.fn((_error: unknown) => true);
    const { breaker } = setup({ isFailure });
    succeedSync(breaker, 3);
    expect(isFailure).not.toHaveBeenCalled();
  });
});

describe('isResultFailure', () => {
  it('a flagged sync result is recorded as a failure and still returned', () => {
    const { breaker } = setup({ isResultFailure: (r) => (r as { status: number }).status >= 500, minimumCalls: 100 });
    const response = { status: 503 };
    expect(breaker.executeSync(() => response)).toBe(response);
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1 });
    expect(breaker.totals()).toMatchObject({ failedCalls: 1, successfulCalls: 0 });
  });

  it('a flagged async result is recorded as a failure and still resolved', async () => {
    const { breaker } = setup({ isResultFailure: (r) => r === 'bad', minimumCalls: 1 });
    await expect(breaker.execute(async () => 'bad')).resolves.toBe('bad');
    expect(breaker.state).toBe('open');
  });

  it('an unflagged result is a success', () => {
    const { breaker } = setup({ isResultFailure: (r) => r === 'bad', minimumCalls: 100 });
    expect(breaker.executeSync(() => 'good')).toBe('good');
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, failedCalls: 0 });
  });

  it('flagged results count toward consecutive failures', () => {
    const { breaker } = setup({ isResultFailure: (r) => r === 'bad', consecutiveFailureThreshold: 2, minimumCalls: 100 });
    breaker.executeSync(() => 'bad');
    breaker.executeSync(() => 'bad');
    expect(breaker.state).toBe('open');
  });
});

describe('predicates that throw', () => {
  it('an isFailure that throws counts the call as a failure and does not crash', () => {
    const crash = new Error('classifier bug');
    const { breaker } = setup({
      minimumCalls: 100,
      isFailure: () => {
        throw crash;
      },
    });
    const internalError = jest.fn();
    breaker.onInternalError = internalError;
    const error = new Error('call failed');
    expect(failSync(breaker, 1, error)).toBe(error); // the call's own error reaches the caller
    expect(breaker.totals()).toMatchObject({ failedCalls: 1, ignoredCalls: 0 });
    expect(internalError).toHaveBeenCalledWith(crash, expect.stringContaining('isFailure'));
  });

  it('an isResultFailure that throws counts the call as a failure; the value is still returned', async () => {
    const crash = new Error('classifier bug');
    const { breaker } = setup({
      minimumCalls: 100,
      isResultFailure: () => {
        throw crash;
      },
    });
    const internalError = jest.fn();
    breaker.onInternalError = internalError;
    expect(breaker.executeSync(() => 'value')).toBe('value');
    await expect(breaker.execute(async () => 'async value')).resolves.toBe('async value');
    expect(breaker.totals()).toMatchObject({ failedCalls: 2, successfulCalls: 0 });
    expect(internalError).toHaveBeenCalledWith(crash, expect.stringContaining('isResultFailure'));
  });

  it('the default onInternalError does not throw', () => {
    const { breaker } = setup({
      minimumCalls: 100,
      isResultFailure: () => {
        throw new Error('classifier bug, default sink');
      },
    });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(breaker.executeSync(() => 1)).toBe(1);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('isFailure runs once per error object', () => {
  it('asking again (as the Nest layer does for a fallback) does not run the predicate twice; reconfigure forgets the answers', () => {
    const clock = new ManualClock();
    let runs = 0;
    const breaker = new CircuitBreaker({
      name: 'classify-once',
      clock,
      minimumCalls: 100,
      isFailure: () => {
        runs++;
        return true;
      },
    });
    const error = new Error('down');
    expect(() =>
      breaker.executeSync(() => {
        throw error;
      }),
    ).toThrow(error);
    expect(breaker.countsAsFailure(error)).toBe(true);
    expect(runs).toBe(1);
    breaker.reconfigure({ isFailure: () => false });
    expect(breaker.countsAsFailure(error)).toBe(false);
  });
});
