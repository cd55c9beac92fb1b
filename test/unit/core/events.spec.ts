import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreakerTimeoutError, CircuitOpenError } from '../../../lib/index.js';
import type { CallEvent, StateChangeEvent } from '../../../lib/index.js';
import { IgnoredError, failSync, flush, ignoreIgnoredError, pendingCall, setup, slowSync, succeedSync, thrownBy } from './helpers.js';

const settings = { consecutiveFailureThreshold: 1, minimumCalls: 100, openDurationMs: 1000 } as const;

describe('onStateChange', () => {
  it('delivers { name, from, to, at, reason } for every transition, in order', () => {
    const { breaker, clock } = setup(settings);
    const seen: StateChangeEvent[] = [];
    breaker.onStateChange((e) => seen.push(e));
    clock.advance(10);
    failSync(breaker);
    clock.advance(1000);
    breaker.executeSync(() => 'ok');
    expect(seen).toEqual([
      { name: 'payments', from: 'closed', to: 'open', at: 10, reason: 'consecutive_failures' },
      { name: 'payments', from: 'open', to: 'half_open', at: 1010, reason: 'open_duration_elapsed' },
      { name: 'payments', from: 'half_open', to: 'closed', at: 1010, reason: 'trials_succeeded' },
    ]);
  });

  it('calls listeners synchronously, in subscription order, before a sync call throws', () => {
    const { breaker } = setup(settings);
    const order: string[] = [];
    breaker.onStateChange(() => order.push('first'));
    breaker.onStateChange(() => order.push('second'));
    try {
      breaker.executeSync((): never => {
        throw new Error('x');
      });
    } catch {
      order.push('caller sees the error');
    }
    expect(order).toEqual(['first', 'second', 'caller sees the error']);
  });

  it('calls listeners before the async call that caused the transition settles', async () => {
    const { breaker } = setup(settings);
    const order: string[] = [];
    breaker.onStateChange((e) => order.push(`event ${e.to}`));
    await breaker.execute(async () => Promise.reject(new Error('x'))).catch(() => order.push('settled'));
    expect(order).toEqual(['event open', 'settled']);
  });

  it('calls listeners before a timed call that caused the transition settles', async () => {
    const { breaker, clock } = setup({ ...settings, timeoutMs: 100 });
    const order: string[] = [];
    breaker.onStateChange((e) => order.push(`event ${e.to}`));
    const p = breaker.execute(() => new Promise<never>(() => undefined)).catch(() => order.push('settled'));
    clock.advance(100);
    await p;
    expect(order).toEqual(['event open', 'settled']);
  });

  it('unsubscribe stops delivery to that listener only', () => {
    const { breaker } = setup(settings);
    const kept = jest.fn();
    const dropped = jest.fn();
    breaker.onStateChange(kept);
    const unsubscribe = breaker.onStateChange(dropped);
    unsubscribe();
    unsubscribe(); // twice is harmless
    failSync(breaker);
    expect(dropped).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
  });

  it('the same listener subscribed twice is called twice', () => {
    const { breaker } = setup(settings);
    const listener = jest.fn();
    breaker.onStateChange(listener);
    breaker.onStateChange(listener);
    breaker.forceOpen();
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('a throwing listener is contained: later listeners run, the breaker keeps working', () => {
    const { breaker, clock } = setup(settings);
    const internalError = jest.fn();
    breaker.onInternalError = internalError;
    const crash = new Error('listener bug');
    breaker.onStateChange(() => {
      throw crash;
    });
    const after = jest.fn();
    breaker.onStateChange(after);
    const callError = new Error('call failed');
    expect(failSync(breaker, 1, callError)).toBe(callError); // the caller gets its own error
    expect(breaker.state).toBe('open');
    expect(after).toHaveBeenCalledTimes(1);
    expect(internalError).toHaveBeenCalledWith(crash, expect.stringContaining('onStateChange'));
    clock.advance(1000);
    expect(breaker.executeSync(() => 'recovered')).toBe('recovered');
    expect(breaker.state).toBe('closed');
  });

  it('a listener that moves the circuit during open -> half_open is respected', () => {
    const { breaker, clock } = setup(settings);
    failSync(breaker);
    breaker.onStateChange((e) => {
      if (e.to === 'half_open') breaker.forceOpen();
    });
    clock.advance(1000);
    expect(() => breaker.executeSync(() => 1)).toThrow(CircuitOpenError);
    expect(breaker.state).toBe('forced_open');
  });
});

describe('onCall', () => {
  function listen(breaker: ReturnType<typeof setup>['breaker']): CallEvent[] {
    const seen: CallEvent[] = [];
    breaker.onCall((e) => seen.push(e));
    return seen;
  }

  it('success: kind success, not slow, no duration when the clock was not read', () => {
    const { breaker } = setup(settings);
    const seen = listen(breaker);
    succeedSync(breaker);
    expect(seen).toEqual([{ name: 'payments', kind: 'success', slow: false, durationMs: undefined, error: undefined, stale: false }]);
  });

  it('failure carries the error', () => {
    const { breaker } = setup(settings);
    const seen = listen(breaker);
    const error = new Error('boom');
    failSync(breaker, 1, error);
    expect(seen).toEqual([expect.objectContaining({ kind: 'failure', error, stale: false })]);
  });

  it('ignored carries the error', () => {
    const { breaker } = setup({ ...settings, isFailure: ignoreIgnoredError });
    const seen = listen(breaker);
    const error = new IgnoredError('400');
    failSync(breaker, 1, error);
    expect(seen).toEqual([expect.objectContaining({ kind: 'ignored', error })]);
  });

  it('not_permitted carries the CircuitOpenError', () => {
    const { breaker } = setup(settings);
    failSync(breaker);
    const seen = listen(breaker);
    const error = thrownBy(() => breaker.executeSync(() => 1));
    expect(seen).toEqual([expect.objectContaining({ kind: 'not_permitted', error, slow: false })]);
    expect(error).toBeInstanceOf(CircuitOpenError);
  });

  it('timeout carries the timeout error and the duration', async () => {
    const { breaker, clock } = setup({ ...settings, timeoutMs: 250 });
    const seen = listen(breaker);
    const { call } = pendingCall(breaker);
    clock.advance(250);
    await call.done;
    expect(seen).toEqual([expect.objectContaining({ kind: 'timeout', durationMs: 250, error: call.reason })]);
    expect(call.reason).toBeInstanceOf(CircuitBreakerTimeoutError);
  });

  it('every outcome carries durationMs when timeoutMs is set: success, failure, ignored, a sync call, a throw', async () => {
    const { breaker, clock } = setup({ timeoutMs: 250, isFailure: ignoreIgnoredError }); // never trips here
    const seen = listen(breaker);
    const ok = pendingCall(breaker);
    clock.advance(40);
    ok.deferred.resolve('fine');
    await ok.call.done;
    const failed = pendingCall(breaker);
    clock.advance(70);
    failed.deferred.reject(new Error('down'));
    await failed.call.done;
    const ignored = pendingCall(breaker);
    clock.advance(5);
    ignored.deferred.reject(new IgnoredError('400'));
    await ignored.call.done;
    slowSync(breaker, clock, 12); // a sync fn under a timeout: timed all the same
    thrownBy(() =>
      breaker.executeSync(() => {
        clock.advance(3);
        throw new Error('sync down');
      }),
    );
    expect(seen.map((e) => [e.kind, e.durationMs])).toEqual([
      ['success', 40],
      ['failure', 70],
      ['ignored', 5],
      ['success', 12],
      ['failure', 3],
    ]);
  });

  it('the slow flag and duration are set when slow calls are tracked', () => {
    const { breaker, clock } = setup({ ...settings, slowCallDurationMs: 100 });
    const seen = listen(breaker);
    slowSync(breaker, clock, 150);
    slowSync(breaker, clock, 20);
    expect(seen.map((e) => [e.kind, e.slow, e.durationMs])).toEqual([
      ['success', true, 150],
      ['success', false, 20],
    ]);
  });

  it('nothing is emitted after unsubscribe', async () => {
    const { breaker } = setup(settings);
    const listener = jest.fn();
    const unsubscribe = breaker.onCall(listener);
    succeedSync(breaker);
    expect(listener).toHaveBeenCalledTimes(1);
    unsubscribe();
    succeedSync(breaker);
    failSync(breaker);
    thrownBy(() => breaker.executeSync(() => 1));
    await flush();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('a throwing call listener is contained', () => {
    const { breaker } = setup(settings);
    const internalError = jest.fn();
    breaker.onInternalError = internalError;
    const crash = new Error('listener bug');
    breaker.onCall(() => {
      throw crash;
    });
    expect(breaker.executeSync(() => 'ok')).toBe('ok');
    expect(internalError).toHaveBeenCalledWith(crash, expect.stringContaining('onCall'));
    expect(breaker.totals().successfulCalls).toBe(1);
  });
});
