import { describe, expect, it } from '@jest/globals';
import { CircuitBreakerTimeoutError } from '../../../lib/index.js';
import type { CircuitBreakerSettings } from '../../../lib/index.js';
import { deferred, failSync, flush, pendingCall, setup, track } from './helpers.js';

function harness(settings: CircuitBreakerSettings = {}) {
  return setup({ timeoutMs: 1000, minimumCalls: 100, ...settings });
}

describe('timeoutMs', () => {
  it('a call that does not settle in time rejects with CircuitBreakerTimeoutError after exactly timeoutMs', async () => {
    const { breaker, clock } = harness();
    const { call } = pendingCall(breaker);
    clock.advance(999);
    await flush();
    expect(call.status).toBe('pending');
    clock.advance(1);
    await call.done;
    expect(call.status).toBe('rejected');
    expect(call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(call.reason).toMatchObject({ name: 'CircuitBreakerTimeoutError', breakerName: 'payments', timeoutMs: 1000 });
    expect((call.reason as Error).message).toContain('1000');
  });

  it('a timed-out call counts as a failure (totals().timeoutCalls)', async () => {
    const { breaker, clock } = harness();
    const { call } = pendingCall(breaker);
    clock.advance(1000);
    await call.done;
    expect(breaker.totals()).toMatchObject({ timeoutCalls: 1, failedCalls: 0, successfulCalls: 0 });
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1, consecutiveFailures: 1 });
  });

  it('timeouts trip the circuit like failures', async () => {
    const { breaker, clock, events } = harness({ consecutiveFailureThreshold: 2 });
    const a = pendingCall(breaker);
    const b = pendingCall(breaker);
    clock.advance(1000);
    await Promise.all([a.call.done, b.call.done]);
    expect(breaker.state).toBe('open');
    expect(events.map((e) => e.reason)).toEqual(['consecutive_failures']);
  });

  it('a late resolve is ignored: the caller keeps the timeout error and nothing more is recorded', async () => {
    const { breaker, clock } = harness();
    const { call, deferred: d } = pendingCall(breaker);
    clock.advance(1000);
    await call.done;
    d.resolve('late');
    await flush();
    expect(call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(breaker.totals()).toMatchObject({ timeoutCalls: 1, successfulCalls: 0, failedCalls: 0 });
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1, consecutiveFailures: 1 });
  });

  it('a late reject is ignored (and not left unhandled)', async () => {
    const { breaker, clock } = harness();
    const { call, deferred: d } = pendingCall(breaker);
    clock.advance(1000);
    await call.done;
    d.reject(new Error('late failure'));
    await flush();
    expect(call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(breaker.totals()).toMatchObject({ timeoutCalls: 1, failedCalls: 0 });
    expect(breaker.snapshot().calls).toBe(1);
  });

  it('a call that settles in time returns its value and is a success; its error likewise passes through', async () => {
    const { breaker, clock } = harness();
    const ok = pendingCall(breaker);
    const bad = pendingCall(breaker);
    clock.advance(999);
    ok.deferred.resolve('fine');
    const boom = new Error('boom');
    bad.deferred.reject(boom);
    await Promise.all([ok.call.done, bad.call.done]);
    expect(ok.call.value).toBe('fine');
    expect(bad.call.reason).toBe(boom);
    clock.advance(10_000);
    await flush();
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, failedCalls: 1, timeoutCalls: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('each call times out at its own deadline', async () => {
    const { breaker, clock } = harness();
    const a = pendingCall(breaker); // t = 0
    clock.advance(300);
    const b = pendingCall(breaker); // t = 300
    clock.advance(700); // t = 1000
    await flush();
    expect(a.call.status).toBe('rejected');
    expect(b.call.status).toBe('pending');
    clock.advance(299);
    await flush();
    expect(b.call.status).toBe('pending');
    clock.advance(1);
    await flush();
    expect(b.call.status).toBe('rejected');
  });

  it('100 concurrent timed calls share one timer', async () => {
    const { breaker, clock } = harness();
    const calls = [];
    for (let i = 0; i < 100; i++) {
      calls.push(pendingCall(breaker));
      expect(clock.pendingTimers).toBeLessThanOrEqual(1);
      if (i % 10 === 0) clock.advance(1);
    }
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1000);
    await Promise.all(calls.map((c) => c.call.done));
    expect(calls.every((c) => c.call.reason instanceof CircuitBreakerTimeoutError)).toBe(true);
    expect(breaker.totals().timeoutCalls).toBe(100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a sync fn under timeoutMs returns its value synchronously and arms no timer', () => {
    const { breaker, clock } = harness();
    expect(breaker.executeSync(() => 42)).toBe(42);
    expect(clock.pendingTimers).toBe(0);
    expect(breaker.totals().successfulCalls).toBe(1);
  });

  it('a sync throw under timeoutMs is recorded and rethrown', () => {
    const { breaker } = harness();
    const boom = new Error('sync boom');
    expect(failSync(breaker, 1, boom)).toBe(boom);
    expect(breaker.totals().failedCalls).toBe(1);
  });

  // Regression (fixed in 6b1aadf): the deadline queue assumed FIFO deadlines, so after reconfigure()
  // to a shorter timeoutMs a new call waited behind an older call's later deadline.
  it('after reconfigure() to a shorter timeoutMs, a new call times out on time while an older call is pending', async () => {
    const { breaker, clock } = harness({ timeoutMs: 1000 });
    pendingCall(breaker); // deadline 1000
    breaker.reconfigure({ timeoutMs: 100 });
    const fresh = pendingCall(breaker); // deadline 100
    clock.advance(100);
    await flush();
    expect(fresh.call.status).toBe('rejected');
    expect(fresh.call.reason).toMatchObject({ timeoutMs: 100 });
  });

  it('calls with mixed timeouts (after reconfigures) each time out at their own deadline, on one timer', async () => {
    const { breaker, clock } = harness({ timeoutMs: 1000 });
    const a = pendingCall(breaker); // deadline 1000
    breaker.reconfigure({ timeoutMs: 2000 });
    const b = pendingCall(breaker); // deadline 2000
    breaker.reconfigure({ timeoutMs: 1500 });
    const c = pendingCall(breaker); // deadline 1500: between a and b
    breaker.reconfigure({ timeoutMs: 500 });
    const d = pendingCall(breaker); // deadline 500: before all
    expect(clock.pendingTimers).toBe(1);
    const statuses = (): string[] => [a, b, c, d].map((x) => x.call.status);
    clock.advance(500);
    await flush();
    expect(statuses()).toEqual(['pending', 'pending', 'pending', 'rejected']);
    clock.advance(500);
    await flush();
    expect(statuses()).toEqual(['rejected', 'pending', 'pending', 'rejected']);
    clock.advance(500);
    await flush();
    expect(statuses()).toEqual(['rejected', 'pending', 'rejected', 'rejected']);
    clock.advance(499);
    await flush();
    expect(b.call.status).toBe('pending');
    clock.advance(1);
    await flush();
    expect(b.call.status).toBe('rejected');
    expect([a, b, c, d].map((x) => (x.call.reason as { timeoutMs: number }).timeoutMs)).toEqual([1000, 2000, 1500, 500]);
    expect(clock.pendingTimers).toBe(0);
  });

  // Regression (fixed in 6b1aadf): the error reported the timeoutMs in force when it fired.
  it("after reconfigure() an older call's timeout error reports the timeoutMs it ran under", async () => {
    const { breaker, clock } = harness({ timeoutMs: 1000 });
    const old = pendingCall(breaker);
    breaker.reconfigure({ timeoutMs: 5000 });
    clock.advance(1000);
    await old.call.done;
    expect(old.call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(old.call.reason).toMatchObject({ timeoutMs: 1000 });
  });
});

describe('AbortSignal', () => {
  it('fn gets an AbortSignal when timeoutMs is set and fn declares a parameter', async () => {
    const { breaker } = harness();
    let received: AbortSignal | undefined;
    const result = breaker.execute(async (signal) => {
      received = signal;
      return 'ok';
    });
    await expect(result).resolves.toBe('ok');
    expect(received).toBeInstanceOf(AbortSignal);
    expect(received!.aborted).toBe(false);
  });

  it('fn gets no argument when it declares no parameter, even with timeoutMs', async () => {
    const { breaker } = harness();
    let args: unknown[] | undefined;
    const fn = async (...rest: unknown[]): Promise<string> => {
      args = rest;
      return 'ok';
    };
    expect(fn.length).toBe(0);
    await breaker.execute(fn);
    expect(args).toEqual([]);
  });

  it('fn gets no signal without timeoutMs, even when it declares a parameter', async () => {
    const { breaker } = setup();
    let args: unknown[] | undefined;
    await breaker.execute(async function (this: unknown, signal?: AbortSignal) {
      args = Array.from(arguments);
      return signal;
    });
    expect(args).toEqual([]);
  });

  it('the signal aborts with the timeout error when the call times out', async () => {
    const { breaker, clock } = harness();
    let received: AbortSignal | undefined;
    const d = deferred<string>();
    const call = track(
      breaker.execute((signal) => {
        received = signal;
        return d.promise;
      }),
    );
    clock.advance(999);
    expect(received!.aborted).toBe(false);
    clock.advance(1);
    await call.done;
    expect(received!.aborted).toBe(true);
    expect(received!.reason).toBe(call.reason);
    expect(received!.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
  });

  it('the signal is not aborted when the call settles in time', async () => {
    const { breaker, clock } = harness();
    let received: AbortSignal | undefined;
    await breaker.execute(async (signal) => {
      received = signal;
      return 1;
    });
    clock.advance(5000);
    expect(received!.aborted).toBe(false);
  });

  // Timed calls reuse their bookkeeping once settled (deadlines.ts): nothing of one call may leak into the next.
  it('calls one after another, settled in time, timed out, and settled late, each get their own outcome and deadline', async () => {
    const { breaker, clock } = harness();
    const first = pendingCall(breaker);
    first.deferred.resolve('first');
    await first.call.done;
    const late = pendingCall(breaker); // may reuse the first call's bookkeeping
    clock.advance(1000);
    await late.call.done;
    expect(late.call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    const third = pendingCall(breaker);
    late.deferred.resolve('too late'); // the timed-out call's promise settles now: ignored
    await flush();
    expect(third.call.status).toBe('pending');
    clock.advance(999);
    await flush();
    expect(third.call.status).toBe('pending');
    third.deferred.reject(new Error('third'));
    await third.call.done;
    expect((third.call.reason as Error).message).toBe('third');
    expect(first.call.value).toBe('first');
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, timeoutCalls: 1, failedCalls: 1 });
  });

  it('a thenable that calls back twice cannot settle a later call', async () => {
    const { breaker, clock } = harness();
    let again: (() => void) | undefined;
    const twice = { then: (ok: (v: string) => void) => { ok('once'); again = () => ok('twice'); } };
    await expect(breaker.execute(() => twice as unknown as PromiseLike<string>)).resolves.toBe('once');
    const next = pendingCall(breaker);
    again!();
    await flush();
    expect(next.call.status).toBe('pending');
    clock.advance(1000);
    await next.call.done;
    expect(next.call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, timeoutCalls: 1 });
  });
});
