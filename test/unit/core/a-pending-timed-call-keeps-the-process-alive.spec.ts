/**
 * On the default clock, a call waiting on its `timeoutMs` deadline keeps the process alive (so
 * `await breaker.execute(hung)` at the top of a script rejects with its timeout instead of the
 * process exiting under it with code 13), and nothing else does. The deadline timer is unref'd;
 * when the process is about to exit (`beforeExit`: nothing else keeps the loop alive) the timers
 * of breakers with calls still waiting are ref'd until those calls are done. A Node timer keeps the
 * process running while it is ref'd (`hasRef()`); the breaker's deadline timer is caught as the
 * global setTimeout makes it, and beforeExit is played by calling what the process's listener
 * runs. The deadline itself is real time in the first case (the default clock is the subject), kept
 * short; nothing sleeps.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerTimeoutError } from '../../../lib/index.js';
import { holdWaitingCalls } from '../../../lib/core/deadlines.js';

/** Every global timer made from now on, in order. */
function catchTimers(): ReturnType<typeof setTimeout>[] {
  const made: ReturnType<typeof setTimeout>[] = [];
  const original = globalThis.setTimeout;
  jest.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, delayMs?: number) => {
    const timer = original(callback, delayMs);
    made.push(timer);
    return timer;
  }) as unknown as typeof setTimeout);
  return made;
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('a timed call in flight keeps the process alive when it would otherwise exit, and only then', () => {
  it('a call to a hung dependency: the process about to exit is held until the call times out', async () => {
    const breaker = new CircuitBreaker({ name: 'hung', timeoutMs: 30 });
    const timers = catchTimers();
    const call = breaker.execute(() => new Promise<never>(() => {}));
    expect(timers).toHaveLength(1);
    expect(timers[0]!.hasRef()).toBe(false); // a breaker never holds a running process by itself
    holdWaitingCalls(); // the process is about to exit
    expect(timers[0]!.hasRef()).toBe(true);
    await expect(call).rejects.toBeInstanceOf(CircuitBreakerTimeoutError);
    breaker.dispose();
  });

  it('a call that settled in time holds nothing, although the shared timer stays armed for its old deadline', async () => {
    const breaker = new CircuitBreaker({ name: 'quick', timeoutMs: 60_000 });
    const timers = catchTimers();
    await expect(breaker.execute(async () => 'answer')).resolves.toBe('answer');
    holdWaitingCalls();
    expect(timers).toHaveLength(1);
    expect(timers[0]!.hasRef()).toBe(false);
    breaker.dispose();
  });

  it('two calls in flight: held until the last of them settles, then let go', async () => {
    const breaker = new CircuitBreaker({ name: 'pair', timeoutMs: 60_000 });
    const timers = catchTimers();
    const finish: ((value: number) => void)[] = [];
    const first = breaker.execute(() => new Promise<number>((resolve) => finish.push(resolve)));
    const second = breaker.execute(() => new Promise<number>((resolve) => finish.push(resolve)));
    holdWaitingCalls();
    expect(timers[0]!.hasRef()).toBe(true);
    finish[0]!(1);
    await expect(first).resolves.toBe(1);
    expect(timers[0]!.hasRef()).toBe(true);
    finish[1]!(2);
    await expect(second).resolves.toBe(2);
    expect(timers[0]!.hasRef()).toBe(false);
    breaker.dispose();
  });

  it('a disposed breaker with no call in flight is no longer watched: nothing to hold', async () => {
    const breaker = new CircuitBreaker({ name: 'gone', timeoutMs: 60_000 });
    const timers = catchTimers();
    await breaker.execute(async () => 1);
    breaker.dispose();
    holdWaitingCalls();
    expect(timers.every((timer) => !timer.hasRef())).toBe(true);
  });
});
