/**
 * Thousands of interleaved calls on ONE breaker, driven by a seeded PRNG (a failing seed replays
 * exactly): sync successes and throws, async resolutions and rejections, timeouts (timeoutMs +
 * ManualClock.advance), aborts observed through the AbortSignal, errors that isFailure ignores,
 * calls through execute() and executeSync(), late results of timed-out calls, runtime reconfigure of
 * timeoutMs (deadlines out of start order), and manual control. The breaker goes through every
 * state, driven by outcomes, clock advances and manual control.
 *
 * INVARIANTS, checked after EVERY step:
 *  1. half_open never has more than halfOpenMaxCalls trials in flight, and
 *     snapshot().halfOpenCallsInFlight equals our own count of unsettled trials of the current
 *     half-open period;
 *  2. half_open never sticks: no unsettled trial is older than halfOpenProbeTimeoutMs (the probe
 *     timer fires inside ManualClock.advance), and with zero trials in flight the next call is
 *     admitted (we make that call);
 *  3. snapshot().calls / failures equal our own count of the non-ignored, non-stale outcomes
 *     recorded (in closed or metrics_only) since the last clear (a close from half_open, reset()),
 *     capped at the count window's size; every call event's `stale` flag matches our own epochs;
 *  4. totals() add up: every started call ends in exactly one of successful / failed / ignored /
 *     timeout (what its caller saw), or was not_permitted (fn never ran, CircuitOpenError) —
 *     except a call admitted and settled within one `disabled` period, which docs/behaviour.md
 *     says is recorded nowhere;
 *  5. a call that timed out with a signal saw it aborted with the timeout error as reason; a call
 *     that settled in time never saw an abort;
 *  6. no unhandled rejection reaches Node (a spy on the real process, see helpers.ts);
 *  7. after dispose(): no timer but the deadline of timed calls still in flight (at most one, the
 *     deadline queue's), and none at all while no timed call is running, as traffic continues.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../../lib/index.js';
import type { CallEventKind, CircuitBreakerOptions, CircuitState } from '../../lib/index.js';
import { Rng, deferred, flush, spyOnUnhandledRejections, turn } from './helpers.js';
import type { Deferred, RejectionSpy } from './helpers.js';

const SEEDS = 16;
const STEPS = 2_000;
const POST_DISPOSE_STEPS = 300;
const WINDOW_SIZE = 10;

class IgnoredError extends Error {
  override readonly name = 'IgnoredError';
}

type Outcome = 'success' | 'failure' | 'ignored' | 'timeout' | 'not_permitted';

interface Call {
  readonly id: number;
  readonly async: boolean;
  ran: boolean;
  admittedIn: CircuitState | undefined;
  epoch: number;
  startedAt: number;
  trial: boolean;
  deferred: Deferred<string> | undefined;
  /** We delivered the dependency's result (or the abort listener did). */
  delivered: boolean;
  signal: AbortSignal | undefined;
  status: 'pending' | 'settled';
  outcome: Outcome | undefined;
  error: unknown;
  readonly failError: Error;
  readonly ignoreError: IgnoredError;
  attributed: boolean;
}

type LogEntry =
  | { readonly t: 'call'; readonly kind: CallEventKind; readonly error: unknown; readonly state: CircuitState; readonly epoch: number; readonly stale: boolean }
  | { readonly t: 'clear' };

interface Variant {
  readonly label: string;
  readonly options: Omit<CircuitBreakerOptions, 'name' | 'clock'>;
}

const common = {
  slidingWindow: { type: 'count' as const, size: WINDOW_SIZE },
  minimumCalls: 5,
  failureRateThreshold: 50,
  consecutiveFailureThreshold: 4,
  openDurationMs: 50,
  isFailure: (error: unknown) => !(error instanceof IgnoredError),
};

