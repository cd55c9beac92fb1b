/**
 * Faults in user code and in dependencies stay contained: a fallback, health check, predicate or
 * listener that throws (or never settles), a dependency that returns a broken thenable, an app
 * closed with calls still running. Each test asserts (a) the fault's documented effect, (b) that
 * the breaker keeps working afterwards, (c) that no timer is left after dispose() / app.close(),
 * and (d) that no unhandled rejection reached Node (spy on the real process, see helpers.ts).
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import {
  CircuitBreaker,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  CircuitBreakerTimeoutError,
  CircuitOpenError,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { CircuitBreakerSettings, StateChangeEvent } from '../../lib/index.js';
import { deferred, flush, spyOnUnhandledRejections, syncError, turn } from './helpers.js';
import type { Deferred, RejectionSpy } from './helpers.js';

let spy: RejectionSpy;
beforeEach(() => {
  spy = spyOnUnhandledRejections();
});
afterEach(async () => {
  await turn();
  await turn();
  spy.stop();
  expect(spy.seen).toEqual([]);
});

function harness(settings: CircuitBreakerSettings = {}): { clock: ManualClock; breaker: CircuitBreaker; internal: jest.Mock<(error: unknown, where: string) => void> } {
  const clock = new ManualClock(0);
  const breaker = new CircuitBreaker({ name: 'faults', clock, slidingWindow: { type: 'count', size: 4 }, minimumCalls: 4, openDurationMs: 1_000, ...settings });
  const internal = jest.fn<(error: unknown, where: string) => void>();
  breaker.onInternalError = internal;
  return { clock, breaker, internal };
}

/** The breaker still works: closes (reset), records successes and failures, trips on them. */
function stillWorks(breaker: CircuitBreaker): void {
  breaker.reset();
  expect(breaker.executeSync(() => 'ok')).toBe('ok');
  expect(breaker.snapshot().calls).toBe(1);
}

function expectNoTimerAfterDispose(breaker: CircuitBreaker, clock: ManualClock): void {
  breaker.dispose();
  expect(clock.pendingTimers).toBe(0);
}

describe('predicates that throw', () => {
  it('isFailure that throws: the call counts as a failure, the breaker keeps working, reported once per throw', async () => {
    const { clock, breaker, internal } = harness({ timeoutMs: 100 });
    const broken = new Error('isFailure is broken');
    breaker.reconfigure({
      isFailure: () => {
        throw broken;
      },
    });
    // A fresh error per call: the engine classifies each error object once.
    for (let i = 0; i < 3; i++) {
      const dependencyError = new Error(`dependency down ${i}`);
      expect(syncError(() => breaker.executeSync((): never => { throw dependencyError; })).error).toBe(dependencyError);
    }
    const asyncError = new Error('dependency down async');
    await expect(breaker.execute(async () => Promise.reject(asyncError))).rejects.toBe(asyncError);
    expect(breaker.totals()).toMatchObject({ failedCalls: 4, ignoredCalls: 0 });
    expect(breaker.state).toBe('open'); // 4 of 4 failures: a broken classifier does not hide an outage
    expect(internal).toHaveBeenCalledTimes(4);
    expect(internal.mock.calls.every(([error, where]) => error === broken && where.includes('isFailure'))).toBe(true);
    stillWorks(breaker);
    expectNoTimerAfterDispose(breaker, clock);
  });

  it('isResultFailure that throws: recorded as a failure, the value still reaches the caller, reported once', async () => {
    const { clock, breaker, internal } = harness({
      isResultFailure: () => {
        throw new Error('isResultFailure is broken');
      },
    });
    expect(breaker.executeSync(() => ({ status: 200 }))).toEqual({ status: 200 });
    await expect(breaker.execute(async () => 'async value')).resolves.toBe('async value');
    expect(breaker.totals()).toMatchObject({ failedCalls: 2, successfulCalls: 0 });
    expect(internal).toHaveBeenCalledTimes(2);
    expect(String(internal.mock.calls[0]![1])).toContain('isResultFailure');
    breaker.reconfigure({ isResultFailure: undefined });
    stillWorks(breaker);
    expectNoTimerAfterDispose(breaker, clock);
  });
});

