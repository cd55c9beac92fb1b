import { describe, expect, it } from '@jest/globals';
import { CountWindow } from '../../../lib/core/windows/count-window.js';
import { createWindow } from '../../../lib/core/windows/index.js';
import { FAILURE, SLOW } from '../../../lib/core/windows/sliding-window.js';
import { TimeWindow } from '../../../lib/core/windows/time-window.js';
import { failSync, setup, slowSync, succeedSync } from './helpers.js';

function counts(window: { calls: number; failures: number; slowCalls: number }): [number, number, number] {
  return [window.calls, window.failures, window.slowCalls];
}

describe('CountWindow', () => {
  it('counts calls, failures and slow calls', () => {
    const window = new CountWindow(5);
    window.record(0);
    window.record(FAILURE);
    window.record(SLOW);
    window.record(FAILURE | SLOW);
    expect(counts(window)).toEqual([4, 2, 2]);
    expect(window.usesTime).toBe(false);
  });

  it('keeps only the last `size` outcomes: the oldest is evicted', () => {
    const window = new CountWindow(3);
    window.record(FAILURE | SLOW);
    window.record(FAILURE);
    window.record(0);
    expect(counts(window)).toEqual([3, 2, 1]);
    window.record(0); // evicts FAILURE|SLOW
    expect(counts(window)).toEqual([3, 1, 0]);
    window.record(0); // evicts FAILURE
    expect(counts(window)).toEqual([3, 0, 0]);
    window.record(FAILURE); // evicts a success
    expect(counts(window)).toEqual([3, 1, 0]);
  });

  it('wraps around many times without drift', () => {
    const window = new CountWindow(7);
    for (let i = 0; i < 1000; i++) window.record(i % 3 === 0 ? FAILURE : 0);
    // last 7 indices 993..999: failures at 993, 996, 999
    expect(counts(window)).toEqual([7, 3, 0]);
  });

  it('size 1 keeps only the newest outcome', () => {
    const window = new CountWindow(1);
    window.record(FAILURE);
    expect(counts(window)).toEqual([1, 1, 0]);
    window.record(SLOW);
    expect(counts(window)).toEqual([1, 0, 1]);
  });

  it('clear() empties it and recording starts afresh', () => {
    const window = new CountWindow(3);
    window.record(FAILURE);
    window.record(FAILURE);
    window.clear();
    expect(counts(window)).toEqual([0, 0, 0]);
    window.record(0);
    window.record(0);
    window.record(0);
    window.record(0);
    expect(counts(window)).toEqual([3, 0, 0]);
  });

  it('recordSuccess() is record(0), also across a full window of successes and a clear()', () => {
    const fast = new CountWindow(7);
    const reference = new CountWindow(7);
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2_147_483_648) / 2_147_483_648;
    for (let i = 0; i < 5_000; i++) {
      const r = next();
      if (r < 0.01) {
        fast.clear();
        reference.clear();
      } else if (r < 0.7) {
        fast.recordSuccess();
        reference.record(0);
      } else {
        const outcome = r < 0.85 ? FAILURE : r < 0.95 ? SLOW : FAILURE | SLOW;
        fast.record(outcome);
        reference.record(outcome);
      }
      expect(counts(fast)).toEqual(counts(reference));
    }
  });

  it('ignores time', () => {
    const window = new CountWindow(3);
    window.record(FAILURE);
    window.advance();
    expect(counts(window)).toEqual([1, 1, 0]);
  });
});