const VARIANTS: readonly Variant[] = [
  { label: 'timeoutMs 30, 3 trials', options: { ...common, timeoutMs: 30, halfOpenMaxCalls: 3, halfOpenProbeTimeoutMs: 40 } },
  { label: 'no timeout (native-promise reactions), 2 trials', options: { ...common, halfOpenMaxCalls: 2, halfOpenProbeTimeoutMs: 60 } },
  { label: 'timeoutMs 25 + slow calls, probe timeout = timeout (the smallest allowed)', options: { ...common, timeoutMs: 25, slowCallDurationMs: 20, halfOpenMaxCalls: 3, halfOpenProbeTimeoutMs: 25 } },
  { label: 'no timeout + slow calls, 4 trials', options: { ...common, slowCallDurationMs: 15, halfOpenMaxCalls: 4 } },
];

interface Coverage {
  states: Set<CircuitState>;
  calls: number;
  outcomes: Record<Outcome, number>;
  staleOutcomes: number;
  aborted: number;
  lateResults: number;
  viaExecuteSync: number;
}

async function runSeed(seed: number, spy: RejectionSpy, coverage: Coverage): Promise<void> {
  const variant = VARIANTS[seed % VARIANTS.length]!;
  const rng = new Rng(seed * 7919 + 17);
  const clock = new ManualClock(1_000);
  const breaker = new CircuitBreaker({ name: 'stress', clock, ...variant.options });
  const maxTrials = breaker.options.halfOpenMaxCalls;
  const probeTimeoutMs = breaker.options.halfOpenProbeTimeoutMs;
  const baseTimeout = breaker.options.timeoutMs;

  let epoch = 0;
  const log: LogEntry[] = [];
  const states = new Set<CircuitState>(['closed']);

  breaker.onStateChange((e) => {
    epoch++;
    states.add(e.to);
    if (e.to === 'closed' && (e.from === 'half_open' || e.reason === 'manual_reset')) log.push({ t: 'clear' });
  });
  breaker.onCall((e) => {
    log.push({ t: 'call', kind: e.kind, error: e.error, state: breaker.state, epoch, stale: e.stale });
  });

  const calls: Call[] = [];
  let settledThisStep: Call[] = [];
  /** Recorded window outcomes since the last clear: true = failure. */
  let window: boolean[] = [];
  const expected = { successfulCalls: 0, failedCalls: 0, ignoredCalls: 0, timeoutCalls: 0, notPermittedCalls: 0 };
  let unrecordedInDisabled = 0;
  let disposed = false;
  let trace: string[] = [];

  const fail = (step: number | string, what: string): never => {
    throw new Error(`seed ${seed} (${variant.label}) step ${step}: ${what}\nlast steps:\n${trace.slice(-25).join('\n')}`);
  };

  const observe = (call: Call, value: unknown, error: unknown, rejected: boolean): void => {
    if (call.status === 'settled') fail('-', `call #${call.id} settled twice`);
    call.status = 'settled';
    settledThisStep.push(call);
    if (!rejected) {
      if (value !== `v#${call.id}`) fail('-', `call #${call.id} resolved with ${String(value)}, not its own value`);
      call.outcome = 'success';
      return;
    }
    call.error = error;
    if (error === call.failError) call.outcome = 'failure';
    else if (error === call.ignoreError) call.outcome = 'ignored';
    else if (error instanceof CircuitBreakerTimeoutError) call.outcome = 'timeout';
    else if (error instanceof CircuitOpenError) call.outcome = 'not_permitted';
    else fail('-', `call #${call.id} rejected with an unexpected error: ${String(error)}`);
  };

  const newCall = (async: boolean): Call => {
    const id = calls.length;
    const call: Call = {
      id,
      async,
      ran: false,
      admittedIn: undefined,
      epoch: -1,
      startedAt: Number.NaN,
      trial: false,
      deferred: undefined,
      delivered: false,
      signal: undefined,
      status: 'pending',
      outcome: undefined,
      error: undefined,
      failError: new Error(`failure #${id}`),
      ignoreError: new IgnoredError(`ignored #${id}`),
      attributed: false,
    };
    calls.push(call);
    return call;
  };

  /** Inside fn: the permit is taken; the state now is the one it was issued under. */
  const admitted = (call: Call): void => {
    call.ran = true;
    call.admittedIn = breaker.state;
    call.epoch = epoch;
    call.startedAt = clock.now();
    call.trial = call.admittedIn === 'half_open';
  };

  const follow = (call: Call, result: unknown): void => {
    if (result instanceof Promise) {
      result.then(
        (value: unknown) => observe(call, value, undefined, false),
        (error: unknown) => observe(call, undefined, error, true),
      );
    } else {
      observe(call, result, undefined, false);
    }
  };

  const startAsync = (): Call => {
    const call = newCall(true);
    const d = deferred<string>();
    call.deferred = d;
    const withSignal = rng.chance(0.5);
    const asyncFn = rng.chance(0.3);
    let fn: (signal?: AbortSignal) => Promise<string>;
    if (withSignal) {
      fn = (signal?: AbortSignal): Promise<string> => {
        admitted(call);
        call.signal = signal;
        signal?.addEventListener('abort', () => {
          // a well-behaved dependency stops its work: its (late) rejection must be ignored
          call.delivered = true;
          d.reject(signal.reason);
        });
        return d.promise;
      };
    } else if (asyncFn) {
      fn = async (): Promise<string> => {
        admitted(call);
        return d.promise;
      };
    } else {
      fn = (): Promise<string> => {
        admitted(call);
        return d.promise;
      };
    }
    let result: unknown;
    // executeSync keeps an async fn's shape: the tracked promise when admitted, a synchronous
    // CircuitOpenError when not (the Nest layer's entry for methods of unknown shape).
    const viaSync = rng.chance(0.5);
    if (viaSync) coverage.viaExecuteSync++;
    try {
      result = viaSync ? breaker.executeSync(fn) : breaker.execute(fn);
    } catch (error) {
      if (viaSync && error instanceof CircuitOpenError && !call.ran) {
        observe(call, undefined, error, true);
        return call;
      }
      return fail('-', `an async call threw synchronously: ${String(error)}`);
    }
    if (!(result instanceof Promise)) fail('-', `an async call returned ${String(result)}, not a promise`);
    follow(call, result);
    return call;
  };

  const syncCall = (): Call => {
    const call = newCall(false);
    const outcome = rng.pick(['success', 'success', 'failure', 'ignored'] as const);
    const fn = (): string => {
      admitted(call);
      if (outcome === 'failure') throw call.failError;
      if (outcome === 'ignored') throw call.ignoreError;
      return `v#${call.id}`;
    };
    // executeSync keeps a sync fn sync (it throws when open); execute always answers a promise.
    const viaSync = rng.chance(0.5);
    if (viaSync) coverage.viaExecuteSync++;
    let result: unknown;
    try {
      result = viaSync ? breaker.executeSync(fn) : breaker.execute(fn);
    } catch (error) {
      if (!viaSync) fail('-', `execute() threw synchronously for sync call #${call.id}: ${String(error)}`);
      observe(call, undefined, error, true);
      return call;
    }
    if ((result instanceof Promise) !== !viaSync) fail('-', `sync call #${call.id} through ${viaSync ? 'executeSync' : 'execute'} returned ${String(result)}`);
    follow(call, result);
    return call;
  };

  const settleOne = (): string => {
    const open = calls.filter((c) => c.async && c.ran && !c.delivered);
    if (open.length === 0) return 'settle: none pending';
    const call = rng.pick(open);
    const d = call.deferred!;
    call.delivered = true;
    if (call.status === 'settled') coverage.lateResults++;
    const r = rng.next();
    if (r < 0.55) {
      d.resolve(`v#${call.id}`);
      return `settle #${call.id} success${call.status === 'settled' ? ' (late)' : ''}`;
    }
    if (r < 0.85) {
      d.reject(call.failError);
      return `settle #${call.id} failure${call.status === 'settled' ? ' (late)' : ''}`;
    }
    d.reject(call.ignoreError);
    return `settle #${call.id} ignored${call.status === 'settled' ? ' (late)' : ''}`;
  };

  const inFlightTrials = (): Call[] => calls.filter((c) => c.trial && c.epoch === epoch && c.status === 'pending');

  /** Attributes this step's call events to callers and updates our own books. */
  const account = (step: number): void => {
    const successes = settledThisStep.filter((c) => c.outcome === 'success');
    let successIndex = 0;
    for (const entry of log) {
      if (entry.t === 'clear') {
        window = [];
        continue;
      }
      if (entry.kind === 'not_permitted') {
        if (!(entry.error instanceof CircuitOpenError)) fail(step, 'a not_permitted event without CircuitOpenError');
        continue;
      }
      const call =
        entry.kind === 'success'
          ? successes[successIndex++]
          : settledThisStep.find((c) => !c.attributed && c.error === entry.error && c.error !== undefined);
      if (call === undefined) return fail(step, `a ${entry.kind} event matches no caller that settled in this step`);
      if (call.attributed) fail(step, `call #${call.id} produced two outcome events`);
      call.attributed = true;
      if (entry.kind !== call.outcome) fail(step, `call #${call.id}: event ${entry.kind}, caller saw ${call.outcome}`);
      const stale = call.epoch !== entry.epoch;
      if (stale) coverage.staleOutcomes++;
      if (entry.stale !== stale) fail(step, `call #${call.id}: event stale=${entry.stale}, ours ${stale} (admitted in epoch ${call.epoch}, settled in ${entry.epoch})`);
      if (!stale && entry.kind !== 'ignored' && (entry.state === 'closed' || entry.state === 'metrics_only')) {
        window.push(entry.kind === 'failure' || entry.kind === 'timeout');
      }
    }
    log.length = 0;
    for (const call of settledThisStep) {
      coverage.outcomes[call.outcome!]++;
      if (call.signal?.aborted === true) coverage.aborted++;
      if (call.outcome === 'not_permitted') {
        if (call.ran) fail(step, `call #${call.id} ran but was rejected with CircuitOpenError`);
        expected.notPermittedCalls++;
        continue;
      }
      if (!call.ran) fail(step, `call #${call.id} never ran but ended ${call.outcome}`);
      if (!call.attributed) {
        // docs/behaviour.md: `disable()` "admits everything and records nothing"
        if (call.admittedIn !== 'disabled' || call.epoch !== epoch) {
          fail(step, `call #${call.id} (admitted in ${call.admittedIn}) ended ${call.outcome} but the breaker recorded no outcome`);
        }
        unrecordedInDisabled++;
        continue;
      }
      if (call.outcome === 'success') expected.successfulCalls++;
      else if (call.outcome === 'failure') expected.failedCalls++;
      else if (call.outcome === 'ignored') expected.ignoredCalls++;
      else expected.timeoutCalls++;
      if (call.signal !== undefined) {
        if (call.outcome === 'timeout' && (!call.signal.aborted || call.signal.reason !== call.error)) {
          fail(step, `call #${call.id} timed out but its signal was not aborted with the timeout error`);
        }
        if (call.outcome !== 'timeout' && call.signal.aborted) fail(step, `call #${call.id} settled in time but its signal aborted`);
      }
    }
    settledThisStep = [];
  };

  const checkInvariants = (step: number): void => {
    const snapshot = breaker.snapshot();
    const state = breaker.state;
    if (state === 'half_open') {
      const inFlight = inFlightTrials();
      const reported = snapshot.halfOpenCallsInFlight ?? -1;
      if (reported > maxTrials) fail(step, `${reported} trials in flight > halfOpenMaxCalls ${maxTrials}`);
      if (reported !== inFlight.length) fail(step, `halfOpenCallsInFlight ${reported}, our count ${inFlight.length}`);
      if (!disposed) {
        for (const trial of inFlight) {
          if (clock.now() - trial.startedAt >= probeTimeoutMs) fail(step, `trial #${trial.id} unsettled past the probe timeout pins half_open`);
        }
      }
    } else if (snapshot.halfOpenCallsInFlight !== undefined) {
      fail(step, `halfOpenCallsInFlight reported in ${state}`);
    }
    const recent = window.slice(-WINDOW_SIZE);
    if (snapshot.calls !== recent.length) fail(step, `snapshot().calls ${snapshot.calls}, our count ${recent.length}`);
    const failures = recent.filter(Boolean).length;
    if (snapshot.failures !== failures) fail(step, `snapshot().failures ${snapshot.failures}, our count ${failures}`);
    const totals = breaker.totals();
    for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
      if (totals[key] !== expected[key]) fail(step, `totals().${key} ${totals[key]}, expected ${expected[key]}`);
    }
    const settled = calls.filter((c) => c.status === 'settled').length;
    const pendingCalls = calls.filter((c) => c.status === 'pending');
    if (pendingCalls.some((c) => !c.async)) fail(step, 'a sync call is still pending');
    const ended = totals.successfulCalls + totals.failedCalls + totals.ignoredCalls + totals.timeoutCalls + totals.notPermittedCalls;
    if (ended + unrecordedInDisabled !== settled) fail(step, `totals end ${ended} calls (+${unrecordedInDisabled} in disabled), callers saw ${settled} end`);
    if (disposed) checkTimersAfterDispose(step);
  };

  /** Calls in flight keep their deadline after dispose(); nothing else stays armed. */
  const checkTimersAfterDispose = (step: number | string): void => {
    const timedInFlight = baseTimeout !== undefined && calls.some((c) => c.status === 'pending' && c.async && c.ran);
    const allowed = timedInFlight ? 1 : 0;
    if (clock.pendingTimers > allowed) fail(step, `${clock.pendingTimers} timer(s) pending after dispose() with ${timedInFlight ? 'timed calls' : 'no timed call'} in flight`);
  };

  const MANUAL_STATES: readonly CircuitState[] = ['forced_open', 'disabled', 'metrics_only'];
  let shortTimeout = false;

  const step = async (i: number): Promise<void> => {
    let note: string;
    const state = breaker.state;
    const r = rng.next();
    if (MANUAL_STATES.includes(state) && rng.chance(0.06)) {
      breaker.reset();
      if (state === 'closed') epoch++;
      note = 'reset()';
    } else if (r < 0.28) {
      const call = startAsync();
      note = `start async #${call.id} ${call.ran ? 'admitted' : 'rejected'} in ${call.admittedIn ?? state}`;
    } else if (r < 0.43) {
      const call = syncCall();
      note = `sync #${call.id} ${call.ran ? 'ran' : 'rejected'} in ${call.admittedIn ?? state}`;
    } else if (r < 0.73) {
      note = settleOne();
    } else if (r < 0.95) {
      const ms = rng.chance(0.7) ? rng.int(0, 12) : rng.int(10, 80);
      clock.advance(ms);
      note = `advance ${ms}`;
    } else if (r < 0.97 && baseTimeout !== undefined) {
      shortTimeout = !shortTimeout;
      breaker.reconfigure({ timeoutMs: shortTimeout ? Math.max(1, Math.floor(baseTimeout / 3)) : baseTimeout });
      note = `reconfigure timeoutMs ${breaker.options.timeoutMs}`;
    } else {
      const action = rng.pick(['forceOpen', 'disable', 'metricsOnly', 'reset'] as const);
      if (action === 'reset' && state === 'closed') epoch++; // reset() in closed: calls in flight become stale
      breaker[action]();
      note = `${action}()`;
    }
    await flush(8);
    trace.push(`  ${i}: ${note} -> ${breaker.state} @${clock.now()}`);
    account(i);
    checkInvariants(i);
    // half_open with every trial settled or expired: the next call must be admitted
    if (breaker.state === 'half_open' && breaker.snapshot().halfOpenCallsInFlight === 0) {
      const probe = startAsync();
      await flush(8);
      trace.push(`  ${i}: probe call #${probe.id} ${probe.ran ? 'admitted' : 'REJECTED'} -> ${breaker.state}`);
      if (!probe.ran) fail(i, 'half_open with zero trials in flight rejected the next call (stuck)');
      account(i);
      checkInvariants(i);
    }
    if (trace.length > 200) trace = trace.slice(-50);
  };

  try {
    for (let i = 0; i < STEPS; i++) {
      await step(i);
      if (i % 250 === 0) await turn();
    }
    breaker.dispose();
    disposed = true;
    trace.push('  dispose()');
    checkTimersAfterDispose('dispose');
    for (let i = STEPS; i < STEPS + POST_DISPOSE_STEPS; i++) await step(i);
    // drain: every call still running gets its result; then every started call has ended
    // (one at a time: a success event carries no value, so successes are matched to callers by step)
    for (const call of calls) {
      if (call.async && call.ran && !call.delivered) {
        call.delivered = true;
        call.deferred!.resolve(`v#${call.id}`);
        await flush(8);
        account(-1);
        checkInvariants(-1);
      }
    }
    const stillPending = calls.filter((c) => c.status === 'pending');
    if (stillPending.length > 0) fail('drain', `calls never settled: ${stillPending.map((c) => `#${c.id}`).join(', ')}`);
    await turn();
    await turn();
    if (spy.seen.length > 0) fail('end', `unhandled rejection(s): ${spy.seen.map(String).join('; ')}`);
    expect(clock.pendingTimers).toBe(0);
    for (const s of states) coverage.states.add(s);
    coverage.calls += calls.length;
  } finally {
    breaker.dispose();
  }
}

