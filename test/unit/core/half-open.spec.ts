import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreakerConfigError, CircuitBreakerTimeoutError, CircuitOpenError } from '../../../lib/index.js';
import type { CircuitBreakerSettings } from '../../../lib/index.js';
import { IgnoredError, failSync, flush, ignoreIgnoredError, pendingCall, setup, thrownBy, track } from './helpers.js';

/** A breaker already in half_open state at t = 1000 (no trial admitted yet). */
function halfOpen(settings: CircuitBreakerSettings = {}) {
  const harness = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, ...settings });
  failSync(harness.breaker);
  harness.clock.advance(1000);
  return harness;
}

describe('half_open admission', () => {
  it('admits at most halfOpenMaxCalls concurrent trials; others get retryAfterMs = time left on the oldest probe', async () => {
    const { breaker, clock } = halfOpen({ halfOpenMaxCalls: 2, halfOpenProbeTimeoutMs: 500 });
    const first = pendingCall(breaker); // t = 1000
    expect(breaker.state).toBe('half_open');
    clock.advance(100);
    const second = pendingCall(breaker); // t = 1100
    clock.advance(50); // t = 1150
    const fn = jest.fn(async () => 'never');
    const rejected = track(breaker.execute(fn));
    await rejected.done;
    expect(rejected.reason).toBeInstanceOf(CircuitOpenError);
    expect(rejected.reason).toMatchObject({ retryAfterMs: 350 });
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 2, retryAfterMs: 350 });
    expect(first.call.status).toBe('pending');
    expect(second.call.status).toBe('pending');
  });

  it('the rejection of a full half_open is a CircuitOpenError with that retryAfterMs', async () => {
    const { breaker, clock } = halfOpen({ halfOpenMaxCalls: 1, halfOpenProbeTimeoutMs: 800 });
    pendingCall(breaker);
    clock.advance(300);
    const error = await breaker.execute(async () => 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toMatchObject({ breakerName: 'payments', retryAfterMs: 500 });
    expect(breaker.totals().notPermittedCalls).toBe(1);
  });

  it('a freed slot admits another trial', async () => {
    const { breaker } = halfOpen({ halfOpenMaxCalls: 2 });
    const a = pendingCall(breaker);
    pendingCall(breaker);
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    a.deferred.resolve('ok');
    await a.call.done;
    expect(breaker.snapshot().halfOpenCallsInFlight).toBe(1);
    const c = pendingCall(breaker);
    expect(c.call.status).toBe('pending');
    expect(breaker.snapshot().halfOpenCallsInFlight).toBe(2);
  });
});

