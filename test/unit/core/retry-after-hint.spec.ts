import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitOpenError, ManualClock } from '../../../lib/index.js';
import { failSync, setup, thrownBy } from './helpers.js';

/** A failure carrying the wait a dependency asked for, like an HTTP 429 / 503 with Retry-After. */
class Throttled extends Error {
  constructor(readonly waitMs: number | undefined) {
    super('throttled');
  }
}

const hint = (failure: unknown): number | undefined => (failure instanceof Throttled ? failure.waitMs : undefined);
const tripping = { consecutiveFailureThreshold: 1, openDurationMs: 1_000, retryAfterMs: hint } as const;

function retryAfter(breaker: CircuitBreaker): number | undefined {
  return (thrownBy(() => breaker.executeSync(() => 1)) as CircuitOpenError).retryAfterMs;
}

describe('retryAfterMs: the wait the failure that opened the circuit asked for', () => {
  it('keeps the circuit open until then when it is longer than openDurationMs', () => {
    const { breaker, clock } = setup(tripping);
    failSync(breaker, 1, new Throttled(5_000));
    expect(breaker.state).toBe('open');
    expect(retryAfter(breaker)).toBe(5_000);
    clock.advance(4_999);
    expect(thrownBy(() => breaker.executeSync(() => 1))).toBeInstanceOf(CircuitOpenError);
    clock.advance(1);
    expect(breaker.executeSync(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
  });

  it('never shortens openDurationMs', () => {
    const { breaker } = setup(tripping);
    failSync(breaker, 1, new Throttled(10));
    expect(retryAfter(breaker)).toBe(1_000);
  });

  it('counts no hint (undefined, 0, negative, NaN) as none', () => {
    for (const waitMs of [undefined, 0, -5, Number.NaN]) {
      const { breaker } = setup(tripping);
      failSync(breaker, 1, new Throttled(waitMs));
      expect(retryAfter(breaker)).toBe(1_000);
    }
  });

  it('applies to a trial failure that re-opens the circuit too', () => {
    const { breaker, clock } = setup(tripping);
    failSync(breaker, 1, new Error('plain'));
    expect(retryAfter(breaker)).toBe(1_000);
    clock.advance(1_000);
    failSync(breaker, 1, new Throttled(7_000));
    expect(breaker.state).toBe('open');
    expect(retryAfter(breaker)).toBe(7_000);
  });

  it('reads a result that isResultFailure flagged (an HTTP response object)', () => {
    const { breaker } = setup({
      ...tripping,
      isResultFailure: (result) => (result as { status: number }).status === 503,
      retryAfterMs: (failure) => (failure as { retryAfterMs?: number }).retryAfterMs,
    });
    breaker.executeSync(() => ({ status: 503, retryAfterMs: 3_000 }));
    expect(breaker.state).toBe('open');
    expect(retryAfter(breaker)).toBe(3_000);
  });

  it('is capped at the longest timer delay', () => {
    const { breaker } = setup(tripping);
    failSync(breaker, 1, new Throttled(Number.POSITIVE_INFINITY));
    expect(retryAfter(breaker)).toBe(2_147_483_647);
  });

  it('is not consulted for a slow-call trip or a manual forceOpen (no failure caused them)', () => {
    const asked: unknown[] = [];
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      name: 'slow',
      clock,
      minimumCalls: 1,
      slowCallDurationMs: 10,
      retryAfterMs: (failure) => {
        asked.push(failure);
        return 60_000;
      },
    });
    breaker.forceOpen();
    breaker.reset();
    void breaker.execute(() => {
      clock.advance(20);
      return 'slow';
    });
    expect(breaker.state).toBe('open');
    expect(asked).toEqual([]);
    expect(retryAfter(breaker)).toBe(30_000);
  });

  it('a hint that throws is reported and counts as none', () => {
    const { breaker } = setup({
      ...tripping,
      retryAfterMs: () => {
        throw new Error('bad header parser');
      },
    });
    const reported: string[] = [];
    breaker.onInternalError = (error, where) => reported.push(`${where}: ${(error as Error).message}`);
    failSync(breaker, 1, new Throttled(5_000));
    expect(breaker.state).toBe('open');
    expect(retryAfter(breaker)).toBe(1_000);
    expect(reported).toEqual(['retryAfterMs of circuit breaker "payments": bad header parser']);
  });

  it('must be a function', () => {
    expect(() => new CircuitBreaker({ name: 'hinted', retryAfterMs: 5_000 as never })).toThrow(CircuitBreakerConfigError);
    expect(() => new CircuitBreaker({ name: 'hinted', retryAfterMs: 5_000 as never })).toThrow(
      'Circuit breaker "hinted": option "retryAfterMs" must be a function, got 5000',
    );
  });
});
