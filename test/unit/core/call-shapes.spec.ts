import { describe, expect, it } from '@jest/globals';
import { CircuitOpenError } from '../../../lib/index.js';
import type { CircuitBreaker } from '../../../lib/index.js';
import { failSync, flush, setup, thrownBy } from './helpers.js';

const settings = { consecutiveFailureThreshold: 2, minimumCalls: 100, openDurationMs: 1000 } as const;

function openBreaker(): CircuitBreaker {
  const { breaker } = setup(settings);
  failSync(breaker, 2);
  expect(breaker.state).toBe('open');
  return breaker;
}

describe('execute(): always a promise', () => {
  it("a sync fn's value comes as a resolved promise, recorded before execute returns", async () => {
    const { breaker } = setup(settings);
    const result = breaker.execute(() => 42);
    expect(result).toBeInstanceOf(Promise);
    expect(breaker.totals().successfulCalls).toBe(1);
    await expect(result).resolves.toBe(42);
  });

  it('a sync throw is recorded at once and comes as a rejection with the same error object', async () => {
    const { breaker } = setup(settings);
    const error = new Error('sync boom');
    const result = breaker.execute((): never => {
      throw error;
    });
    expect(result).toBeInstanceOf(Promise);
    expect(breaker.totals().failedCalls).toBe(1);
    await expect(result).rejects.toBe(error);
  });

  it('an async fn gets its value as a promise', async () => {
    const { breaker } = setup(settings);
    const result = breaker.execute(async () => 'v');
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe('v');
  });

  it('an async rejection is recorded and propagated (same error object)', async () => {
    const { breaker } = setup(settings);
    const error = new Error('async boom');
    await expect(breaker.execute(async () => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.totals().failedCalls).toBe(1);
  });

  it('an open circuit rejects (never throws) for a sync fn, a plain fn returning a promise and an async fn, on a breaker that only saw sync calls', async () => {
    const breaker = openBreaker();
    let called = 0;
    const fns = [
      () => ++called,
      () => Promise.resolve(++called),
      async () => ++called,
    ];
    for (const fn of fns) {
      const result = breaker.execute(fn);
      expect(result).toBeInstanceOf(Promise);
      await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
    }
    expect(called).toBe(0);
  });

  it('`execute(fn).catch(fallback)` always reaches the fallback on an open circuit', async () => {
    const breaker = openBreaker();
    const value = await breaker.execute(() => 'never').catch((error: unknown) => (error instanceof CircuitOpenError ? 'fallback' : 'other'));
    expect(value).toBe('fallback');
  });

  it('a thenable result is followed like a promise', async () => {
    const { breaker } = setup(settings);
    const thenable = {
      then(onFulfilled: (value: unknown) => unknown): unknown {
        return onFulfilled('from thenable');
      },
    };
    await expect(breaker.execute(() => thenable)).resolves.toBe('from thenable');
    expect(breaker.totals().successfulCalls).toBe(1);
  });

  it('the outcome is recorded before the returned promise settles', async () => {
    const { breaker } = setup(settings);
    const order: string[] = [];
    breaker.onCall((e) => order.push(`recorded ${e.kind}`));
    await breaker.execute(async () => 'x').then(() => order.push('settled'));
    expect(order).toEqual(['recorded success', 'settled']);
  });

  it('a non-function rejects with a TypeError', async () => {
    const { breaker } = setup(settings);
    await expect(breaker.execute(42 as unknown as () => number)).rejects.toBeInstanceOf(TypeError);
  });
});

describe('executeSync(): the function\'s own shape', () => {
  it('a sync fn returns its value synchronously (not a promise)', () => {
    const { breaker } = setup(settings);
    const value = breaker.executeSync(() => 42);
    expect(value).toBe(42);
    expect(breaker.totals().successfulCalls).toBe(1);
  });

  it('a sync throw is recorded and rethrown (same error object)', () => {
    const { breaker } = setup(settings);
    const error = new Error('sync boom');
    expect(failSync(breaker, 1, error)).toBe(error);
    expect(breaker.totals().failedCalls).toBe(1);
    expect(breaker.snapshot().consecutiveFailures).toBe(1);
  });

  it('a thrown non-Error value is recorded and rethrown as is', () => {
    const { breaker } = setup(settings);
    expect(failSync(breaker, 1, 'a string')).toBe('a string');
    expect(breaker.totals().failedCalls).toBe(1);
  });

  it('an open circuit throws synchronously without calling fn, also on a breaker that has seen promises', async () => {
    const { breaker } = setup(settings);
    await breaker.execute(async () => 'async call first');
    failSync(breaker, 2);
    expect(breaker.state).toBe('open');
    let called = false;
    const error = thrownBy(() =>
      breaker.executeSync(() => {
        called = true;
        return 1;
      }),
    );
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
  });

  it('a fn that returns a promise anyway gets the tracked promise back: its outcome is recorded, success or failure', async () => {
    const { breaker } = setup(settings);
    const ok = breaker.executeSync(() => Promise.resolve('later'));
    expect(ok).toBeInstanceOf(Promise);
    await expect(ok).resolves.toBe('later');
    const error = new Error('late failure');
    await expect(breaker.executeSync(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, failedCalls: 1 });
  });

  it('throws a TypeError for a non-function', () => {
    const { breaker } = setup(settings);
    expect(() => breaker.executeSync(42 as unknown as () => number)).toThrow(TypeError);
  });
});

describe('low-level permits (acquirePermission / record*)', () => {
  it('records successes and failures through permits', () => {
    const { breaker } = setup(settings);
    breaker.recordSuccess(breaker.acquirePermission(), 'value');
    breaker.recordFailure(breaker.acquirePermission(), new Error('x'));
    breaker.releasePermission(breaker.acquirePermission());
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, failedCalls: 1, ignoredCalls: 1 });
    expect(breaker.snapshot().calls).toBe(2);
  });

  it('acquirePermission throws CircuitOpenError when open', () => {
    const breaker = openBreaker();
    expect(() => breaker.acquirePermission()).toThrow(CircuitOpenError);
    expect(breaker.totals().notPermittedCalls).toBe(1);
  });

  it('a released trial permit frees its slot', async () => {
    const { breaker, clock } = setup(settings);
    failSync(breaker, 2);
    clock.advance(1000);
    const permit = breaker.acquirePermission();
    expect(breaker.state).toBe('half_open');
    expect(() => breaker.acquirePermission()).toThrow(CircuitOpenError);
    breaker.releasePermission(permit);
    breaker.recordSuccess(breaker.acquirePermission());
    await flush();
    expect(breaker.state).toBe('closed');
  });
});

