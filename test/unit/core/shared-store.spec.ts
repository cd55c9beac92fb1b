// Fleet semantics through the store seam, on the in-memory store and a ManualClock: every tick,
// timeout and open duration is driven by the test. The Redis store is exercised in test/redis.
import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitOpenError, InMemoryCircuitBreakerStore, ManualClock } from 'nestjs-breaker';
import type { CircuitBreakerOptions, CircuitBreakerStore, StateChangeEvent, StoreLogger } from 'nestjs-breaker';

const SYNC_MS = 100;

/** Lets the store's promises and its queued notifications run (no time passes on the ManualClock). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves time in 10 ms steps and lets the store answer after each: a ManualClock fires timers
 * synchronously, so one big step would time out every store operation started on the way.
 */
async function pass(clock: ManualClock, ms: number): Promise<void> {
  await settle();
  for (let left = ms; left > 0; left -= 10) {
    clock.advance(Math.min(10, left));
    await settle();
  }
}

function capturingLogger(): StoreLogger & { warnings: string[]; logs: string[] } {
  const warnings: string[] = [];
  const logs: string[] = [];
  return { warnings, logs, warn: (m) => warnings.push(m), log: (m) => logs.push(m) };
}

/** An in-memory store that can be taken down (every operation rejects) or made to hang. */
class FaultyStore extends InMemoryCircuitBreakerStore {
  mode: 'up' | 'down' | 'hang' = 'up';
  /** The next n transitions fail (the store is fine otherwise). */
  failTransitions = 0;
  syncs = 0;
  deliver = true;
  /** While set, sync replies are read now but delivered when the test releases them. */
  held: (() => void)[] | null = null;
  override async sync(...args: Parameters<InMemoryCircuitBreakerStore['sync']>) {
    this.syncs++;
    await this.gate();
    const reply = await super.sync(...args);
    const held = this.held;
    if (held !== null) await new Promise<void>((resolve) => held.push(resolve));
    return reply;
  }
  override async transition(...args: Parameters<InMemoryCircuitBreakerStore['transition']>) {
    await this.gate();
    if (this.failTransitions > 0) {
      this.failTransitions--;
      throw new Error('connection reset');
    }
    return super.transition(...args);
  }
  override async acquireTrial(...args: Parameters<InMemoryCircuitBreakerStore['acquireTrial']>) {
    await this.gate();
    return super.acquireTrial(...args);
  }
  override async completeTrial(...args: Parameters<InMemoryCircuitBreakerStore['completeTrial']>) {
    await this.gate();
    return super.completeTrial(...args);
  }
  override async ping() {
    await this.gate();
  }
  override subscribe(listener: Parameters<InMemoryCircuitBreakerStore['subscribe']>[0]) {
    return super.subscribe((name, state) => {
      if (this.deliver) listener(name, state);
    });
  }
  private gate(): Promise<void> {
    if (this.mode === 'down') return Promise.reject(new Error('connection refused'));
    if (this.mode === 'hang') return new Promise(() => {});
    return Promise.resolve();
  }
}

/** `count` instances of one breaker on one store, once they have read the shared state. */
async function fleet(count: number, options: Partial<CircuitBreakerOptions> = {}, store?: FaultyStore) {
  const clock = new ManualClock(1_700_000_000_000);
  const logger = capturingLogger();
  const shared = store ?? new FaultyStore({ clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: 50, logger });
  const breakers = Array.from(
    { length: count },
    () => new CircuitBreaker({ name: 'payments', clock, store: shared, minimumCalls: 4, openDurationMs: 1_000, ...options }),
  );
  const events: StateChangeEvent[][] = breakers.map((b) => {
    const seen: StateChangeEvent[] = [];
    b.onStateChange((e) => seen.push(e));
    return seen;
  });
  const dispose = () => breakers.forEach((b) => b.dispose());
  await settle();
  return { clock, store: shared, logger, breakers, events, dispose };
}

const boom = (): never => {
  throw new Error('dependency down');
};
const ok = (): string => 'ok';
function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) expect(() => breaker.executeSync(boom)).toThrow('dependency down');
}
function succeed(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) expect(breaker.executeSync(ok)).toBe('ok');
}