describe('half_open outcomes', () => {
  it('halfOpenMaxCalls successes close the circuit and clear the window', async () => {
    const { breaker, events } = halfOpen({ halfOpenMaxCalls: 3, minimumCalls: 1 });
    const trials = [pendingCall(breaker), pendingCall(breaker), pendingCall(breaker)];
    trials[0]!.deferred.resolve('a');
    trials[1]!.deferred.resolve('b');
    await flush();
    expect(breaker.state).toBe('half_open'); // 2 of 3
    trials[2]!.deferred.resolve('c');
    await trials[2]!.call.done;
    expect(breaker.state).toBe('closed');
    expect(events.at(-1)).toMatchObject({ from: 'half_open', to: 'closed', reason: 'trials_succeeded' });
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0, consecutiveFailures: 0 });
    expect(trials.map((t) => t.call.value)).toEqual(['a', 'b', 'c']);
  });

  it('the window kept through open is cleared only by the close', () => {
    const { breaker } = halfOpen({ minimumCalls: 1 });
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1 }); // kept while open / half_open
    breaker.executeSync(() => 'ok');
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
  });

  it('any trial failure re-opens, even after other trials succeeded', async () => {
    const { breaker, clock, events } = halfOpen({ halfOpenMaxCalls: 3 });
    const a = pendingCall(breaker);
    const b = pendingCall(breaker);
    a.deferred.resolve('ok');
    await a.call.done;
    clock.advance(10);
    b.deferred.reject(new Error('still down'));
    await b.call.done;
    expect(b.call.reason).toEqual(new Error('still down'));
    expect(breaker.state).toBe('open');
    expect(events.at(-1)).toMatchObject({ from: 'half_open', to: 'open', reason: 'trial_failed', at: 1010 });
    expect(breaker.snapshot().openedAt).toBe(1010);
  });

  it('a sync trial failure re-opens at once', () => {
    const { breaker, events } = halfOpen();
    failSync(breaker);
    expect(breaker.state).toBe('open');
    expect(events.at(-1)?.reason).toBe('trial_failed');
  });

  it('a result flagged by isResultFailure fails the trial', () => {
    const { breaker, events } = halfOpen({ isResultFailure: (r) => r === 503 });
    expect(breaker.executeSync(() => 503)).toBe(503);
    expect(events.at(-1)?.reason).toBe('trial_failed');
  });

  it('a slow trial re-opens with reason trial_slow when slow tracking is on', () => {
    const { breaker, clock, events } = halfOpen({ slowCallDurationMs: 100, minimumCalls: 100 });
    const value = breaker.executeSync(() => {
      clock.advance(100);
      return 'slow but ok';
    });
    expect(value).toBe('slow but ok');
    expect(breaker.state).toBe('open');
    expect(events.at(-1)).toMatchObject({ from: 'half_open', to: 'open', reason: 'trial_slow' });
  });

  it('a long trial closes when slow tracking is off', () => {
    const { breaker, clock } = halfOpen({ halfOpenProbeTimeoutMs: 10_000 });
    breaker.executeSync(() => {
      clock.advance(5000);
      return 'ok';
    });
    expect(breaker.state).toBe('closed');
  });

  it('an ignored trial error returns its permit: another trial is admitted, the error reaches the caller', async () => {
    const { breaker } = halfOpen({ isFailure: ignoreIgnoredError });
    const a = pendingCall(breaker);
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    const ignored = new IgnoredError('bad request');
    a.deferred.reject(ignored);
    await a.call.done;
    expect(a.call.reason).toBe(ignored);
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 0 });
    expect(breaker.executeSync(() => 'second trial')).toBe('second trial');
    expect(breaker.state).toBe('closed');
  });

  it('an ignored trial counts no success', () => {
    const { breaker } = halfOpen({ isFailure: ignoreIgnoredError, halfOpenMaxCalls: 2 });
    expect(() =>
      breaker.executeSync(() => {
        throw new IgnoredError('ignored');
      }),
    ).toThrow(IgnoredError);
    breaker.executeSync(() => 'ok');
    expect(breaker.state).toBe('half_open'); // one success of two
    breaker.executeSync(() => 'ok');
    expect(breaker.state).toBe('closed');
  });

  it('with the default probe timeout (60 s without timeoutMs) a full half_open reports retryAfterMs = 60 s', async () => {
    const { breaker } = halfOpen();
    pendingCall(breaker);
    const error = await breaker.execute(async () => 1).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryAfterMs: 60_000 });
  });
});