describe('low-level permits: anything that is not a live permit is rejected or ignored', () => {
  function halfOpenWithTrial() {
    const harness = setup(settings);
    failSync(harness.breaker, 2);
    harness.clock.advance(1000);
    const permit = harness.breaker.acquirePermission(); // the real trial, still running
    expect(harness.breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 1 });
    return { ...harness, permit };
  }

  it.each<[string, (breaker: CircuitBreaker) => void]>([
    ['recordSuccess(undefined)', (b) => b.recordSuccess(undefined as unknown as number)],
    ['recordFailure(null, error)', (b) => b.recordFailure(null as unknown as number, new Error('x'))],
    ['releasePermission(NaN)', (b) => b.releasePermission(Number.NaN)],
    ['recordSuccess(-1)', (b) => b.recordSuccess(-1)],
    ['recordSuccess(1.5)', (b) => b.recordSuccess(1.5)],
    ['recordSuccess("1")', (b) => b.recordSuccess('1' as unknown as number)],
    ['recordSuccess(Symbol())', (b) => b.recordSuccess(Symbol('p') as unknown as number)],
  ])('%s throws a TypeError naming the breaker and changes nothing while a real trial runs', async (_label, misuse) => {
    const { breaker, permit } = halfOpenWithTrial();
    const before = breaker.totals();
    expect(() => misuse(breaker)).toThrow(TypeError);
    expect(() => misuse(breaker)).toThrow('"payments"');
    await flush();
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 1 });
    expect(breaker.totals()).toEqual(before);
    breaker.recordSuccess(permit); // the real trial still decides
    expect(breaker.state).toBe('closed');
  });

  it('a trial permit used twice counts once; a second release cannot end the trial that reuses its slot', () => {
    const { breaker, clock } = setup({ ...settings, halfOpenMaxCalls: 2 });
    failSync(breaker, 2);
    clock.advance(1000);
    const first = breaker.acquirePermission();
    breaker.releasePermission(first);
    const second = breaker.acquirePermission(); // reuses the freed slot, with a permit of its own
    expect(second).not.toBe(first);
    breaker.releasePermission(first); // already released: ignored
    expect(breaker.snapshot().halfOpenCallsInFlight).toBe(1);
    expect(breaker.totals().ignoredCalls).toBe(1);
    breaker.recordSuccess(second);
    breaker.recordSuccess(second); // already recorded: ignored, the circuit still needs a second success
    expect(breaker.totals().successfulCalls).toBe(1);
    expect(breaker.state).toBe('half_open');
    breaker.recordSuccess(breaker.acquirePermission());
    expect(breaker.state).toBe('closed');
  });

  it('a number that was never issued is ignored (a slot nobody holds, a later generation)', () => {
    const { breaker, permit } = halfOpenWithTrial();
    breaker.recordFailure(permit + 1, new Error('forged')); // a slot not in flight
    breaker.recordFailure(permit + 1_000_000_000, new Error('forged')); // a generation not reached yet
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 1 });
    expect(breaker.totals().failedCalls).toBe(2); // the two that opened it
  });
});

