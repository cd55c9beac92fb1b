import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerConfigError, ManualClock } from '../../../lib/index.js';
import { monotonicClock } from '../../../lib/core/clock.js';
import { DEFAULTS, resolveOptions } from '../../../lib/core/options.js';
import type { CircuitBreakerOptions } from '../../../lib/index.js';

const MAX_TIMER_MS = 2_147_483_647;
const check = (): boolean => true;
const clockWithoutNow = { setTimeout: () => 0, clearTimeout: () => undefined };
const clockNowNotFunction = { now: 5 };
const clockHalfTimers = { now: () => 0, setTimeout: () => 0 };
const notAnObject = 'count';
const clockNaN = { now: () => Number.NaN };
const clockString = { now: () => '2026-12-06' };
const clockThrows = {
  now: (): number => {
    throw new Error('no time');
  },
};
const backoffArray: unknown[] = [];
const backoffDate = new Date(0);
const resultObject = { status: 500 };

type Row = [label: string, options: Record<string, unknown>, option: string, value: unknown];

function build(options: Record<string, unknown>): CircuitBreakerConfigError {
  try {
    new CircuitBreaker({ name: 'v', ...options } as unknown as CircuitBreakerOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    return error as CircuitBreakerConfigError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

const invalid: Row[] = [
  // unknown keys
  ['an unknown option', { retries: 3 }, 'retries', 3],
  ['a misspelt option', { failureThreshold: 50 }, 'failureThreshold', 50],
  // slidingWindow
  ['slidingWindow not an object', { slidingWindow: notAnObject }, 'slidingWindow', notAnObject],
  ['slidingWindow null', { slidingWindow: null }, 'slidingWindow', null],
  ['slidingWindow unknown type', { slidingWindow: { type: 'sliding', size: 10 } }, 'slidingWindow.type', 'sliding'],
  ['slidingWindow without type', { slidingWindow: { size: 10 } }, 'slidingWindow.type', undefined],
  ['count size missing', { slidingWindow: { type: 'count' } }, 'slidingWindow.size', undefined],
  ['count size 0', { slidingWindow: { type: 'count', size: 0 } }, 'slidingWindow.size', 0],
  ['count size negative', { slidingWindow: { type: 'count', size: -5 } }, 'slidingWindow.size', -5],
  ['count size non-integer', { slidingWindow: { type: 'count', size: 10.5 } }, 'slidingWindow.size', 10.5],
  ['count size NaN', { slidingWindow: { type: 'count', size: NaN } }, 'slidingWindow.size', NaN],
  ['count size Infinity', { slidingWindow: { type: 'count', size: Infinity } }, 'slidingWindow.size', Infinity],
  ['count size too large', { slidingWindow: { type: 'count', size: 1_000_001 } }, 'slidingWindow.size', 1_000_001],
  ['count size a string', { slidingWindow: { type: 'count', size: '10' } }, 'slidingWindow.size', '10'],
  ['count window unknown nested key', { slidingWindow: { type: 'count', size: 10, durationMs: 5 } }, 'slidingWindow.durationMs', 5],
  ['time durationMs missing', { slidingWindow: { type: 'time' } }, 'slidingWindow.durationMs', undefined],
  ['time durationMs missing, buckets given', { slidingWindow: { type: 'time', buckets: 5 } }, 'slidingWindow.durationMs', undefined],
  ['time durationMs 0', { slidingWindow: { type: 'time', durationMs: 0 } }, 'slidingWindow.durationMs', 0],
  ['time durationMs negative', { slidingWindow: { type: 'time', durationMs: -1 } }, 'slidingWindow.durationMs', -1],
  ['time durationMs NaN', { slidingWindow: { type: 'time', durationMs: NaN } }, 'slidingWindow.durationMs', NaN],
  ['time durationMs Infinity', { slidingWindow: { type: 'time', durationMs: Infinity } }, 'slidingWindow.durationMs', Infinity],
  ['time durationMs a string', { slidingWindow: { type: 'time', durationMs: '1000' } }, 'slidingWindow.durationMs', '1000'],
  ['time buckets 0', { slidingWindow: { type: 'time', durationMs: 1000, buckets: 0 } }, 'slidingWindow.buckets', 0],
  ['time buckets non-integer', { slidingWindow: { type: 'time', durationMs: 1000, buckets: 2.5 } }, 'slidingWindow.buckets', 2.5],
  ['time buckets too many', { slidingWindow: { type: 'time', durationMs: 1000, buckets: 1001 } }, 'slidingWindow.buckets', 1001],
  ['time window unknown nested key', { slidingWindow: { type: 'time', durationMs: 1000, size: 3 } }, 'slidingWindow.size', 3],
  ['time window slice below 1 ms', { slidingWindow: { type: 'time', durationMs: 500, buckets: 1000 } }, 'slidingWindow.buckets', 1000],
  // failureRateThreshold
  ['failureRateThreshold 0', { failureRateThreshold: 0 }, 'failureRateThreshold', 0],
  ['failureRateThreshold 101', { failureRateThreshold: 101 }, 'failureRateThreshold', 101],
  ['failureRateThreshold negative', { failureRateThreshold: -10 }, 'failureRateThreshold', -10],
  ['failureRateThreshold NaN', { failureRateThreshold: NaN }, 'failureRateThreshold', NaN],
  ['failureRateThreshold Infinity', { failureRateThreshold: Infinity }, 'failureRateThreshold', Infinity],
  ['failureRateThreshold a string', { failureRateThreshold: '50' }, 'failureRateThreshold', '50'],
  ['failureRateThreshold null', { failureRateThreshold: null }, 'failureRateThreshold', null],
  // slowCallDurationMs
  ['slowCallDurationMs 0', { slowCallDurationMs: 0 }, 'slowCallDurationMs', 0],
  ['slowCallDurationMs negative', { slowCallDurationMs: -1 }, 'slowCallDurationMs', -1],
  ['slowCallDurationMs NaN', { slowCallDurationMs: NaN }, 'slowCallDurationMs', NaN],
  ['slowCallDurationMs Infinity', { slowCallDurationMs: Infinity }, 'slowCallDurationMs', Infinity],
  ['slowCallDurationMs above the timer limit', { slowCallDurationMs: MAX_TIMER_MS + 1 }, 'slowCallDurationMs', MAX_TIMER_MS + 1],
  ['slowCallDurationMs a string', { slowCallDurationMs: '100' }, 'slowCallDurationMs', '100'],
  // slowCallRateThreshold
  ['slowCallRateThreshold 0', { slowCallRateThreshold: 0 }, 'slowCallRateThreshold', 0],
  ['slowCallRateThreshold 101', { slowCallRateThreshold: 101 }, 'slowCallRateThreshold', 101],
  ['slowCallRateThreshold NaN', { slowCallRateThreshold: NaN }, 'slowCallRateThreshold', NaN],
  ['slowCallRateThreshold a boolean', { slowCallDurationMs: 100, slowCallRateThreshold: true }, 'slowCallRateThreshold', true],
  ['slowCallRateThreshold without slowCallDurationMs (it could never take effect)', { slowCallRateThreshold: 50 }, 'slowCallRateThreshold', 50],
  // minimumCalls
  ['minimumCalls 0', { minimumCalls: 0 }, 'minimumCalls', 0],
  ['minimumCalls negative', { minimumCalls: -1 }, 'minimumCalls', -1],
  ['minimumCalls non-integer', { minimumCalls: 2.5 }, 'minimumCalls', 2.5],
  ['minimumCalls NaN', { minimumCalls: NaN }, 'minimumCalls', NaN],
  ['minimumCalls Infinity', { minimumCalls: Infinity }, 'minimumCalls', Infinity],
  ['minimumCalls a string', { minimumCalls: '10' }, 'minimumCalls', '10'],
  ['minimumCalls above the count window size', { slidingWindow: { type: 'count', size: 5 }, minimumCalls: 6 }, 'minimumCalls', 6],
  ['minimumCalls above the default count window size', { minimumCalls: 101 }, 'minimumCalls', 101],
  // minimumFailures
  ['minimumFailures 0', { minimumFailures: 0 }, 'minimumFailures', 0],
  ['minimumFailures non-integer', { minimumFailures: 1.5 }, 'minimumFailures', 1.5],
  ['minimumFailures NaN', { minimumFailures: NaN }, 'minimumFailures', NaN],
  ['minimumFailures a string', { minimumFailures: '1' }, 'minimumFailures', '1'],
  ['minimumFailures above the count window size (it could never be met)', { slidingWindow: { type: 'count', size: 5 }, minimumFailures: 6 }, 'minimumFailures', 6],
  // consecutiveFailureThreshold
  ['consecutiveFailureThreshold 0', { consecutiveFailureThreshold: 0 }, 'consecutiveFailureThreshold', 0],
  ['consecutiveFailureThreshold negative', { consecutiveFailureThreshold: -3 }, 'consecutiveFailureThreshold', -3],
  ['consecutiveFailureThreshold non-integer', { consecutiveFailureThreshold: 2.5 }, 'consecutiveFailureThreshold', 2.5],
  ['consecutiveFailureThreshold Infinity', { consecutiveFailureThreshold: Infinity }, 'consecutiveFailureThreshold', Infinity],
  ['consecutiveFailureThreshold null', { consecutiveFailureThreshold: null }, 'consecutiveFailureThreshold', null],
  // timeoutMs
  ['timeoutMs 0', { timeoutMs: 0 }, 'timeoutMs', 0],
  ['timeoutMs negative', { timeoutMs: -5 }, 'timeoutMs', -5],
  ['timeoutMs NaN', { timeoutMs: NaN }, 'timeoutMs', NaN],
  ['timeoutMs Infinity', { timeoutMs: Infinity }, 'timeoutMs', Infinity],
  ['timeoutMs above the timer limit', { timeoutMs: MAX_TIMER_MS + 1 }, 'timeoutMs', MAX_TIMER_MS + 1],
  ['timeoutMs a string', { timeoutMs: '1s' }, 'timeoutMs', '1s'],
  // openDurationMs
  ['openDurationMs 0', { openDurationMs: 0 }, 'openDurationMs', 0],
  ['openDurationMs negative', { openDurationMs: -1000 }, 'openDurationMs', -1000],
  ['openDurationMs NaN', { openDurationMs: NaN }, 'openDurationMs', NaN],
  ['openDurationMs Infinity', { openDurationMs: Infinity }, 'openDurationMs', Infinity],
  ['openDurationMs above the timer limit', { openDurationMs: MAX_TIMER_MS + 1 }, 'openDurationMs', MAX_TIMER_MS + 1],
  ['openDurationMs a string', { openDurationMs: '30s' }, 'openDurationMs', '30s'],
  // openDurationBackoff
  ['openDurationBackoff not an object', { openDurationBackoff: 2 }, 'openDurationBackoff', 2],
  ['openDurationBackoff null', { openDurationBackoff: null }, 'openDurationBackoff', null],
  ['openDurationBackoff false', { openDurationBackoff: false }, 'openDurationBackoff', false],
  ['openDurationBackoff an array', { openDurationBackoff: backoffArray }, 'openDurationBackoff', backoffArray],
  ['openDurationBackoff a class instance', { openDurationBackoff: backoffDate }, 'openDurationBackoff', backoffDate],
  ['openDurationBackoff unknown nested key', { openDurationBackoff: { factor: 2 } }, 'openDurationBackoff.factor', 2],
  ['backoff multiplier below 1', { openDurationBackoff: { multiplier: 0.5 } }, 'openDurationBackoff.multiplier', 0.5],
  ['backoff multiplier 0', { openDurationBackoff: { multiplier: 0 } }, 'openDurationBackoff.multiplier', 0],
  ['backoff multiplier NaN', { openDurationBackoff: { multiplier: NaN } }, 'openDurationBackoff.multiplier', NaN],
  ['backoff multiplier Infinity', { openDurationBackoff: { multiplier: Infinity } }, 'openDurationBackoff.multiplier', Infinity],
  ['backoff multiplier above 1000', { openDurationBackoff: { multiplier: 1001 } }, 'openDurationBackoff.multiplier', 1001],
  ['backoff maxMs below openDurationMs', { openDurationMs: 1000, openDurationBackoff: { maxMs: 999 } }, 'openDurationBackoff.maxMs', 999],
  ['backoff maxMs NaN', { openDurationBackoff: { maxMs: NaN } }, 'openDurationBackoff.maxMs', NaN],
  ['backoff maxMs above the timer limit', { openDurationBackoff: { maxMs: MAX_TIMER_MS + 1 } }, 'openDurationBackoff.maxMs', MAX_TIMER_MS + 1],
  ['backoff maxMs a string', { openDurationBackoff: { maxMs: '60000' } }, 'openDurationBackoff.maxMs', '60000'],
  ['backoff jitter above 1', { openDurationBackoff: { jitter: 1.5 } }, 'openDurationBackoff.jitter', 1.5],
  ['backoff jitter negative', { openDurationBackoff: { jitter: -0.1 } }, 'openDurationBackoff.jitter', -0.1],
  ['backoff jitter NaN', { openDurationBackoff: { jitter: NaN } }, 'openDurationBackoff.jitter', NaN],
  // halfOpenMaxCalls
  ['halfOpenMaxCalls 0', { halfOpenMaxCalls: 0 }, 'halfOpenMaxCalls', 0],
  ['halfOpenMaxCalls non-integer', { halfOpenMaxCalls: 1.5 }, 'halfOpenMaxCalls', 1.5],
  ['halfOpenMaxCalls above 10000', { halfOpenMaxCalls: 10_001 }, 'halfOpenMaxCalls', 10_001],
  ['halfOpenMaxCalls NaN', { halfOpenMaxCalls: NaN }, 'halfOpenMaxCalls', NaN],
  ['halfOpenMaxCalls a string', { halfOpenMaxCalls: '2' }, 'halfOpenMaxCalls', '2'],
  // halfOpenProbeTimeoutMs
  ['halfOpenProbeTimeoutMs 0', { halfOpenProbeTimeoutMs: 0 }, 'halfOpenProbeTimeoutMs', 0],
  ['halfOpenProbeTimeoutMs negative', { halfOpenProbeTimeoutMs: -1 }, 'halfOpenProbeTimeoutMs', -1],
  ['halfOpenProbeTimeoutMs Infinity', { halfOpenProbeTimeoutMs: Infinity }, 'halfOpenProbeTimeoutMs', Infinity],
  ['halfOpenProbeTimeoutMs NaN', { halfOpenProbeTimeoutMs: NaN }, 'halfOpenProbeTimeoutMs', NaN],
  // healthCheck
  ['healthCheck not an object', { healthCheck: check }, 'healthCheck', check],
  ['healthCheck null', { healthCheck: null }, 'healthCheck', null],
  ['healthCheck without check', { healthCheck: { intervalMs: 1000 } }, 'healthCheck.check', undefined],
  ['healthCheck.check not a function', { healthCheck: { check: true, intervalMs: 1000 } }, 'healthCheck.check', true],
  ['healthCheck without intervalMs', { healthCheck: { check } }, 'healthCheck.intervalMs', undefined],
  ['healthCheck.intervalMs 0', { healthCheck: { check, intervalMs: 0 } }, 'healthCheck.intervalMs', 0],
  ['healthCheck.intervalMs negative', { healthCheck: { check, intervalMs: -1 } }, 'healthCheck.intervalMs', -1],
  ['healthCheck.intervalMs NaN', { healthCheck: { check, intervalMs: NaN } }, 'healthCheck.intervalMs', NaN],
  ['healthCheck.intervalMs Infinity', { healthCheck: { check, intervalMs: Infinity } }, 'healthCheck.intervalMs', Infinity],
  ['healthCheck unknown nested key', { healthCheck: { check, intervalMs: 1000, timeoutMs: 5 } }, 'healthCheck.timeoutMs', 5],
  // predicates
  ['isFailure not a function', { isFailure: true }, 'isFailure', true],
  ['isFailure a string', { isFailure: 'HttpException' }, 'isFailure', 'HttpException'],
  ['isResultFailure not a function', { isResultFailure: resultObject }, 'isResultFailure', resultObject],
  // clock
  ['clock without now', { clock: clockWithoutNow }, 'clock', clockWithoutNow],
  ['clock.now not a function', { clock: clockNowNotFunction }, 'clock', clockNowNotFunction],
  ['clock not an object', { clock: Date.now }, 'clock', Date.now],
  ['clock null', { clock: null }, 'clock', null],
  ['clock with setTimeout but no clearTimeout', { clock: clockHalfTimers }, 'clock', clockHalfTimers],
  ['clock whose now() returns NaN', { clock: clockNaN }, 'clock', clockNaN],
  ['clock whose now() returns a string', { clock: clockString }, 'clock', clockString],
  ['clock whose now() throws', { clock: clockThrows }, 'clock', clockThrows],
];

describe('options validation', () => {
  it.each(invalid)('%s: CircuitBreakerConfigError naming breaker, option and value', (_label, options, option, value) => {
    const error = build(options);
    expect(error.name).toBe('CircuitBreakerConfigError');
    expect(error.breakerName).toBe('v');
    expect(error.option).toBe(option);
    expect(error.value).toBe(value); // Object.is: NaN, objects by reference
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toContain('"v"');
    expect(error.allowed.length).toBeGreaterThan(0);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['count', { type: 'count' }, 'a count window needs its size'],
    ['time', { type: 'time' }, 'a time window needs its durationMs'],
  ])('a %s window without its length is refused alike, the message saying it is required', (_label, slidingWindow, required) => {
    const error = build({ slidingWindow });
    expect(error.allowed).toContain(required);
    expect(error.message).toContain('got undefined');
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 42],
    ['null', null],
  ])('name %s: CircuitBreakerConfigError for option "name" of an unnamed breaker', (_label, name) => {
    let error: unknown;
    try {
      new CircuitBreaker({ name } as unknown as CircuitBreakerOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ breakerName: '(unnamed)', option: 'name' });
    expect((error as CircuitBreakerConfigError).value).toBe(name);
    expect((error as Error).message).toContain('"name"');
  });

  it('options that are not an object are rejected', () => {
    expect(() => resolveOptions(null as unknown as CircuitBreakerOptions)).toThrow(CircuitBreakerConfigError);
  });

  it('the message says what is allowed and what was given', () => {
    const error = build({ failureRateThreshold: 101 });
    expect(error.message).toBe('Circuit breaker "v": option "failureRateThreshold" must be a percentage in (0, 100], got 101');
  });
});

describe('valid edge values are accepted', () => {
  it.each<[string, Partial<CircuitBreakerOptions>]>([
    ['failureRateThreshold 100', { failureRateThreshold: 100 }],
    ['failureRateThreshold 0.1', { failureRateThreshold: 0.1 }],
    ['slowCallRateThreshold 100 with slowCallDurationMs', { slowCallDurationMs: 100, slowCallRateThreshold: 100 }],
    ['openDurationBackoff true (every default)', { openDurationBackoff: true }],
    ['minimumFailures = count window size', { slidingWindow: { type: 'count', size: 5 }, minimumFailures: 5 }],
    ['a time window slice of exactly 1 ms', { slidingWindow: { type: 'time', durationMs: 500, buckets: 500 } }],
    ['a name of 200 characters', { name: 'n'.repeat(200) }],
    ['minimumCalls = count window size', { slidingWindow: { type: 'count', size: 5 }, minimumCalls: 5 }],
    ['minimumCalls above 100 with a time window', { slidingWindow: { type: 'time', durationMs: 1000 }, minimumCalls: 500 }],
    ['count size 1', { slidingWindow: { type: 'count', size: 1 } }],
    ['count size 1000000', { slidingWindow: { type: 'count', size: 1_000_000 } }],
    ['time buckets 1000', { slidingWindow: { type: 'time', durationMs: 1000, buckets: 1000 } }],
    ['backoff multiplier 1, maxMs = openDurationMs, jitter 0', { openDurationMs: 500, openDurationBackoff: { multiplier: 1, maxMs: 500, jitter: 0 } }],
    ['backoff jitter 1', { openDurationBackoff: { jitter: 1 } }],
    ['halfOpenMaxCalls 10000', { halfOpenMaxCalls: 10_000 }],
    ['durations at the timer limit', { openDurationMs: MAX_TIMER_MS, timeoutMs: MAX_TIMER_MS }],
    ['fractional durations', { timeoutMs: 0.5, slowCallDurationMs: 0.5 }],
    ['a clock with only now()', { clock: { now: () => 0 } }],
    ['explicit undefined values', { timeoutMs: undefined, healthCheck: undefined, clock: undefined }],
  ])('%s', (_label, options) => {
    expect(() => new CircuitBreaker({ name: 'v', ...options })).not.toThrow();
  });
});

describe('bad input beyond a single value', () => {
  it('a name longer than 200 characters is rejected, the error naming its start', () => {
    const name = `payments-${'x'.repeat(200)}`;
    let error: unknown;
    try {
      new CircuitBreaker({ name });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ option: 'name', value: name });
    expect((error as CircuitBreakerConfigError).breakerName).toMatch(/^payments-x+…$/);
    expect((error as Error).message).toContain('at most 200 characters');
  });

  it('a clock whose now() is not a finite number: the error names the breaker and says what now() returned', () => {
    const error = build({ clock: clockNaN });
    expect(error.message).toContain('"v"');
    expect(error.message).toContain('NaN');
  });

  it('openDurationBackoff: true is every backoff default', () => {
    const resolved = resolveOptions({ name: 'v', openDurationMs: 1_000, openDurationBackoff: true });
    expect(resolved.openDurationBackoff).toEqual({ multiplier: 2, maxMs: 10_000, jitter: 0 });
  });

  it('options are read from own properties only: a polluted Object.prototype changes no breaker', () => {
    const clock = { now: (): number => 0 };
    const clean = resolveOptions({ name: 'v', openDurationBackoff: {}, slidingWindow: { type: 'time', durationMs: 60_000 }, clock });
    const proto = Object.prototype as unknown as Record<string, unknown>;
    const pollution: Record<string, unknown> = {
      timeoutMs: 5,
      failureRateThreshold: 1,
      minimumCalls: 1,
      consecutiveFailureThreshold: 1,
      halfOpenMaxCalls: 7,
      isResultFailure: () => true,
      multiplier: 7,
      jitter: 1,
      buckets: 1,
      setTimeout: () => 0,
      clearTimeout: () => undefined,
    };
    let polluted: ReturnType<typeof resolveOptions>;
    try {
      for (const [key, value] of Object.entries(pollution)) proto[key] = value;
      polluted = resolveOptions({ name: 'v', openDurationBackoff: {}, slidingWindow: { type: 'time', durationMs: 60_000 }, clock });
    } finally {
      for (const key of Object.keys(pollution)) delete proto[key];
    }
    expect(polluted!).toEqual(clean);
  });

  it('a plain { now } clock uses the global timers even when Object.prototype carries setTimeout', () => {
    const proto = Object.prototype as unknown as Record<string, unknown>;
    let nowMs = 0;
    let armed = 0;
    const breaker = new CircuitBreaker({ name: 'v', clock: { now: () => nowMs }, consecutiveFailureThreshold: 1, openDurationMs: 1_000 });
    expect(() =>
      breaker.executeSync(() => {
        throw new Error('down');
      }),
    ).toThrow('down');
    nowMs = 1_000;
    try {
      proto.setTimeout = () => ++armed;
      proto.clearTimeout = () => undefined;
      void breaker.execute(() => new Promise<never>(() => undefined)); // a trial: arms the probe timer
    } finally {
      delete proto.setTimeout;
      delete proto.clearTimeout;
    }
    expect(breaker.snapshot().halfOpenCallsInFlight).toBe(1);
    expect(armed).toBe(0);
    breaker.dispose();
  });
});

describe('a rate threshold that looks like a ratio', () => {
  function warnings(run: () => void): string[] {
    const seen: string[] = [];
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error) => {
      seen.push(String(message));
    }) as typeof process.emitWarning);
    try {
      run();
    } finally {
      spy.mockRestore();
    }
    return seen;
  }

  it('is accepted with one warning naming the breaker and the options (percent is expected)', () => {
    let breaker: CircuitBreaker | undefined;
    const seen = warnings(() => {
      breaker = new CircuitBreaker({ name: 'ratios', failureRateThreshold: 0.5, slowCallDurationMs: 100, slowCallRateThreshold: 0.8 });
      breaker.reconfigure({ failureRateThreshold: 0.4 });
    });
    expect(breaker!.options.failureRateThreshold).toBe(0.4);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('"ratios"');
    expect(seen[0]).toContain('failureRateThreshold 0.5');
    expect(seen[0]).toContain('slowCallRateThreshold 0.8');
    expect(seen[0]).toContain('percent');
  });

  it('no warning for thresholds of 1 and more', () => {
    expect(warnings(() => new CircuitBreaker({ name: 'percent', failureRateThreshold: 1, slowCallDurationMs: 100, slowCallRateThreshold: 50 }))).toEqual([]);
  });
});