describe('listeners that throw', () => {
  it('an onStateChange listener that throws: the transition happens, later listeners still run, it is reported', () => {
    const { clock, breaker, internal } = harness({ consecutiveFailureThreshold: 1 });
    const before: StateChangeEvent[] = [];
    const after: StateChangeEvent[] = [];
    breaker.onStateChange((e) => before.push(e));
    breaker.onStateChange(() => {
      throw new Error('listener is broken');
    });
    breaker.onStateChange((e) => after.push(e));
    syncError(() => breaker.executeSync((): never => { throw new Error('down'); }));
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    expect(breaker.executeSync(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
    const path = ['closed>open', 'open>half_open', 'half_open>closed'];
    expect(before.map((e) => `${e.from}>${e.to}`)).toEqual(path);
    expect(after.map((e) => `${e.from}>${e.to}`)).toEqual(path);
    expect(internal).toHaveBeenCalledTimes(3);
    expect(String(internal.mock.calls[0]![1])).toContain('onStateChange');
    stillWorks(breaker);
    expectNoTimerAfterDispose(breaker, clock);
  });

  it('an onCall listener that throws: the caller still gets its outcome, the call is recorded, other listeners run', async () => {
    const { clock, breaker, internal } = harness({ timeoutMs: 50 });
    const seen: string[] = [];
    breaker.onCall(() => {
      throw new Error('onCall is broken');
    });
    breaker.onCall((e) => seen.push(e.kind));
    expect(breaker.executeSync(() => 1)).toBe(1);
    await expect(breaker.execute(async () => 2)).resolves.toBe(2);
    const hung = breaker.execute(() => new Promise<never>(() => undefined));
    clock.advance(50);
    await expect(hung).rejects.toBeInstanceOf(CircuitBreakerTimeoutError);
    breaker.forceOpen();
    expect(syncError(() => breaker.executeSync(() => 3)).error).toBeInstanceOf(CircuitOpenError);
    expect(seen).toEqual(['success', 'success', 'timeout', 'not_permitted']);
    expect(breaker.totals()).toMatchObject({ successfulCalls: 2, timeoutCalls: 1, notPermittedCalls: 1 });
    expect(internal).toHaveBeenCalledTimes(4);
    stillWorks(breaker);
    expectNoTimerAfterDispose(breaker, clock);
  });

  it('a state listener that moves the breaker again (re-entrancy) leaves no trial and no timer behind', async () => {
    const { clock, breaker } = harness({ consecutiveFailureThreshold: 1, halfOpenMaxCalls: 2 });
    breaker.onStateChange((e) => {
      if (e.to === 'half_open') breaker.forceOpen();
    });
    syncError(() => breaker.executeSync((): never => { throw new Error('down'); }));
    clock.advance(1_000);
    let ran = false;
    const attempt = syncError(() => breaker.executeSync(() => (ran = true)));
    expect(ran).toBe(false);
    expect(attempt.error).toBeInstanceOf(CircuitOpenError);
    expect(breaker.state).toBe('forced_open');
    expect(clock.pendingTimers).toBe(0);
    stillWorks(breaker);
    expectNoTimerAfterDispose(breaker, clock);
  });
});

describe('health checks that fail badly', () => {
  function withCheck(check: (signal?: AbortSignal) => boolean | Promise<boolean>) {
    const h = harness({ consecutiveFailureThreshold: 1, openDurationMs: 100, healthCheck: { check, intervalMs: 500 } });
    syncError(() => h.breaker.executeSync((): never => { throw new Error('down'); }));
    expect(h.breaker.state).toBe('open');
    return h;
  }

  it.each<[string, (attempt: number) => boolean | Promise<boolean>]>([
    [
      'throws',
      (attempt) => {
        if (attempt < 3) throw new Error(`check ${attempt} is broken`);
        return true;
      },
    ],
    ['rejects', async (attempt) => (attempt < 3 ? Promise.reject(new Error(`check ${attempt} is broken`)) : true)],
  ])('a check that %s: reported, the next poll still runs, recovery once a later check passes', async (_label, answer) => {
    let attempt = 0;
    const { clock, breaker, internal } = withCheck(() => answer(++attempt));
    clock.advance(500);
    await flush();
    clock.advance(500);
    await flush();
    expect(attempt).toBe(2);
    expect(breaker.state).toBe('open'); // stays open past openDurationMs while checks fail
    expect(internal).toHaveBeenCalledTimes(2);
    expect(String(internal.mock.calls[0]![1])).toContain('healthCheck');
    clock.advance(500);
    await flush();
    expect(attempt).toBe(3);
    expect(breaker.state).toBe('half_open');
    expect(breaker.executeSync(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
    expectNoTimerAfterDispose(breaker, clock);
  });

  it('a check that hangs until aborted: the next poll counts it failed and aborts it, the poll after asks again, and a passing check recovers the breaker', async () => {
    const answers: Deferred<boolean>[] = [];
    const { clock, breaker } = withCheck((signal?: AbortSignal) => {
      const d = deferred<boolean>();
      answers.push(d);
      // a well-behaved check (an HTTP ping given the signal) ends when it is aborted
      signal?.addEventListener('abort', () => d.reject(signal.reason));
      return d.promise;
    });
    clock.advance(500); // poll 1: hangs
    clock.advance(500); // poll 2: poll 1 failed (aborted); nothing else asked meanwhile
    expect(answers).toHaveLength(1);
    await flush();
    clock.advance(500); // poll 3: asks again
    expect(answers).toHaveLength(2);
    expect(clock.pendingTimers).toBe(1); // the poll timer, not one per hung check
    answers[1]!.resolve(true);
    await flush();
    expect(breaker.state).toBe('half_open');
    answers[0]!.resolve(true); // the hung one answers late (after its abort): changes nothing
    await flush();
    expect(breaker.executeSync(() => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
    expectNoTimerAfterDispose(breaker, clock);
  });

  it('a check that never settles, signal or not: it is asked once, not once per interval, and nothing crashes', async () => {
    let asked = 0;
    const { clock, breaker } = withCheck(() => {
      asked++;
      return new Promise<boolean>(() => undefined);
    });
    for (let i = 0; i < 50; i++) clock.advance(500);
    await flush();
    expect(asked).toBe(1);
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(1);
    expectNoTimerAfterDispose(breaker, clock);
  });

  it('a check still hung at dispose(): no timer is left, and its late answer does not crash anything', async () => {
    const answer = deferred<boolean>();
    const { clock, breaker } = withCheck(() => answer.promise);
    clock.advance(500);
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
    answer.reject(new Error('late failure'));
    await flush();
    clock.advance(10_000);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('a dependency that returns a broken thenable', () => {
  // A thenable whose then() throws. Without a timeout the engine awaits it (await turns the throw
  // into a rejection). With timeoutMs it calls then() itself, after queueing the call's deadline.
  const brokenThenable = (error: Error): Promise<string> => ({ then: () => { throw error; } }) as unknown as Promise<string>;

  it.each([
    ['without a timeout', {}],
    ['with timeoutMs', { timeoutMs: 100 }],
  ])('%s: the call fails at once with the thenable error, is recorded once as a failure, and nothing rejects later', async (_label, settings) => {
    const { clock, breaker } = harness(settings);
    const error = new Error('then() exploded');
    let outcome: unknown;
    const started = syncError(() => breaker.execute(() => brokenThenable(error)));
    if (started.threw) outcome = started.error;
    else await (started.value as Promise<unknown>).then(() => undefined, (e: unknown) => void (outcome = e));
    const recordedAtOnce = breaker.totals().failedCalls;
    clock.advance(1_000); // a deadline left behind would fire here: a timeout nobody can observe
    await flush();
    await turn();
    await turn();
    expect({ outcome, recordedAtOnce, timeoutCalls: breaker.totals().timeoutCalls, unhandled: spy.seen.length }).toEqual({
      outcome: error,
      recordedAtOnce: 1,
      timeoutCalls: 0,
      unhandled: 0,
    });
    expectNoTimerAfterDispose(breaker, clock);
  });
});

// ------------------------------------------------------------------------------ NestJS layer

class DependencyError extends Error {}
class FallbackError extends Error {}

@Injectable()
class Client {
  pending: Deferred<string>[] = [];
  subscriptions = 0;

  @UseCircuitBreaker('guarded', { fallback: 'brokenFallback' })
  syncCall(fail: boolean): string {
    if (fail) throw new DependencyError('sync dependency failed');
    return 'sync ok';
  }

  @UseCircuitBreaker('guarded', { fallback: 'brokenFallback' })
  async asyncCall(fail: boolean): Promise<string> {
    if (fail) throw new DependencyError('async dependency failed');
    return 'async ok';
  }

  brokenFallback(_fail: boolean, error: unknown): never {
    throw new FallbackError(`fallback failed after ${(error as Error).constructor.name}`);
  }

  @UseCircuitBreaker('timed')
  async slow(): Promise<string> {
    const d = deferred<string>();
    this.pending.push(d);
    return d.promise;
  }

  @UseCircuitBreaker('timed')
  stream(): Observable<string> {
    return new Observable<string>(() => {
      this.subscriptions++;
      return undefined; // never emits, never completes
    });
  }
}

@Injectable()
class Classified {
  @UseCircuitBreaker('classified', { fallback: 'cached' })
  async call(): Promise<string> {
    throw new DependencyError('down');
  }

  cached(): string {
    return 'cached';
  }
}

describe('NestJS: fallbacks, classifiers and app.close()', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function start(clock: ManualClock, logger: LoggerService | false, breakers: Record<string, CircuitBreakerSettings>): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger, defaults: { clock }, breakers })],
      providers: [Client, Classified],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    return app;
  }

  const trip2: CircuitBreakerSettings = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 2, openDurationMs: 10_000 };

  it('a fallback that throws: its error propagates (sync and async), and only the dependency failure is recorded', async () => {
    const clock = new ManualClock();
    const app = await start(clock, false, { guarded: trip2 });
    const client = app.get(Client);
    const breaker = app.get(CircuitBreakerRegistry).get('guarded');
    const sync = syncError(() => client.syncCall(true));
    expect(sync.error).toBeInstanceOf(FallbackError);
    expect((sync.error as Error).message).toContain('DependencyError');
    expect(breaker.totals()).toMatchObject({ failedCalls: 1, successfulCalls: 0 });
    await expect(client.asyncCall(true)).rejects.toBeInstanceOf(FallbackError);
    expect(breaker.totals()).toMatchObject({ failedCalls: 2 });
    expect(breaker.snapshot()).toMatchObject({ calls: 2, failures: 2 });
    expect(breaker.state).toBe('open');
    // on an open circuit the fallback runs (and throws) too; the rejection is not a failure
    await expect(client.asyncCall(false)).rejects.toBeInstanceOf(FallbackError);
    expect(breaker.totals()).toMatchObject({ failedCalls: 2, notPermittedCalls: 1 });
    breaker.reset();
    expect(client.syncCall(false)).toBe('sync ok');
    await expect(client.asyncCall(false)).resolves.toBe('async ok');
    expect(breaker.totals()).toMatchObject({ successfulCalls: 2, failedCalls: 2 });
  });

  it('an isFailure that throws on a method with a fallback: counted as a failure, the fallback runs, reported once per call', async () => {
    const clock = new ManualClock();
    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const app = await start(clock, logger, {
      classified: {
        ...trip2,
        minimumCalls: 3,
        isFailure: () => {
          throw new Error('isFailure is broken');
        },
      },
    });
    const breaker = app.get(CircuitBreakerRegistry).get('classified');
    await expect(app.get(Classified).call()).resolves.toBe('cached');
    expect(breaker.totals()).toMatchObject({ failedCalls: 1 });
    const reports = logger.error.mock.calls.filter((args) => String(args[0]).includes('isFailure'));
    expect(reports).toHaveLength(1);
  });

  it('app.close() with timed calls still running (Promise methods) leaves no timer once they settle; their late results crash nothing', async () => {
    const clock = new ManualClock();
    const app = await start(clock, false, { timed: { timeoutMs: 1_000 } });
    const client = app.get(Client);
    const calls = Array.from({ length: 20 }, () => client.slow().then(
      (value) => value,
      (error: unknown) => error,
    ));
    expect(client.pending).toHaveLength(20);
    expect(clock.pendingTimers).toBeGreaterThan(0);
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    expect(clock.pendingTimers).toBe(1); // the calls' shared deadline: they keep it, nothing waits forever
    client.pending.forEach((d, i) => (i % 2 === 0 ? d.resolve(`late ${i}`) : d.reject(new DependencyError(`late ${i}`))));
    const outcomes = await Promise.all(calls);
    expect(clock.pendingTimers).toBe(0);
    expect(outcomes.filter((o) => typeof o === 'string')).toHaveLength(10);
    expect(outcomes.filter((o) => o instanceof DependencyError)).toHaveLength(10);
    clock.advance(10_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('app.close() with timed Observable calls still subscribed: each keeps its deadline until it ends, then no timer is left', async () => {
    const clock = new ManualClock();
    const app = await start(clock, false, { timed: { timeoutMs: 1_000 } });
    const client = app.get(Client);
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < 5; i++) subscriptions.push(client.stream().subscribe({ error: () => undefined }));
    expect(client.subscriptions).toBe(5);
    apps.splice(apps.indexOf(app), 1);
    await app.close();
    expect(clock.pendingTimers).toBe(5);
    subscriptions[0]!.unsubscribe();
    expect(clock.pendingTimers).toBe(4);
    clock.advance(1_000); // the others time out
    expect(subscriptions.every((s) => s.closed)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });
});