describe('TimeWindow', () => {
  it('usesTime is true', () => {
    expect(new TimeWindow(1000, 10).usesTime).toBe(true);
  });

  it('keeps outcomes of the current slice and the slices before it within durationMs', () => {
    const window = new TimeWindow(1000, 10); // 100 ms slices
    window.record(FAILURE, 0);
    window.record(0, 50);
    window.record(SLOW, 250);
    window.advance(999);
    expect(counts(window)).toEqual([3, 1, 1]);
  });

  it('expires outcomes one slice at a time', () => {
    const window = new TimeWindow(1000, 10);
    window.record(FAILURE, 0); // slice 0
    window.record(FAILURE, 99); // slice 0
    window.record(0, 100); // slice 1
    window.record(SLOW, 250); // slice 2
    window.advance(999);
    expect(counts(window)).toEqual([4, 2, 1]);
    window.advance(1000); // slice 10 reuses slice 0's slot: both failures leave together
    expect(counts(window)).toEqual([2, 0, 1]);
    window.advance(1099);
    expect(counts(window)).toEqual([2, 0, 1]);
    window.advance(1100);
    expect(counts(window)).toEqual([1, 0, 1]);
    window.advance(1200);
    expect(counts(window)).toEqual([0, 0, 0]);
  });

  it('rotates buckets: new outcomes land in a fresh slice after the old one was cleared', () => {
    const window = new TimeWindow(400, 4);
    window.record(FAILURE, 0);
    window.record(0, 400); // same slot as t=0, after clearing it
    expect(counts(window)).toEqual([1, 0, 0]);
    window.record(FAILURE, 500);
    expect(counts(window)).toEqual([2, 1, 0]);
  });

  it('an idle window keeps nothing stale after durationMs', () => {
    const window = new TimeWindow(1000, 10);
    for (let t = 0; t < 1000; t += 100) window.record(FAILURE | SLOW, t);
    expect(counts(window)).toEqual([10, 10, 10]);
    window.advance(1_000_000); // far more than buckets slices elapsed
    expect(counts(window)).toEqual([0, 0, 0]);
    window.record(0, 1_000_001);
    expect(counts(window)).toEqual([1, 0, 0]);
  });

  it('an idle gap of exactly durationMs clears every slice', () => {
    const window = new TimeWindow(1000, 4);
    window.record(FAILURE, 0);
    window.record(FAILURE, 999);
    window.advance(1999);
    expect(counts(window)).toEqual([0, 0, 0]);
  });

  it('a clock that steps back keeps the newest slice', () => {
    const window = new TimeWindow(1000, 10);
    window.record(FAILURE, 500);
    window.record(0, 100); // earlier than the head: recorded into the newest slice
    expect(counts(window)).toEqual([2, 1, 0]);
    window.advance(1499);
    expect(counts(window)).toEqual([2, 1, 0]);
    window.advance(1500);
    expect(counts(window)).toEqual([0, 0, 0]);
  });

  it('one bucket: the whole window expires at once', () => {
    const window = new TimeWindow(1000, 1);
    window.record(FAILURE, 10);
    window.record(FAILURE, 990);
    window.advance(999);
    expect(counts(window)).toEqual([2, 2, 0]);
    window.advance(1000);
    expect(counts(window)).toEqual([0, 0, 0]);
  });

  it('clear() empties it', () => {
    const window = new TimeWindow(1000, 10);
    window.record(FAILURE, 0);
    window.clear();
    expect(counts(window)).toEqual([0, 0, 0]);
    window.record(FAILURE, 5000);
    expect(counts(window)).toEqual([1, 1, 0]);
  });

  it('works with slices that are not whole milliseconds', () => {
    const window = new TimeWindow(1000, 3); // 333.33 ms slices
    window.record(FAILURE, 0);
    window.advance(999);
    expect(window.calls).toBe(1);
    window.advance(1000); // slice 3 = slot 0
    expect(window.calls).toBe(0);
  });
});

describe('createWindow', () => {
  it('builds the window its options describe', () => {
    expect(createWindow({ type: 'count', size: 4 })).toBeInstanceOf(CountWindow);
    const time = createWindow({ type: 'time', durationMs: 1000, buckets: 5 });
    expect(time).toBeInstanceOf(TimeWindow);
    expect((time as TimeWindow).buckets).toBe(5);
  });
});

describe('the breaker over a count window', () => {
  it('old failures fall out of the window', () => {
    const { breaker } = setup({ slidingWindow: { type: 'count', size: 4 }, minimumCalls: 4, failureRateThreshold: 50 });
    failSync(breaker, 1);
    succeedSync(breaker, 3);
    expect(breaker.snapshot()).toMatchObject({ calls: 4, failures: 1, failureRate: 25 });
    succeedSync(breaker, 1);
    expect(breaker.snapshot()).toMatchObject({ calls: 4, failures: 0, failureRate: 0 });
  });

  it('judges only the last `size` calls: an old failure does not help a later trip', () => {
    const { breaker } = setup({ slidingWindow: { type: 'count', size: 4 }, minimumCalls: 4, failureRateThreshold: 50 });
    failSync(breaker, 1);
    succeedSync(breaker, 3); // [F S S S] 25%
    succeedSync(breaker, 1); // [S S S S]
    failSync(breaker, 1); // 1 of 4 in the window (2 of 6 ever): no trip
    expect(breaker.state).toBe('closed');
    failSync(breaker, 1); // 2 of 4 = 50%
    expect(breaker.state).toBe('open');
  });
});

describe('the breaker over a time window', () => {
  const window = { type: 'time', durationMs: 1000, buckets: 10 } as const;

  it('failures older than durationMs do not count toward a trip', () => {
    const { breaker, clock } = setup({ slidingWindow: window, minimumCalls: 3, failureRateThreshold: 100 });
    failSync(breaker); // t = 0
    clock.advance(500);
    failSync(breaker); // t = 500
    clock.advance(500);
    failSync(breaker); // t = 1000: the t = 0 failure has expired
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 2, failures: 2 });
    failSync(breaker);
    expect(breaker.state).toBe('open');
  });

  it('outcomes expire per bucket (snapshot advances the window)', () => {
    const { breaker, clock } = setup({ slidingWindow: window, minimumCalls: 10 });
    failSync(breaker); // slice 0
    clock.advance(150);
    succeedSync(breaker, 2); // slice 1
    clock.advance(849); // t = 999
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 1 });
    clock.advance(1); // t = 1000
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 0 });
    clock.advance(100); // t = 1100
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0, failureRate: 0 });
  });

  it('an idle window keeps nothing stale after durationMs', () => {
    const { breaker, clock } = setup({ slidingWindow: window, minimumCalls: 10, slowCallDurationMs: 5 });
    failSync(breaker, 5);
    slowSync(breaker, clock, 10);
    clock.advance(60_000);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0, slowCalls: 0 });
    failSync(breaker, 9);
    expect(breaker.state).toBe('closed'); // 9 fresh calls: the 6 stale ones no longer count
  });
});