describe('defaults', () => {
  it('resolveOptions applies the documented defaults', () => {
    const resolved = resolveOptions({ name: 'd' });
    expect(resolved).toEqual({
      name: 'd',
      slidingWindow: { type: 'count', size: DEFAULTS.slidingWindowSize },
      failureRateThreshold: 50,
      slowCallDurationMs: undefined,
      slowCallRateThreshold: 100,
      minimumCalls: 10,
      minimumFailures: 1,
      consecutiveFailureThreshold: undefined,
      timeoutMs: undefined,
      openDurationMs: 30_000,
      openDurationBackoff: undefined,
      halfOpenMaxCalls: 1,
      halfOpenProbeTimeoutMs: 60_000,
      healthCheck: undefined,
      isFailure: undefined,
      isResultFailure: undefined,
      clock: monotonicClock,
    });
  });

  it('a time window defaults to 10 buckets; backoff fields default to 2, 10x, 0', () => {
    const resolved = resolveOptions({
      name: 'd',
      clock: new ManualClock(),
      openDurationMs: 700,
      slidingWindow: { type: 'time', durationMs: 5000 },
      openDurationBackoff: {},
    });
    expect(resolved.slidingWindow).toEqual({ type: 'time', durationMs: 5000, buckets: 10 });
    expect(resolved.openDurationBackoff).toEqual({ multiplier: 2, maxMs: 7000, jitter: 0 });
  });

  it('the default backoff cap stays within the timer limit', () => {
    const resolved = resolveOptions({ name: 'd', openDurationMs: MAX_TIMER_MS, openDurationBackoff: {} });
    expect(resolved.openDurationBackoff?.maxMs).toBe(MAX_TIMER_MS);
  });

  it('the default clock is monotonic and reads as epoch milliseconds', () => {
    const a = monotonicClock.now();
    const b = monotonicClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(a - Date.now())).toBeLessThan(60_000);
  });
});
