import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { CircuitBreakerSettings } from '../../../lib/index.js';
import { failSync, setup } from './helpers.js';

function harness(settings: CircuitBreakerSettings) {
  return setup({ consecutiveFailureThreshold: 1, halfOpenProbeTimeoutMs: 1_000_000, ...settings });
}

/** Open durations of `count` consecutive openings (each trial fails at the moment it is admitted). */
function openDurations(settings: CircuitBreakerSettings, count: number): number[] {
  const { breaker, clock } = harness(settings);
  const durations: number[] = [];
  failSync(breaker); // opening 1
  for (let k = 1; k <= count; k++) {
    const retryAfterMs = breaker.snapshot().retryAfterMs!;
    durations.push(retryAfterMs);
    clock.advance(retryAfterMs);
    if (k < count) failSync(breaker); // admitted as a trial, fails: opening k + 1
  }
  return durations;
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('open duration backoff', () => {
  it('without backoff every opening waits openDurationMs', () => {
    expect(openDurations({ openDurationMs: 1000 }, 4)).toEqual([1000, 1000, 1000, 1000]);
  });

  it('the k-th consecutive opening waits min(openDurationMs * multiplier^(k-1), maxMs)', () => {
    expect(openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2, maxMs: 5000 } }, 5)).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
  });

  it('supports a fractional multiplier', () => {
    expect(openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 1.5, maxMs: 100_000 } }, 4)).toEqual([
      1000, 1500, 2250, 3375,
    ]);
  });

  it('multiplier defaults to 2', () => {
    expect(openDurations({ openDurationMs: 100, openDurationBackoff: {} }, 4)).toEqual([100, 200, 400, 800]);
  });

  it('maxMs defaults to 10x openDurationMs', () => {
    const { breaker } = harness({ openDurationMs: 1000, openDurationBackoff: { multiplier: 3 } });
    expect(breaker.options.openDurationBackoff).toEqual({ multiplier: 3, maxMs: 10_000, jitter: 0 });
    expect(openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 3 } }, 5)).toEqual([1000, 3000, 9000, 10_000, 10_000]);
  });

  it('the wait is enforced: one ms before it the circuit still rejects', () => {
    const { breaker, clock } = harness({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2 } });
    failSync(breaker);
    clock.advance(1000);
    failSync(breaker); // opening 2: 2000 ms
    clock.advance(1999);
    failSync(breaker); // rejected, not a trial
    expect(breaker.state).toBe('open');
    expect(breaker.totals().openings).toBe(2);
    clock.advance(1);
    expect(breaker.executeSync(() => 'ok')).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('a close resets k', () => {
    const { breaker, clock } = harness({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2 } });
    failSync(breaker);
    clock.advance(1000);
    failSync(breaker);
    clock.advance(2000);
    failSync(breaker);
    expect(breaker.snapshot().retryAfterMs).toBe(4000);
    clock.advance(4000);
    breaker.executeSync(() => 'ok'); // closes
    expect(breaker.state).toBe('closed');
    failSync(breaker);
    expect(breaker.snapshot().retryAfterMs).toBe(1000);
  });

  it('a probe timeout counts as a consecutive opening', () => {
    const { breaker, clock } = setup({
      consecutiveFailureThreshold: 1,
      openDurationMs: 1000,
      halfOpenProbeTimeoutMs: 100,
      openDurationBackoff: { multiplier: 2 },
    });
    failSync(breaker);
    clock.advance(1000);
    void breaker.execute(() => new Promise<never>(() => undefined));
    clock.advance(100);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', retryAfterMs: 2000 });
  });

  it('reset() resets k', () => {
    const { breaker, clock } = harness({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2 } });
    failSync(breaker);
    clock.advance(1000);
    failSync(breaker);
    expect(breaker.snapshot().retryAfterMs).toBe(2000);
    breaker.reset();
    failSync(breaker);
    expect(breaker.snapshot().retryAfterMs).toBe(1000);
  });

  describe('jitter', () => {
    it('with Math.random() = 0 the full duration is kept', () => {
      jest.spyOn(Math, 'random').mockReturnValue(0);
      expect(openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2, maxMs: 3000, jitter: 0.5 } }, 4)).toEqual([
        1000, 2000, 3000, 3000,
      ]);
    });

    it('with Math.random() = 0.999 the duration is shortened by at most the jitter fraction', () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.999);
      const durations = openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2, maxMs: 3000, jitter: 0.5 } }, 4);
      const full = [1000, 2000, 3000, 3000];
      durations.forEach((duration, i) => {
        expect(duration).toBeLessThan(full[i]!);
        expect(duration).toBeGreaterThanOrEqual(full[i]! * 0.5);
      });
      // 1000 - 1000 * 0.5 * 0.999 = 500.5 -> retryAfterMs rounds up to 501
      expect(durations[0]).toBe(501);
    });

    it('the shortened duration is the one enforced', () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.999);
      const { breaker, clock } = harness({ openDurationMs: 1000, openDurationBackoff: { jitter: 0.5 } });
      failSync(breaker); // open until 500.5
      clock.advance(500);
      failSync(breaker); // still open: rejected
      expect(breaker.state).toBe('open');
      clock.advance(1);
      expect(breaker.executeSync(() => 'ok')).toBe('ok');
      expect(breaker.state).toBe('closed');
    });

    it('jitter 1 may shorten to almost nothing but never below zero; the cap always holds', () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.999);
      const durations = openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 10, maxMs: 2000, jitter: 1 } }, 3);
      for (const d of durations) {
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(2000);
      }
      expect(durations).toEqual([1, 2, 2]); // 1000*0.001 = 1, 2000*0.001 = 2
    });

    it('the cap holds with jitter and Math.random() = 0', () => {
      jest.spyOn(Math, 'random').mockReturnValue(0);
      const durations = openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 100, maxMs: 4000, jitter: 1 } }, 3);
      expect(Math.max(...durations)).toBe(4000);
    });

    it('jitter 0 (default) never calls Math.random', () => {
      const random = jest.spyOn(Math, 'random');
      openDurations({ openDurationMs: 1000, openDurationBackoff: { multiplier: 2 } }, 3);
      expect(random).not.toHaveBeenCalled();
    });
  });
});
