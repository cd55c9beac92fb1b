// The HTTP presets cap the wait a Retry-After may impose (maxRetryAfterMs, default 5 minutes): a
// server answering `Retry-After: 31536000` must not lock a host out for weeks. The engine's own
// retryAfterMs semantics are untouched (test/unit/core/retry-after-hint.spec.ts).
import { describe, expect, it } from '@jest/globals';
import { CircuitBreakerConfigError } from '../../../lib/index.js';
import { CircuitBreakerHttpModule, breakerFetch, httpBreakerSettings, httpRetryAfterMs } from '../../../lib/http/index.js';

const answer = (status: number, retryAfter: string): Response => new Response(null, { status, headers: { 'retry-after': retryAfter } });

describe('Retry-After cap of the HTTP presets', () => {
  it('httpRetryAfterMs caps seconds and far HTTP dates at 5 minutes, and leaves shorter waits alone', () => {
    expect(httpRetryAfterMs(answer(503, '31536000'))).toBe(300_000);
    expect(httpRetryAfterMs(answer(429, 'Fri, 01 Jan 2100 00:00:00 GMT'))).toBe(300_000);
    expect(httpRetryAfterMs(answer(503, '120'))).toBe(120_000);
    expect(httpRetryAfterMs(answer(503, '300'))).toBe(300_000);
  });

  it('httpBreakerSettings({ maxRetryAfterMs }) reads with that cap, and does not pass the option on to the breaker', () => {
    const settings = httpBreakerSettings({ maxRetryAfterMs: 60_000, openDurationMs: 1_000 });
    expect(settings.retryAfterMs!(answer(503, '31536000'))).toBe(60_000);
    expect(settings.retryAfterMs!(answer(503, '30'))).toBe(30_000);
    expect(settings).not.toHaveProperty('maxRetryAfterMs');
    expect(settings.openDurationMs).toBe(1_000);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60000'])('refuses maxRetryAfterMs %p, naming the option', (bad) => {
    const settings = { maxRetryAfterMs: bad as number };
    expect(() => httpBreakerSettings(settings)).toThrow(CircuitBreakerConfigError);
    expect(() => httpBreakerSettings(settings)).toThrow(/httpBreakerSettings: option "maxRetryAfterMs" must be a positive finite number/);
    expect(() => breakerFetch(settings)).toThrow(/breakerFetch\(\{ name: 'http' \}\): option "maxRetryAfterMs"/);
    expect(() => CircuitBreakerHttpModule.register({ options: settings })).toThrow(/CircuitBreakerHttpModule.register: option "maxRetryAfterMs"/);
  });
});