describe('one breaker under thousands of interleaved calls (seeded stress)', () => {
  let spy: RejectionSpy;
  beforeEach(() => {
    spy = spyOnUnhandledRejections();
  });
  afterEach(() => spy.stop());

  it(`keeps every invariant after each of ${SEEDS} x ${STEPS + POST_DISPOSE_STEPS} steps (${SEEDS} seeds over ${VARIANTS.length} option sets, ${POST_DISPOSE_STEPS} steps after dispose each)`, async () => {
    const coverage: Coverage = {
      states: new Set<CircuitState>(),
      calls: 0,
      outcomes: { success: 0, failure: 0, ignored: 0, timeout: 0, not_permitted: 0 },
      staleOutcomes: 0,
      aborted: 0,
      lateResults: 0,
      viaExecuteSync: 0,
    };
    for (let seed = 1; seed <= SEEDS; seed++) await runSeed(seed, spy, coverage);
    // the run really went through every state and every kind of outcome, with thousands of calls
    expect([...coverage.states].sort()).toEqual(['closed', 'disabled', 'forced_open', 'half_open', 'metrics_only', 'open']);
    expect(coverage.calls).toBeGreaterThan(10_000);
    for (const [kind, count] of Object.entries(coverage.outcomes)) expect([kind, count > 100]).toEqual([kind, true]);
    expect(coverage.staleOutcomes).toBeGreaterThan(100);
    expect(coverage.aborted).toBeGreaterThan(50);
    expect(coverage.lateResults).toBeGreaterThan(50);
    expect(coverage.viaExecuteSync).toBeGreaterThan(1_000);
    expect(spy.seen).toEqual([]);
  }, 60_000);

  it('the unhandled-rejection spy does see a rejection nobody handles (the spy itself works)', async () => {
    // Jest also fails a test on an unhandled rejection, so this one is handled right after Node reports it.
    const rejected = Promise.reject(new Error('deliberately unhandled'));
    await turn();
    await turn();
    rejected.catch(() => undefined);
    await turn(); // Node emits 'rejectionHandled'; Jest then withdraws the failure it had noted
    await turn();
    expect(spy.seen).toHaveLength(1);
    expect(String(spy.seen[0])).toContain('deliberately unhandled');
  });
});