describe('breakers sharing a store', () => {
  it('a trip on one instance opens its peers with the same opening, without a call on them', async () => {
    const { breakers: [a, b], events, store, dispose } = await fleet(2);
    fail(a!, 4);
    expect(a!.state).toBe('open');
    await settle();
    expect(b!.state).toBe('open');
    expect(events[1]).toEqual([expect.objectContaining({ from: 'closed', to: 'open', reason: 'shared_state' })]);
    expect(b!.snapshot()).toMatchObject({ openedAt: a!.snapshot().openedAt, retryAfterMs: a!.snapshot().retryAfterMs, calls: 0 });
    expect(store.peek('payments')).toMatchObject({ version: 1, state: 'open', openStreak: 1 });
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError);
    dispose();
  });

  it('an instance that adopted an open state before its first call rejects execute() with a promise: `.catch(fallback)` runs', async () => {
    const { breakers: [a], clock, store, dispose } = await fleet(1);
    fail(a!, 4);
    await settle();
    const late = new CircuitBreaker({ name: 'payments', clock, store, minimumCalls: 4, openDurationMs: 1_000 });
    await settle(); // its first read adopts the fleet's open state; it has never run a call
    expect(late.state).toBe('open');
    let fetched = false;
    const outcome = late.execute(() => {
      fetched = true;
      return fetch('http://127.0.0.1:9/never');
    });
    expect(outcome).toBeInstanceOf(Promise);
    await expect(outcome.catch((error: unknown) => (error instanceof CircuitOpenError ? 'fallback' : error))).resolves.toBe('fallback');
    expect(fetched).toBe(false);
    late.dispose();
    dispose();
  });

  it('two instances tripping at once agree on one opening: the first write wins, no open -> open', async () => {
    const { breakers: [a, b], clock, events, dispose } = await fleet(2);
    fail(a!, 4);
    clock.advance(5); // no await: a's write has not answered yet, nothing has reached b
    fail(b!, 4); // b trips on its own 5 ms later; its write then loses to a's
    await settle();
    expect(b!.snapshot().openedAt).toBe(a!.snapshot().openedAt);
    expect(b!.snapshot().retryAfterMs).toBe(a!.snapshot().retryAfterMs);
    for (const seen of events) expect(seen.map((e) => `${e.from}->${e.to}`)).toEqual(['closed->open']);
    expect([a!.totals().openings, b!.totals().openings]).toEqual([1, 1]);
    dispose();
  });

  it('trips on the fleet window when no instance alone reaches the gates', async () => {
    const { breakers: [a, b, c], clock, events, dispose } = await fleet(3, { minimumCalls: 10 });
    for (const breaker of [a!, b!]) {
      succeed(breaker, 2);
      fail(breaker, 3);
    }
    expect([a!.state, b!.state]).toEqual(['closed', 'closed']); // 5 calls each, under minimumCalls
    await pass(clock, SYNC_MS); // one tick: both send their deltas; the second sees 10 calls, 6 failures
    expect(b!.state).toBe('open');
    expect(events[1]!.at(-1)).toMatchObject({ to: 'open', reason: 'failure_rate' });
    await settle();
    expect([a!.state, c!.state]).toEqual(['open', 'open']);
    dispose();
  });

  it('sends nothing to the store on the closed success path; deltas go out once per tick', async () => {
    const { breakers: [a], clock, store, dispose } = await fleet(1);
    expect(store.syncs).toBe(1); // the first read of the shared state, when the breaker was created
    succeed(a!, 1_000);
    expect(store.syncs).toBe(1);
    await pass(clock, SYNC_MS);
    expect(store.syncs).toBe(2);
    await pass(clock, SYNC_MS * 3); // nothing new to send: no sync (a refresh comes every 5th tick)
    expect(store.syncs).toBe(2);
    dispose();
  });

  it('repairs a missed notification from the versioned state on a later sync', async () => {
    const { breakers: [a, b], clock, store, dispose } = await fleet(2);
    store.deliver = false;
    fail(a!, 4);
    await settle();
    expect(b!.state).toBe('closed');
    await pass(clock, SYNC_MS * 5); // the periodic refresh reads the state
    expect(b!.state).toBe('open');
    dispose();
  });

  it('admits at most halfOpenMaxCalls trials across the fleet; the last success closes every instance', async () => {
    const { breakers, clock, events, dispose } = await fleet(3, { halfOpenMaxCalls: 2 });
    fail(breakers[0]!, 4);
    await settle();
    await pass(clock, 1_000);
    let trials = 0;
    const resolvers: (() => void)[] = [];
    const trial = async (): Promise<string> => {
      trials++;
      return new Promise<string>((resolve) => resolvers.push(() => resolve('ok')));
    };
    // The first call on each instance claims a permit and is rejected meanwhile.
    for (const breaker of breakers) await expect(breaker.execute(trial)).rejects.toBeInstanceOf(CircuitOpenError);
    await settle();
    const outcomes = breakers.flatMap((breaker) => [breaker.execute(trial), breaker.execute(trial)]);
    outcomes.forEach((p) => p.catch(() => {}));
    expect(trials).toBe(2);
    for (const breaker of breakers) breaker.execute(trial).catch(() => {});
    await settle();
    expect(trials).toBe(2);
    resolvers.forEach((resolve) => resolve());
    await settle();
    for (const breaker of breakers) expect(breaker.state).toBe('closed');
    expect(events[2]!.at(-1)).toMatchObject({ to: 'closed' });
    dispose();
  });

  it('a failed trial re-opens the fleet with the backoff of the next opening', async () => {
    const { breakers: [a, b], clock, store, dispose } = await fleet(2, { openDurationBackoff: { multiplier: 2 } });
    fail(a!, 4);
    await settle();
    await pass(clock, 1_000);
    expect(() => a!.executeSync(boom)).toThrow(CircuitOpenError); // claims a permit
    await settle();
    expect(() => a!.executeSync(boom)).toThrow('dependency down'); // the trial
    expect(a!.state).toBe('open');
    await settle();
    expect(store.peek('payments')).toMatchObject({ state: 'open', openStreak: 2 });
    expect(b!.state).toBe('open');
    expect(b!.snapshot().retryAfterMs).toBe(2_000);
    dispose();
  });

  it('a permit held by an instance that never finishes its trial frees itself once its trial would have timed out', async () => {
    const { breakers: [a, b], clock, dispose } = await fleet(2, { halfOpenProbeTimeoutMs: 500 });
    fail(a!, 4);
    await settle();
    await pass(clock, 1_000);
    const hung = async (): Promise<string> => new Promise<string>(() => {});
    await expect(a!.execute(hung)).rejects.toBeInstanceOf(CircuitOpenError);
    await settle();
    void a!.execute(hung); // a's trial takes the only permit, then a "crashes"
    a!.dispose();
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError);
    await settle();
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError); // the permit is still held
    await pass(clock, 500);
    // A permit may start a trial for halfOpenProbeTimeoutMs after its claim, and that trial may run
    // for halfOpenProbeTimeoutMs: it is held for both.
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError);
    await pass(clock, 500);
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError); // claims the expired permit
    await settle();
    expect(b!.executeSync(ok)).toBe('ok');
    await settle();
    expect(b!.state).toBe('closed');
    dispose();
  });

  it('a permit used late in its validity still covers its trial until the trial times out', async () => {
    const { breakers: [a, b], clock, dispose } = await fleet(2, { halfOpenProbeTimeoutMs: 500 });
    fail(a!, 4);
    await pass(clock, 1_000);
    expect(() => a!.executeSync(ok)).toThrow(CircuitOpenError); // claims at T
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError); // claims at T: refused, one permit
    await pass(clock, 450);
    void a!.execute(async (): Promise<string> => new Promise<string>(() => {})); // a's trial starts at T + 450
    await pass(clock, 100);
    expect(() => b!.executeSync(ok)).toThrow(CircuitOpenError); // T + 550: a's trial (100 ms old) still holds the permit
    await settle();
    let calls = 0;
    expect(() => b!.executeSync(() => ++calls)).toThrow(CircuitOpenError);
    expect(calls).toBe(0);
    dispose();
  });

  it('an ignored trial gives its permit back to the instance for its next trial', async () => {
    const { breakers: [a, b], clock, dispose } = await fleet(2, { isFailure: (error) => !(error instanceof RangeError) });
    fail(a!, 4);
    await pass(clock, 1_000);
    expect(() => a!.executeSync(ok)).toThrow(CircuitOpenError); // claims
    await settle();
    expect(() =>
      a!.executeSync(() => {
        throw new RangeError('bad request'); // ignored: neither success nor failure
      }),
    ).toThrow(RangeError);
    expect(a!.state).toBe('half_open');
    expect(a!.executeSync(ok)).toBe('ok'); // the same permit, no new claim, no rejection
    await settle();
    expect([a!.state, b!.state]).toEqual(['closed', 'closed']);
    dispose();
  });

  it('two local transitions within one round trip are both written, in order', async () => {
    const { breakers: [a, b], store, dispose } = await fleet(2);
    a!.forceOpen();
    a!.reset(); // before the first write has answered
    await settle();
    await settle();
    expect(store.peek('payments')).toMatchObject({ version: 2, state: 'closed' });
    expect([a!.state, b!.state]).toEqual(['closed', 'closed']);
    dispose();
  });

  it("a peer's reset of a closed circuit clears this instance's window too", async () => {
    const { breakers: [a, b], dispose } = await fleet(2, { minimumCalls: 4 });
    fail(b!, 3);
    a!.reset();
    await settle();
    expect(b!.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
    fail(b!, 1);
    expect(b!.state).toBe('closed'); // 1 failure in 1 call: under minimumCalls, no trip on the old failures
    dispose();
  });

  it('a trip whose write failed is written when the store answers again', async () => {
    const { breakers: [a, b], clock, store, dispose } = await fleet(2);
    a!.reset(); // the store holds a closed state (version 1)
    await settle();
    store.failTransitions = 1;
    fail(a!, 4);
    await settle();
    expect(a!.snapshot().store).toBe('local_fallback');
    expect(store.peek('payments')).toMatchObject({ version: 1, state: 'closed' });
    await pass(clock, SYNC_MS);
    expect(a!.snapshot().store).toBe('shared');
    await settle();
    expect(store.peek('payments')).toMatchObject({ state: 'open' });
    expect(b!.state).toBe('open');
    await pass(clock, 1_000);
    expect(() => a!.executeSync(ok)).toThrow(CircuitOpenError); // claims a permit: granted, not refused forever
    await settle();
    expect(a!.executeSync(ok)).toBe('ok');
    await settle();
    expect([a!.state, b!.state]).toEqual(['closed', 'closed']);
    dispose();
  });

  it('after the store lost its data, an instance that knew a higher version follows the store again', async () => {
    const { breakers: [a, b], clock, store, dispose } = await fleet(2);
    for (let i = 0; i < 3; i++) {
      a!.forceOpen();
      await settle();
      a!.reset();
      await settle();
    }
    expect(store.peek('payments')).toMatchObject({ version: 6, state: 'closed' });
    store.forget('payments'); // Redis restarted without persistence
    const fresh = new CircuitBreaker({ name: 'payments', clock, store, openDurationMs: 1_000 }); // a new instance
    fresh.forceOpen();
    await settle();
    expect(store.peek('payments')).toMatchObject({ version: 1, state: 'forced_open' });
    await pass(clock, SYNC_MS * 5); // the periodic refresh
    expect([a!.state, b!.state]).toEqual(['forced_open', 'forced_open']);
    fresh.dispose();
    dispose();
  });

  it("a new instance's transition made before it read the shared state goes on top of that state", async () => {
    const { breakers: [a, b], clock, store, dispose } = await fleet(2);
    a!.forceOpen();
    await settle();
    a!.reset();
    await settle();
    const c = new CircuitBreaker({ name: 'payments', clock, store, openDurationMs: 1_000 });
    c.forceOpen(); // before its first read: it does not know version 2 yet
    await settle();
    await settle();
    expect(store.peek('payments')).toMatchObject({ version: 3, state: 'forced_open' });
    expect([a!.state, b!.state, c.state]).toEqual(['forced_open', 'forced_open', 'forced_open']);
    c.dispose();
    dispose();
  });

  it("a sync reply read before a peer's change, delivered after it, does not bring the old state back", async () => {
    const { breakers: [a, b], clock, store, events, dispose } = await fleet(2);
    fail(a!, 4);
    await settle();
    expect(b!.state).toBe('open');
    store.held = [];
    await pass(clock, SYNC_MS * 5); // the refresh tick reads "open, version 1"; its reply is held
    expect(store.held).not.toHaveLength(0);
    a!.reset(); // version 2, closed: reaches b by notification first
    await settle();
    expect(b!.state).toBe('closed');
    const release = store.held;
    store.held = null;
    release.forEach((deliver) => deliver());
    await settle();
    expect(b!.state).toBe('closed');
    expect(events[1]!.map((e) => `${e.from}->${e.to}`)).toEqual(['closed->open', 'open->closed']);
    dispose();
  });

  it('manual control and reset propagate', async () => {
    const { breakers: [a, b], dispose } = await fleet(2);
    a!.forceOpen();
    await settle();
    expect(b!.state).toBe('forced_open');
    a!.reset();
    await settle();
    expect(b!.state).toBe('closed');
    b!.disable();
    await settle();
    expect(a!.state).toBe('disabled');
    dispose();
  });
});

