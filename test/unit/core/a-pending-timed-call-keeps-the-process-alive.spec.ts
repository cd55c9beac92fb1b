/**
 * On the default clock, a call waiting on its `timeoutMs` deadline keeps the process alive (so
 * `await breaker.execute(hung)` at the top of a script rejects with its timeout instead of the
 * process exiting under it with code 13), and nothing else does: once no timed call is in flight, the
 * shared deadline timer that may still be armed for an earlier call no longer holds the process.
 *
 * A Node timer keeps the event loop (and the process) running while it is ref'd (`hasRef()`); the
 * breaker's deadline timer is caught as the global setTimeout makes it. The deadline itself is real
 * time in the first case (the default clock is the subject), kept short; nothing sleeps.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerTimeoutError } from '../../../lib/index.js';

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

describe('a timed call in flight keeps the process alive, and only then', () => {
  it('holds the process while a call to a hung dependency waits on its deadline, then rejects with the timeout', async () => {
    const breaker = new CircuitBreaker({ name: 'hung', timeoutMs: 30 });
    const timers = catchTimers();
    const call = breaker.execute(() => new Promise<never>(() => {}));
    expect(timers).toHaveLength(1);
    expect(timers[0]!.hasRef()).toBe(true);
    await expect(call).rejects.toBeInstanceOf(CircuitBreakerTimeoutError);
    breaker.dispose();
  });

  it('a call that settles in time lets go at once, although the shared timer stays armed for its old deadline', async () => {
    const breaker = new CircuitBreaker({ name: 'quick', timeoutMs: 60_000 });
    const timers = catchTimers();
    await expect(breaker.execute(async () => 'answer')).resolves.toBe('answer');
    expect(timers).toHaveLength(1);
    expect(timers[0]!.hasRef()).toBe(false);
    // The next timed call holds the process again, through the same armed timer.
    let finish!: (value: string) => void;
    const next = breaker.execute(() => new Promise<string>((resolve) => (finish = resolve)));
    expect(timers).toHaveLength(1);
    expect(timers[0]!.hasRef()).toBe(true);
    finish('second');
    await expect(next).resolves.toBe('second');
    expect(timers[0]!.hasRef()).toBe(false);
    breaker.dispose();
  });

  it('two calls in flight: the process is held until the last of them settles', async () => {
    const breaker = new CircuitBreaker({ name: 'pair', timeoutMs: 60_000 });
    const timers = catchTimers();
    const finish: ((value: number) => void)[] = [];
    const first = breaker.execute(() => new Promise<number>((resolve) => finish.push(resolve)));
    const second = breaker.execute(() => new Promise<number>((resolve) => finish.push(resolve)));
    finish[0]!(1);
    await expect(first).resolves.toBe(1);
    expect(timers[0]!.hasRef()).toBe(true);
    finish[1]!(2);
    await expect(second).resolves.toBe(2);
    expect(timers[0]!.hasRef()).toBe(false);
    breaker.dispose();
  });
});
