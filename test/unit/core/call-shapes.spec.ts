import { describe, expect, it } from '@jest/globals';
import { CircuitOpenError, RejectAs } from '../../../lib/index.js';
import type { CircuitBreaker } from '../../../lib/index.js';
import { failSync, flush, setup, thrownBy } from './helpers.js';

const settings = { consecutiveFailureThreshold: 2, minimumCalls: 100, openDurationMs: 1000 } as const;

function openBreaker(): CircuitBreaker {
  const { breaker } = setup(settings);
  failSync(breaker, 2);
  expect(breaker.state).toBe('open');
  return breaker;
}

describe('sync functions', () => {
  it('a sync fn returns its value synchronously (not a promise)', () => {
    const { breaker } = setup(settings);
    const value = breaker.execute(() => 42);
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

  it('an open circuit throws synchronously for a sync fn', () => {
    const breaker = openBreaker();
    let called = false;
    const error = thrownBy(() =>
      breaker.execute(() => {
        called = true;
        return 1;
      }),
    );
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
  });

  // A plain function's shape is unknown until it is called, and an open circuit does not call it.
  // The engine answers from what the breaker has seen: once any call returned a promise, a plain
  // function's rejection is a rejected promise (README "Call shapes"). A breaker that mixes sync and
  // async calls should use async functions or RejectAs explicitly (the Nest layer does).
  it('on a breaker that has seen a promise, an open circuit rejects a plain function with a promise (documented mixed case)', async () => {
    const { breaker } = setup(settings);
    await breaker.execute(async () => 'async call first');
    failSync(breaker, 2);
    expect(breaker.state).toBe('open');
    const outcome = breaker.execute(() => 1);
    expect(outcome).toBeInstanceOf(Promise);
    await expect(outcome).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('RejectAs.Throw keeps a sync fn sync on a breaker that has seen a promise', async () => {
    const { breaker } = setup(settings);
    await breaker.execute(async () => 'async call first');
    failSync(breaker, 2);
    expect(() => breaker.run(() => 1, RejectAs.Throw)).toThrow(CircuitOpenError);
  });
});

describe('promise-returning functions', () => {
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

  it('an async function gets a rejected promise from an open circuit, even on a breaker that never saw a promise', async () => {
    const breaker = openBreaker(); // only sync calls so far
    let called = false;
    const result = breaker.execute(async () => {
      called = true;
    });
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
    expect(called).toBe(false);
  });

  it('a plain function returning a promise gets a rejected promise once the breaker has seen a promise result', async () => {
    const { breaker } = setup(settings);
    await breaker.execute(() => Promise.resolve('seen'));
    failSync(breaker, 2);
    const result = breaker.execute(() => Promise.resolve('never'));
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('a plain function returning a promise on a breaker that never saw one gets a synchronous throw (documented)', () => {
    const breaker = openBreaker();
    expect(() => breaker.execute(() => Promise.resolve('never'))).toThrow(CircuitOpenError);
  });

  it('a thenable result is followed like a promise', async () => {
    const { breaker } = setup(settings);
    const thenable = {
      then(onFulfilled: (value: unknown) => unknown): unknown {
        return onFulfilled('from thenable');
      },
    };
    await expect(Promise.resolve(breaker.execute(() => thenable))).resolves.toBe('from thenable');
    expect(breaker.totals().successfulCalls).toBe(1);
  });

  it('the outcome is recorded before the returned promise settles', async () => {
    const { breaker } = setup(settings);
    const order: string[] = [];
    breaker.onCall((e) => order.push(`recorded ${e.kind}`));
    await breaker.execute(async () => 'x').then(() => order.push('settled'));
    expect(order).toEqual(['recorded success', 'settled']);
  });
});

describe('execute() input and RejectAs', () => {
  it('throws a TypeError for a non-function', () => {
    const { breaker } = setup(settings);
    expect(() => breaker.execute(42 as unknown as () => number)).toThrow(TypeError);
  });

  it('run() with RejectAs.Promise rejects a sync fn with a promise', async () => {
    const breaker = openBreaker();
    const result = breaker.run(() => 1, RejectAs.Promise) as unknown as Promise<number>;
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('run() with RejectAs.Throw throws for an async fn', () => {
    const breaker = openBreaker();
    expect(() => breaker.run(async () => 1, RejectAs.Throw)).toThrow(CircuitOpenError);
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