describe('a store that fails', () => {
  it('falls back to local state, logs once, counts it, and rejoins when the store answers again', async () => {
    const { breakers: [a, b], clock, store, logger, dispose } = await fleet(2);
    store.mode = 'down';
    succeed(a!, 1);
    await pass(clock, SYNC_MS);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/store unavailable \(connection refused\)/);
    expect(a!.snapshot().store).toBe('local_fallback');
    expect(a!.totals().storeFallbacks).toBe(1);
    fail(a!, 3); // local protection continues: 1 success + 3 failures trip
    expect(a!.state).toBe('open');
    await settle();
    expect(b!.state).toBe('closed'); // not shared meanwhile
    await pass(clock, SYNC_MS * 3);
    expect(logger.warnings).toHaveLength(1); // once per outage
    store.mode = 'up';
    await pass(clock, SYNC_MS);
    expect(logger.logs).toEqual([expect.stringMatching(/reachable again/)]);
    expect(a!.snapshot().store).toBe('shared');
    expect(b!.state).toBe('open'); // the opening made during the outage reached the fleet
    dispose();
  });

  it('several operations failing at once make one outage: one warning, one fallback each', async () => {
    const { breakers: [a, b], store, logger, dispose } = await fleet(2);
    store.mode = 'down';
    a!.forceOpen(); // two writes in flight when the store fails
    b!.disable();
    await settle();
    expect(logger.warnings).toHaveLength(1);
    expect([a!.totals().storeFallbacks, b!.totals().storeFallbacks]).toEqual([1, 1]);
    dispose();
  });

  it('a store that does not answer within commandTimeoutMs counts as down; calls never wait on it', async () => {
    const { breakers: [a], clock, store, logger, dispose } = await fleet(1);
    store.mode = 'hang';
    succeed(a!, 3);
    await pass(clock, SYNC_MS);
    expect(a!.snapshot().store).toBe('shared'); // still waiting for the answer
    await pass(clock, 50);
    expect(a!.snapshot().store).toBe('local_fallback');
    expect(logger.warnings[0]).toMatch(/commandTimeoutMs = 50/);
    succeed(a!, 3);
    dispose();
  });

  it('half-open uses local permits while the store is down', async () => {
    const { breakers: [a], clock, store, dispose } = await fleet(1);
    fail(a!, 4);
    await settle();
    store.mode = 'down';
    await pass(clock, SYNC_MS);
    await pass(clock, 1_000);
    expect(a!.executeSync(ok)).toBe('ok');
    expect(a!.state).toBe('closed');
    dispose();
  });
});

