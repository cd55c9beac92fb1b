import { describe, expect, it, jest } from '@jest/globals';
import { CircuitOpenError } from '../../../lib/index.js';
import type { CircuitBreakerSettings } from '../../../lib/index.js';
import { describeCallbackError } from '../../../lib/core/callback-errors.js';
import { deferred, failSync, flush, setup, thrownBy } from './helpers.js';

type Check = () => boolean | Promise<boolean>;

function harness(check: Check, settings: CircuitBreakerSettings = {}) {
  const h = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1000, healthCheck: { check, intervalMs: 500 }, ...settings });
  const internalError = jest.fn();
  h.breaker.onInternalError = internalError;
  return { ...h, internalError };
}

describe('healthCheck polling', () => {
  it('does not poll while closed', () => {
    const check = jest.fn<Check>(() => false);
    const { clock } = harness(check);
    clock.advance(10_000);
    expect(check).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('polls every intervalMs while open', () => {
    const check = jest.fn<Check>(() => false);
    const { breaker, clock } = harness(check);
    failSync(breaker);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(499);
    expect(check).not.toHaveBeenCalled();
    clock.advance(1);
    expect(check).toHaveBeenCalledTimes(1);
    clock.advance(1000);
    expect(check).toHaveBeenCalledTimes(3);
    expect(clock.pendingTimers).toBe(1);
  });

  it('does not poll in forced_open, and stops polling when forced open from open', () => {
    const check = jest.fn<Check>(() => true);
    const { breaker, clock } = harness(check);
    breaker.forceOpen();
    clock.advance(5000);
    expect(check).not.toHaveBeenCalled();
    breaker.reset();
    failSync(breaker); // open: polling starts
    breaker.forceOpen();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    expect(check).not.toHaveBeenCalled();
    expect(breaker.state).toBe('forced_open');
  });
});

describe('healthCheck recovery', () => {
  it('a check returning true moves to half_open at once (before openDurationMs)', () => {
    const { breaker, clock, events } = harness(() => true, { openDurationMs: 10_000 });
    failSync(breaker);
    clock.advance(500);
    expect(breaker.state).toBe('half_open');
    expect(events.at(-1)).toMatchObject({ from: 'open', to: 'half_open', reason: 'health_check_passed', at: 500 });
    expect(clock.pendingTimers).toBe(0); // leaving open cleared the poll timer
    expect(breaker.executeSync(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
  });

  it('a check resolving true moves to half_open as soon as it resolves', async () => {
    const answer = deferred<boolean>();
    const { breaker, clock } = harness(() => answer.promise);
    failSync(breaker);
    clock.advance(500);
    expect(breaker.state).toBe('open');
    answer.resolve(true);
    await flush();
    expect(breaker.state).toBe('half_open');
    expect(clock.pendingTimers).toBe(0);
  });

  it.each<[string, Check]>([
    ['returns false', () => false],
    ['resolves false', async () => false],
    ['throws', () => {
      throw new Error('check crashed');
    }],
    ['rejects', async () => {
      throw new Error('check rejected');
    }],
  ])('a check that %s keeps the circuit open past openDurationMs', async (_label, check) => {
    const { breaker, clock } = harness(check);
    failSync(breaker);
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      await flush();
    }
    expect(breaker.state).toBe('open');
    const error = thrownBy(() => breaker.executeSync(() => 'never'));
    expect(error).toBeInstanceOf(CircuitOpenError);
  });

  it('a throwing or rejecting check is reported to onInternalError, not crashed on', async () => {
    const crash = new Error('check crashed');
    const { breaker, clock, internalError } = harness(() => Promise.reject(crash));
    failSync(breaker);
    clock.advance(500);
    await flush();
    expect(internalError).toHaveBeenCalledWith(crash, expect.stringContaining('healthCheck'));
    clock.advance(500);
    await flush();
    expect(internalError).toHaveBeenCalledTimes(2);
  });

  it('only a strict true passes', async () => {
    const { breaker, clock } = harness(() => 1 as unknown as boolean);
    failSync(breaker);
    clock.advance(2000);
    await flush();
    expect(breaker.state).toBe('open');
  });

  it('an answer that is not a boolean (an async check that resolves undefined) fails the check and is reported once, naming the breaker and the answer', async () => {
    const { breaker, clock, internalError } = harness((async () => {}) as unknown as Check);
    failSync(breaker);
    clock.advance(500);
    await flush();
    clock.advance(500);
    await flush();
    expect(breaker.state).toBe('open');
    expect(internalError).toHaveBeenCalledTimes(1);
    const [error] = internalError.mock.calls[0] as [Error];
    expect(error.message).toContain('"payments" answered undefined');
    expect(error.message).toContain('passes by answering true');
    // Reported in its own words, not as "... threw: ...": the check did not throw.
    expect(describeCallbackError(error, 'healthCheck.check of circuit breaker "payments"')).toBe(error.message);
  });

  it('false fails the check without a report (it is a valid answer)', async () => {
    const { breaker, clock, internalError } = harness(() => false);
    failSync(breaker);
    clock.advance(1000);
    await flush();
    expect(breaker.state).toBe('open');
    expect(internalError).not.toHaveBeenCalled();
  });

  it('at most one check is in flight: a check that never settles is asked once, not once per interval', async () => {
    let checks = 0;
    const { breaker, clock } = harness(() => {
      checks++;
      return new Promise<boolean>(() => undefined); // the dead dependency never answers
    });
    failSync(breaker);
    for (let i = 0; i < 200; i++) {
      clock.advance(500);
      await flush(2);
    }
    expect(checks).toBe(1);
    expect(breaker.state).toBe('open');
  });

  it('a check not settled within intervalMs counts as failed: its late pass is ignored, and the next poll after it settled asks again', async () => {
    const answers = [deferred<boolean>(), deferred<boolean>()];
    let poll = 0;
    const { breaker, clock } = harness(() => answers[poll++]!.promise);
    failSync(breaker);
    clock.advance(500); // poll 1 asks
    clock.advance(500); // poll 2: check 1 still pending, so it failed; no second check meanwhile
    expect(poll).toBe(1);
    answers[0]!.resolve(true); // too late
    await flush();
    expect(breaker.state).toBe('open');
    clock.advance(500); // poll 3: nothing in flight, asks again
    expect(poll).toBe(2);
    answers[1]!.resolve(true);
    await flush();
    expect(breaker.state).toBe('half_open');
  });

  it('a check that declares a parameter gets an AbortSignal, aborted when the check counts as failed', () => {
    let signal: AbortSignal | undefined;
    const { breaker, clock } = harness((s?: AbortSignal) => {
      signal = s;
      return new Promise<boolean>(() => undefined);
    });
    failSync(breaker);
    clock.advance(500);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal!.aborted).toBe(false);
    clock.advance(500); // still pending at the next poll: failed
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toMatchObject({ name: 'CircuitBreakerTimeoutError', breakerName: 'payments', timeoutMs: 500 });
  });

  it('a check that declares no parameter is called without one', () => {
    const args: unknown[][] = [];
    const { breaker, clock } = harness((...received: unknown[]) => {
      args.push(received);
      return false;
    });
    failSync(breaker);
    clock.advance(500);
    expect(args).toEqual([[]]);
  });

  it('a check answering after the circuit left open is ignored', async () => {
    const answer = deferred<boolean>();
    const { breaker, clock } = harness(() => answer.promise);
    failSync(breaker);
    clock.advance(500);
    breaker.forceOpen();
    answer.resolve(true);
    await flush();
    expect(breaker.state).toBe('forced_open');
  });

  it('polling resumes after a failed trial re-opens', () => {
    let healthy = true;
    const check = jest.fn<Check>(() => healthy);
    const { breaker, clock } = harness(check);
    failSync(breaker);
    clock.advance(500);
    expect(breaker.state).toBe('half_open');
    healthy = false;
    failSync(breaker); // trial fails
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(1);
    clock.advance(500);
    expect(check).toHaveBeenCalledTimes(2);
    expect(breaker.state).toBe('open');
  });
});

describe('healthCheck retryAfterMs', () => {
  it('while open, retryAfterMs is the time until the next poll', () => {
    const { breaker, clock } = harness(() => false, { openDurationMs: 10_000 });
    failSync(breaker);
    const retryAfter = (): number | undefined => (thrownBy(() => breaker.executeSync(() => 1)) as CircuitOpenError).retryAfterMs;
    expect(retryAfter()).toBe(500);
    clock.advance(300);
    expect(retryAfter()).toBe(200);
    expect(breaker.snapshot().retryAfterMs).toBe(200);
    clock.advance(200); // poll fails; next poll at 1000
    clock.advance(150);
    expect(retryAfter()).toBe(350);
    expect(breaker.snapshot().retryAfterMs).toBe(350);
  });
});

describe('healthCheck timers', () => {
  it('dispose() clears the poll timer; no check runs afterwards', () => {
    const check = jest.fn<Check>(() => false);
    const { breaker, clock } = harness(check);
    failSync(breaker);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    expect(check).not.toHaveBeenCalled();
  });

  it('reset() from open clears the poll timer', () => {
    const { breaker, clock } = harness(() => false);
    failSync(breaker);
    breaker.reset();
    expect(clock.pendingTimers).toBe(0);
  });

  it('disable() and metricsOnly() from open clear the poll timer', () => {
    const a = harness(() => false);
    failSync(a.breaker);
    a.breaker.disable();
    expect(a.clock.pendingTimers).toBe(0);
    const b = harness(() => false);
    failSync(b.breaker);
    b.breaker.metricsOnly();
    expect(b.clock.pendingTimers).toBe(0);
  });
});