describe('halfOpenProbeTimeoutMs', () => {
  it('the re-opening\'s cause names halfOpenProbeTimeoutMs, not a call timeout', () => {
    const { breaker, clock } = halfOpen({ halfOpenProbeTimeoutMs: 300 });
    pendingCall(breaker);
    clock.advance(300);
    const rejected = thrownBy(() => breaker.executeSync(() => 'x')) as CircuitOpenError;
    expect(rejected.cause).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(rejected.cause).toMatchObject({ option: 'halfOpenProbeTimeoutMs', timeoutMs: 300 });
    expect((rejected.cause as Error).message).toBe('Circuit breaker "payments": half-open trial got no answer within halfOpenProbeTimeoutMs, 300 ms');
  });

  it('a hung trial counts as failed when the probe timer fires, and re-opens', () => {
    const { breaker, clock, events } = halfOpen({ halfOpenProbeTimeoutMs: 300 });
    const hung = pendingCall(breaker);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(299);
    expect(breaker.state).toBe('half_open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
    expect(events.at(-1)).toMatchObject({ from: 'half_open', to: 'open', reason: 'probe_timeout', at: 1300 });
    expect(hung.call.status).toBe('pending'); // the probe timeout does not settle the caller's call
    expect(clock.pendingTimers).toBe(0);
  });

  it('the late result of a timed-out trial is ignored', async () => {
    const { breaker, clock } = halfOpen({ halfOpenProbeTimeoutMs: 300 });
    const hung = pendingCall(breaker);
    clock.advance(300);
    expect(breaker.state).toBe('open');
    hung.deferred.resolve('late');
    await hung.call.done;
    expect(hung.call.value).toBe('late'); // the caller still gets its value
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot()).toMatchObject({ openedAt: 1300, retryAfterMs: 1000 });
    expect(breaker.totals().openings).toBe(2);
  });

  it('a late failure of a timed-out trial does not re-open again', async () => {
    const { breaker, clock } = halfOpen({ halfOpenProbeTimeoutMs: 300 });
    const hung = pendingCall(breaker);
    clock.advance(300);
    clock.advance(200);
    hung.deferred.reject(new Error('late'));
    await hung.call.done;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: 1300, retryAfterMs: 800 });
    expect(breaker.totals().openings).toBe(2);
  });

  it('is not tied to openDurationMs: a recovered dependency slower than the open duration closes the circuit', async () => {
    // openDurationMs 1 s, the dependency is healthy again but answers in 1.5 s.
    const { breaker, clock, events } = halfOpen({ openDurationMs: 1000 });
    const trial = pendingCall(breaker); // t = 1000
    clock.advance(1500);
    trial.deferred.resolve('slow but fine');
    await trial.call.done;
    expect(trial.call.value).toBe('slow but fine');
    expect(breaker.state).toBe('closed');
    expect(events.map((e) => e.reason)).toEqual(['consecutive_failures', 'open_duration_elapsed', 'trials_succeeded']);
  });

  it('defaults to 60 s without timeoutMs', () => {
    const { breaker, clock } = halfOpen({ openDurationMs: 700 });
    expect(breaker.options.halfOpenProbeTimeoutMs).toBe(60_000);
    pendingCall(breaker); // admitted at t = 700
    clock.advance(59_999);
    expect(breaker.state).toBe('half_open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
  });

  it('defaults to timeoutMs when one is set', () => {
    const { breaker } = setup({ openDurationMs: 700, timeoutMs: 2_500 });
    expect(breaker.options.halfOpenProbeTimeoutMs).toBe(2_500);
  });

  it('below timeoutMs is a configuration error (a trial could never take as long as a call may)', () => {
    let error: unknown;
    try {
      setup({ timeoutMs: 2_000, halfOpenProbeTimeoutMs: 1_999 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ breakerName: 'payments', option: 'halfOpenProbeTimeoutMs', value: 1_999 });
    expect((error as Error).message).toContain('timeoutMs = 2000');
    expect(setup({ timeoutMs: 2_000, halfOpenProbeTimeoutMs: 2_000 }).breaker.options.halfOpenProbeTimeoutMs).toBe(2_000);
  });

  it('times each trial from its own start (the timer follows the oldest trial still in flight)', async () => {
    const { breaker, clock } = halfOpen({ halfOpenMaxCalls: 2, halfOpenProbeTimeoutMs: 1000 });
    const a = pendingCall(breaker); // t = 1000
    clock.advance(500);
    pendingCall(breaker); // t = 1500, hangs
    a.deferred.resolve('ok');
    await a.call.done;
    clock.advance(500); // t = 2000: a would have expired, but it settled
    expect(breaker.state).toBe('half_open');
    clock.advance(499);
    expect(breaker.state).toBe('half_open');
    clock.advance(1); // t = 2500: b's probe timeout
    expect(breaker.state).toBe('open');
  });

  it('is enforced at the next admission at the latest (no timer needed)', async () => {
    const { breaker, clock, events } = halfOpen({ halfOpenProbeTimeoutMs: 300 });
    pendingCall(breaker);
    breaker.dispose(); // no timer any more
    clock.advance(300);
    expect(breaker.state).toBe('half_open');
    await expect(breaker.execute(async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(breaker.state).toBe('open');
    expect(events.at(-1)?.reason).toBe('probe_timeout');
  });
});

describe('a trial whose result is a Promise subclass with a throwing then()', () => {
  class ThrowingThen<T> extends Promise<T> {
    static failure = new Error('then() exploded');
    override then(): never {
      throw ThrowingThen.failure;
    }
  }
  const broken = () => new ThrowingThen<string>(() => undefined);

  it.each([
    ['execute', {}],
    ['execute with timeoutMs', { timeoutMs: 5_000 }],
  ])('%s: recorded as a failed trial (the circuit re-opens, no slot stays taken), the caller gets the error', async (_label, settings) => {
    const { breaker, events } = halfOpen({ halfOpenProbeTimeoutMs: 10_000, ...settings });
    const outcome = await breaker.execute(broken).catch((error: unknown) => error);
    expect(outcome).toBe(ThrowingThen.failure);
    expect(breaker.totals().failedCalls).toBe(2); // the one that opened it, and this trial
    expect(breaker.snapshot().state).toBe('open');
    expect(events.at(-1)).toMatchObject({ from: 'half_open', to: 'open', reason: 'trial_failed' });
  });

  it('executeSync: the error is thrown at once and the slot is free for the next trial when isFailure ignores it', () => {
    const { breaker } = halfOpen({ isFailure: (error) => error !== ThrowingThen.failure });
    expect(() => breaker.executeSync(broken)).toThrow(ThrowingThen.failure);
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 0 });
    expect(breaker.executeSync(() => 'next trial')).toBe('next trial');
    expect(breaker.state).toBe('closed');
  });
});