describe('store option', () => {
  it('rejects a value that is not a store, naming the breaker and the option', () => {
    expect(() => new CircuitBreaker({ name: 'payments', store: {} as CircuitBreakerStore })).toThrow(CircuitBreakerConfigError);
    expect(() => new CircuitBreaker({ name: 'payments', store: {} as CircuitBreakerStore })).toThrow(/"payments".*store.*no sync\(\) method/s);
    expect(() => new CircuitBreaker({ name: 'payments', store: 'redis://x' as unknown as CircuitBreakerStore })).toThrow(/store/);
  });

  it('cannot change at runtime', async () => {
    const { breakers: [a], dispose } = await fleet(1);
    expect(() => a!.reconfigure({ store: new InMemoryCircuitBreakerStore() })).toThrow(/store cannot change at runtime/);
    dispose();
  });

  it('store options are validated', () => {
    expect(() => new InMemoryCircuitBreakerStore({ syncIntervalMs: 0 })).toThrow('InMemoryCircuitBreakerStore: option "syncIntervalMs" must be a number of ms in (0, 60000], got 0');
    expect(() => new InMemoryCircuitBreakerStore({ logger: {} as StoreLogger })).toThrow(/logger/);
  });

  it('disposing the last breaker stops the ticker and releases the store', async () => {
    const { clock, dispose } = await fleet(3);
    expect(clock.pendingTimers).toBeGreaterThan(0);
    dispose();
    expect(clock.pendingTimers).toBe(0);
  });
});