describe('low-level permits while closed (every call shares the state, each permit is its own)', () => {
  it('each acquirePermission() is a different permit', () => {
    const { breaker } = setup(settings);
    const a = breaker.acquirePermission();
    const b = breaker.acquirePermission();
    expect(a).not.toBe(b);
  });

  it('ending a permit twice counts once (recordSuccess in catch and in finally, say)', () => {
    const { breaker } = setup({ ...settings, consecutiveFailureThreshold: 2 });
    const permit = breaker.acquirePermission();
    breaker.recordFailure(permit, new Error('x'));
    breaker.recordFailure(permit, new Error('x')); // already ended: must not trip the circuit
    breaker.recordSuccess(permit);
    breaker.releasePermission(permit);
    expect({ state: breaker.state, calls: breaker.snapshot().calls, totals: breaker.totals() }).toMatchObject({
      state: 'closed',
      calls: 1,
      totals: { failedCalls: 1, successfulCalls: 0, ignoredCalls: 0 },
    });
  });

  it('a number never issued (0 on a fresh breaker, a permit of another breaker) is ignored', () => {
    const { breaker } = setup(settings);
    const other = setup(settings, 'other').breaker;
    breaker.recordFailure(0, new Error('forged'));
    breaker.recordFailure(other.acquirePermission() + 7, new Error('forged'));
    breaker.recordSuccess(1);
    expect(breaker.snapshot().calls).toBe(0);
    expect(breaker.totals()).toMatchObject({ failedCalls: 0, successfulCalls: 0 });
  });

  it('a permit taken before the circuit opened ends once, as a stale outcome (totals only)', () => {
    const { breaker } = setup({ ...settings, consecutiveFailureThreshold: 1 });
    const early = breaker.acquirePermission();
    breaker.recordFailure(breaker.acquirePermission(), new Error('opens it'));
    expect(breaker.state).toBe('open');
    breaker.recordSuccess(early);
    expect(breaker.totals()).toMatchObject({ successfulCalls: 1, failedCalls: 1 });
    expect(breaker.state).toBe('open');
  });
});

describe('low-level permits across a transition', () => {
  it('a permit ended in a catch (tripping the circuit) and again in a finally counts once', () => {
    const { breaker } = setup({ ...settings, consecutiveFailureThreshold: 1 });
    const kinds: string[] = [];
    breaker.onCall((event) => kinds.push(event.kind));
    const permit = breaker.acquirePermission();
    breaker.recordFailure(permit, new Error('trips'));
    expect(breaker.state).toBe('open');
    breaker.releasePermission(permit); // the finally: already ended
    breaker.recordSuccess(permit);
    expect(breaker.totals()).toMatchObject({ failedCalls: 1, ignoredCalls: 0, successfulCalls: 0 });
    expect(kinds).toEqual(['failure']);
  });

  it('a stale permit (taken before the transition) counts once in the totals, however often it is ended', () => {
    const { breaker, clock } = setup({ ...settings, consecutiveFailureThreshold: 1, openDurationMs: 1000 });
    const early = breaker.acquirePermission();
    breaker.recordFailure(breaker.acquirePermission(), new Error('opens it'));
    clock.advance(1000);
    const trial = breaker.acquirePermission(); // half_open
    breaker.recordFailure(early, new Error('late'));
    breaker.recordFailure(early, new Error('late again'));
    breaker.recordSuccess(early);
    expect(breaker.totals()).toMatchObject({ failedCalls: 2, successfulCalls: 0 });
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 1 });
    breaker.recordSuccess(trial);
    breaker.recordSuccess(trial); // already ended
    expect(breaker.totals().successfulCalls).toBe(1);
  });
});
