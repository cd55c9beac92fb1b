import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerConfigError, ManualClock } from '../../../lib/index.js';
import type { CircuitBreakerSettings } from '../../../lib/index.js';
import { failSync, setup, slowSync, succeedSync, thrownBy } from './helpers.js';

const loose: CircuitBreakerSettings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 10, failureRateThreshold: 80, openDurationMs: 1000 };

describe('shadow configurations', () => {
  it('a stricter shadow would trip while the enforced breaker stays closed and nothing is rejected', () => {
    const { breaker } = setup({ ...loose, shadows: { strict: { failureRateThreshold: 25 } } });
    succeedSync(breaker, 7);
    failSync(breaker, 3); // 30 %: over the shadow's 25, under the enforced 80
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().shadows!['strict']).toMatchObject({ state: 'open', wouldTrips: 1, wouldReject: 0 });
    succeedSync(breaker, 5); // every one admitted by the enforced breaker, each a would-be rejection
    expect(breaker.totals()).toMatchObject({ successfulCalls: 12, failedCalls: 3, notPermittedCalls: 0 });
    expect(breaker.snapshot().shadows!['strict']).toMatchObject({ state: 'open', wouldTrips: 1, wouldReject: 5 });
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', notPermittedCalls: 0, calls: 10 });
  });

  it("a shadow's would-be state goes open -> half_open -> closed on the breaker's clock", () => {
    const { breaker, clock } = setup({ ...loose, shadows: { strict: { failureRateThreshold: 20, openDurationMs: 5000 } } });
    failSync(breaker, 2);
    succeedSync(breaker, 8);
    const strict = () => breaker.snapshot().shadows!['strict']!;
    expect(strict()).toMatchObject({ state: 'open', retryAfterMs: 5000 });
    clock.advance(4999);
    succeedSync(breaker);
    expect(strict()).toMatchObject({ state: 'open', wouldReject: 1 });
    clock.advance(1);
    // halfOpenMaxCalls 1: the trial the next call would be succeeds and closes the shadow.
    succeedSync(breaker);
    expect(strict()).toMatchObject({ state: 'closed', wouldTrips: 1, wouldReject: 1 });
    expect(breaker.state).toBe('closed');
  });

  it('a looser shadow stays closed while the enforced breaker opens, and counts the calls the enforced one rejected only when it would reject them too', () => {
    const { breaker } = setup({ ...loose, failureRateThreshold: 50, shadows: { lax: { failureRateThreshold: 100 }, stricter: { failureRateThreshold: 30 } } });
    succeedSync(breaker, 5);
    failSync(breaker, 5);
    expect(breaker.state).toBe('open');
    failSync(breaker, 3); // rejected by the enforced breaker: no outcome known
    const shadows = breaker.snapshot().shadows!;
    expect(shadows['lax']).toMatchObject({ state: 'closed', wouldTrips: 0, wouldReject: 0, calls: 10 });
    expect(shadows['stricter']).toMatchObject({ state: 'open', wouldTrips: 1, wouldReject: 3 });
  });

  it("a shadow with slow-call tracking sees every call's duration, and its own timeoutMs turns a long call into a timeout", () => {
    const { breaker, clock } = setup({
      slidingWindow: { type: 'count', size: 4 },
      minimumCalls: 4,
      shadows: { slow: { slowCallDurationMs: 100, slowCallRateThreshold: 50 }, quick: { timeoutMs: 200 } },
    });
    for (let i = 0; i < 2; i++) slowSync(breaker, clock, 10);
    for (let i = 0; i < 2; i++) slowSync(breaker, clock, 300);
    expect(breaker.state).toBe('closed');
    const shadows = breaker.snapshot().shadows!;
    expect(shadows['slow']).toMatchObject({ state: 'open', slowCallRate: 50 });
    // Two of four calls ran past 200 ms: timeouts there, a 50 % failure rate.
    expect(shadows['quick']).toMatchObject({ state: 'open', failures: 2 });
  });

  it('no shadows, no snapshot entry and no call listener; reconfigure adds and removes them', () => {
    const { breaker } = setup(loose);
    expect(breaker.snapshot().shadows).toBeUndefined();
    expect(breaker.listening).toBe(false);
    breaker.reconfigure({ shadows: { strict: { failureRateThreshold: 10 } } });
    expect(breaker.listening).toBe(true);
    failSync(breaker, 10);
    expect(breaker.snapshot().shadows!['strict']!.state).toBe('open');
    breaker.reconfigure({ shadows: undefined });
    expect(breaker.listening).toBe(false);
    expect(breaker.snapshot().shadows).toBeUndefined();
  });

  it('dispose leaves no shadow timer behind', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'p', clock, consecutiveFailureThreshold: 1, shadows: { a: { halfOpenProbeTimeoutMs: 50_000 } } });
    failSync(breaker);
    clock.advance(30_000);
    // The enforced breaker is half_open now, and so is the shadow once a call asks it.
    void breaker.execute(() => new Promise(() => undefined));
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  describe('validation at construction, naming the shadow and the option', () => {
    const refused = (shadows: unknown): CircuitBreakerConfigError => {
      const error = thrownBy(() => new CircuitBreaker({ name: 'payments', shadows } as never));
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      return error as CircuitBreakerConfigError;
    };

    it('refuses a bad value inside a shadow', () => {
      const error = refused({ strict: { failureRateThreshold: 250 } });
      expect(error).toMatchObject({ breakerName: 'payments', option: 'shadows.strict.failureRateThreshold', value: 250 });
      expect(error.message).toContain('a percentage in (0, 100]');
    });

    it('refuses code-valued options, a store, a health check and nested shadows', () => {
      for (const key of ['isFailure', 'isResultFailure', 'retryAfterMs', 'clock', 'store', 'healthCheck', 'shadows', 'name']) {
        const error = refused({ s: { [key]: () => true } });
        expect(error.option).toBe(`shadows.s.${key}`);
        expect(error.allowed).toMatch(/^absent: /);
      }
      expect(refused({ s: { isFailure: () => true } }).message).toContain('code-valued options are not allowed in a shadow');
    });

    it('refuses unknown options, bad names, non-objects and too many shadows', () => {
      expect(refused({ s: { failureRate: 10 } }).option).toBe('shadows.s.failureRate');
      expect(refused({ 'has space': {} }).option).toBe('shadows.has space');
      expect(refused({ s: 25 }).option).toBe('shadows.s');
      expect(refused([]).option).toBe('shadows');
      const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`s${i}`, {}]));
      expect(refused(many).allowed).toContain('at most 10');
    });

    it('checks a shadow against the options it inherits', () => {
      const error = thrownBy(() => new CircuitBreaker({ name: 'payments', slidingWindow: { type: 'count', size: 5 }, shadows: { s: { minimumCalls: 20 } } }));
      expect(error).toMatchObject({ option: 'shadows.s.minimumCalls', value: 20 });
    });

    it('a reconfigure with a bad shadow changes nothing', () => {
      const { breaker } = setup({ shadows: { a: { failureRateThreshold: 20 } } });
      expect(() => breaker.reconfigure({ shadows: { a: { failureRateThreshold: 0 } } })).toThrow(CircuitBreakerConfigError);
      expect(Object.keys(breaker.snapshot().shadows!)).toEqual(['a']);
      expect(breaker.options.shadows).toEqual({ a: { failureRateThreshold: 20 } });
    });
  });
});
