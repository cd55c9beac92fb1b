/**
 * Model-based property test of the core state machine.
 *
 * INVARIANT. For any valid options (count or time window, rate / minimum / consecutive-failure
 * rules, slow-call tracking, open duration with or without backoff, half-open limits and probe
 * timeout) and any sequence of
 *   - call starts (each call stays pending until the test settles it),
 *   - settlements of any pending call, in any order (success, failure, or an error that
 *     `isFailure` ignores; after some elapsed time, so calls can be slow), including calls that
 *     started under an earlier state and settle after a transition,
 *   - clock advances (a ManualClock: due timers, such as the probe timeout, fire on the way),
 *   - manual control (forceOpen, disable, metricsOnly, reset),
 * the real `CircuitBreaker` and the reference model below agree after EVERY step on:
 *   - whether a started call was admitted (fn ran) or rejected with `CircuitOpenError`, and on the
 *     rejection's `retryAfterMs`;
 *   - the outcome the caller sees (its own value or its own error);
 *   - `breaker.state`;
 *   - `snapshot()`: calls, failures, slowCalls, consecutiveFailures, notPermittedCalls,
 *     retryAfterMs, wouldTrip; and `totals().openings`.
 *
 * The model is written from docs/behaviour.md (the behaviour contract: states, trip rules, half-open
 * trials, stale outcomes, manual control, precise points), not from lib/core/circuit-breaker.ts.
 * Each reading the model makes is stated next to the code that makes it (search for "READING") and
 * written down in docs/behaviour.md.
 */
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { CircuitBreaker, CircuitOpenError, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerOptions, CircuitState } from '../../lib/index.js';

const NUM_RUNS = 5000;
const MAX_COMMANDS = 60;

/** setTimeout's largest delay; options.ts caps the default backoff maxMs there. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * READING: docs/behaviour.md ("Half-open trials"): a failed trial re-opens the circuit, and so does
 * a slow one when slow calls are tracked (reason 'trial_slow'). Set this to false for the other
 * reading (a slow success is a success) to see the model and the engine disagree.
 */
const SLOW_TRIAL_REOPENS = true;

// ------------------------------------------------------------------------------ generated input

type Outcome = 'success' | 'failure' | 'ignored';

type Command =
  | { readonly t: 'start' }
  | { readonly t: 'settle'; readonly pick: number; readonly outcome: Outcome; readonly delayMs: number }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'forceOpen' }
  | { readonly t: 'disable' }
  | { readonly t: 'metricsOnly' }
  | { readonly t: 'reset' };

interface Config {
  readonly window: { readonly type: 'count'; readonly size: number } | { readonly type: 'time'; readonly durationMs: number; readonly buckets: number };
  readonly failureRateThreshold: number;
  readonly minimumCalls: number;
  readonly minimumFailures: number | undefined;
  readonly consecutiveFailureThreshold: number | undefined;
  readonly slowCallDurationMs: number | undefined;
  readonly slowCallRateThreshold: number | undefined;
  readonly openDurationMs: number;
  readonly backoff: { readonly multiplier: number | undefined; readonly maxMs: number | undefined } | undefined;
  readonly halfOpenMaxCalls: number;
  readonly halfOpenProbeTimeoutMs: number | undefined;
  readonly startMs: number;
}

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

const windowArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .integer({ min: 1, max: 20 })
      .chain((size) => fc.tuple(fc.constant({ type: 'count' as const, size }), fc.integer({ min: 1, max: size }))),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ buckets: fc.integer({ min: 1, max: 5 }), bucketMs: fc.integer({ min: 1, max: 40 }) })
      .chain(({ buckets, bucketMs }) =>
        fc.tuple(fc.constant({ type: 'time' as const, durationMs: buckets * bucketMs, buckets }), fc.integer({ min: 1, max: 10 })),
      ),
  },
);

const configArb: fc.Arbitrary<Config> = fc
  .record({
    windowAndMinimum: windowArb,
    failureRateThreshold: fc.integer({ min: 1, max: 100 }),
    minimumFailures: opt(fc.integer({ min: 1, max: 5 })),
    consecutiveFailureThreshold: opt(fc.integer({ min: 1, max: 6 })),
    slow: opt(fc.record({ durationMs: fc.integer({ min: 1, max: 40 }), rate: opt(fc.integer({ min: 1, max: 100 })) })),
    openDurationMs: fc.integer({ min: 1, max: 100 }),
    backoff: opt(fc.record({ multiplier: opt(fc.constantFrom(1, 1.5, 2, 3)), maxFactor: opt(fc.integer({ min: 1, max: 20 })) })),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 4 }),
    halfOpenProbeTimeoutMs: opt(fc.integer({ min: 1, max: 100 })),
    startMs: fc.integer({ min: 0, max: 10_000 }),
  })
  .map((r) => ({
    window: r.windowAndMinimum[0],
    minimumCalls: r.windowAndMinimum[1],
    failureRateThreshold: r.failureRateThreshold,
    // a count window holds at most `size` failures: a higher minimumFailures is a configuration error
    minimumFailures: r.minimumFailures === undefined || r.windowAndMinimum[0].type === 'time' ? r.minimumFailures : Math.min(r.minimumFailures, r.windowAndMinimum[0].size),
    consecutiveFailureThreshold: r.consecutiveFailureThreshold,
    slowCallDurationMs: r.slow?.durationMs,
    slowCallRateThreshold: r.slow?.rate,
    openDurationMs: r.openDurationMs,
    backoff:
      r.backoff === undefined
        ? undefined
        : { multiplier: r.backoff.multiplier, maxMs: r.backoff.maxFactor === undefined ? undefined : r.backoff.maxFactor * r.openDurationMs },
    halfOpenMaxCalls: r.halfOpenMaxCalls,
    halfOpenProbeTimeoutMs: r.halfOpenProbeTimeoutMs,
    startMs: r.startMs,
  }));

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 16, arbitrary: fc.constant({ t: 'start' as const }) },
  {
    weight: 16,
    arbitrary: fc.record({
      t: fc.constant('settle' as const),
      pick: fc.nat({ max: 7 }),
      outcome: fc.oneof(
        { weight: 3, arbitrary: fc.constant<Outcome>('success') },
        { weight: 2, arbitrary: fc.constant<Outcome>('failure') },
        { weight: 1, arbitrary: fc.constant<Outcome>('ignored') },
      ),
      delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 })),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      // quarter milliseconds (exact in binary) exercise the rounding up of retryAfterMs
      ms: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 40 }).map((q) => q / 4)),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Command>({ t: 'forceOpen' }, { t: 'disable' }, { t: 'metricsOnly' }, { t: 'reset' }) },
);

// ------------------------------------------------------------------------------ reference model

interface ModelCall {
  /** The state epoch the call was admitted under; any state change starts a new epoch. */
  readonly epoch: number;
  readonly startedAt: number;
  readonly trial: boolean;
}

interface Recorded {
  readonly failure: boolean;
  readonly slow: boolean;
  /** Time slice the outcome fell in (time window only). */
  readonly slice: number;
}

type Admission = { readonly admitted: true; readonly call: ModelCall } | { readonly admitted: false; readonly retryAfterMs: number | undefined };

class BreakerModel {
  state: CircuitState = 'closed';
  now: number;
  notPermitted = 0;
  openings = 0;
  private epoch = 0;
  private recorded: Recorded[] = [];
  private consecutive = 0;
  /** Openings since the circuit last closed (the k of the backoff). */
  private streak = 0;
  private openUntil = 0;
  private trials: ModelCall[] = [];
  private trialSuccesses = 0;

  private readonly probeTimeoutMs: number;
  private readonly slowRateThreshold: number;
  private readonly minimumFailures: number;

  constructor(private readonly cfg: Config) {
    this.now = cfg.startMs;
    // The documented option defaults (docs/options.md).
    this.probeTimeoutMs = cfg.halfOpenProbeTimeoutMs ?? 60_000; // the default without timeoutMs (never openDurationMs)
    this.slowRateThreshold = cfg.slowCallRateThreshold ?? 100;
    this.minimumFailures = cfg.minimumFailures ?? 1;
  }

  // --- the window

  private slice(at: number): number {
    const w = this.cfg.window;
    return w.type === 'time' ? Math.floor(at / (w.durationMs / w.buckets)) : 0;
  }

  /** The outcomes still in the window at `now`. */
  private live(): Recorded[] {
    const w = this.cfg.window;
    if (w.type === 'count') return this.recorded.slice(-w.size);
    // An outcome leaves when its whole slice has aged out (resolution: one slice).
    const current = this.slice(this.now);
    this.recorded = this.recorded.filter((r) => current - r.slice < w.buckets);
    return this.recorded;
  }

  windowCounts(): { calls: number; failures: number; slowCalls: number } {
    const live = this.live();
    return { calls: live.length, failures: live.filter((r) => r.failure).length, slowCalls: live.filter((r) => r.slow).length };
  }

  private tripRuleHolds(): boolean {
    const { calls, failures, slowCalls } = this.windowCounts();
    const cfg = this.cfg;
    if (calls >= cfg.minimumCalls) {
      // rates in percent, compared exactly: failures / calls * 100 >= threshold
      if (failures >= this.minimumFailures && failures * 100 >= cfg.failureRateThreshold * calls) return true;
      if (cfg.slowCallDurationMs !== undefined && slowCalls * 100 >= this.slowRateThreshold * calls) return true;
    }
    return cfg.consecutiveFailureThreshold !== undefined && this.consecutive >= cfg.consecutiveFailureThreshold;
  }

  // --- transitions

  private moveTo(state: CircuitState): void {
    this.state = state;
    this.epoch++; // every call admitted before this point is now stale
    this.trials = [];
  }

  private open(at: number): void {
    this.moveTo('open');
    this.openings++;
    // READING: an opening ends the run of consecutive failures (the circuit acted on it); the
    // window, by contrast, is kept (docs/behaviour.md: only reset() and a close from half_open clear it).
    this.consecutive = 0;
    this.streak++;
    this.openUntil = at + this.openDuration(this.streak);
  }

  /** docs/behaviour.md, precise points, "Backoff": the k-th consecutive opening waits min(openDurationMs * multiplier^(k-1), maxMs); jitter is 0 here. */
  private openDuration(k: number): number {
    const cfg = this.cfg;
    if (cfg.backoff === undefined) return cfg.openDurationMs;
    const multiplier = cfg.backoff.multiplier ?? 2;
    const maxMs = cfg.backoff.maxMs ?? Math.min(cfg.openDurationMs * 10, MAX_TIMER_MS);
    return Math.min(cfg.openDurationMs * Math.pow(multiplier, k - 1), maxMs);
  }

  private close(): void {
    this.moveTo('closed');
    this.clearHistory();
  }

  private clearHistory(): void {
    this.recorded = [];
    this.consecutive = 0;
    this.streak = 0;
  }

  private oldestTrialStart(): number {
    return Math.min(...this.trials.map((t) => t.startedAt));
  }

  // --- commands

  /** Time passes; a trial unsettled for halfOpenProbeTimeoutMs fails (re-opens) at its due time. */
  advance(ms: number): void {
    const target = this.now + ms;
    if (this.state === 'half_open' && this.trials.length > 0) {
      const due = this.oldestTrialStart() + this.probeTimeoutMs;
      if (due <= target) {
        this.now = due;
        this.open(due);
      }
    }
    this.now = target;
  }

  start(): Admission {
    switch (this.state) {
      case 'closed':
      case 'disabled':
      case 'metrics_only':
        return { admitted: true, call: { epoch: this.epoch, startedAt: this.now, trial: false } };
      case 'forced_open':
        return this.reject(undefined);
      case 'open':
        if (this.now < this.openUntil) return this.reject(Math.ceil(this.openUntil - this.now));
        // lazily: the first call after the open duration moves to half_open and is a trial
        this.moveTo('half_open');
        this.trialSuccesses = 0;
        return this.start();
      case 'half_open': {
        if (this.trials.length > 0 && this.now - this.oldestTrialStart() >= this.probeTimeoutMs) {
          this.open(this.now); // "checked at the latest at the next admission"
          return this.start();
        }
        if (this.trials.length < this.cfg.halfOpenMaxCalls) {
          const call: ModelCall = { epoch: this.epoch, startedAt: this.now, trial: true };
          this.trials.push(call);
          return { admitted: true, call };
        }
        return this.reject(Math.ceil(this.oldestTrialStart() + this.probeTimeoutMs - this.now));
      }
    }
  }

  private reject(retryAfterMs: number | undefined): Admission {
    this.notPermitted++;
    return { admitted: false, retryAfterMs };
  }

  settle(call: ModelCall, outcome: Outcome): void {
    // "A call that started under an earlier state and finishes after a transition does not count."
    if (call.epoch !== this.epoch) return;
    // READING: any counted call (success or failure) lasting at least slowCallDurationMs is slow.
    const slow = outcome !== 'ignored' && this.cfg.slowCallDurationMs !== undefined && this.now - call.startedAt >= this.cfg.slowCallDurationMs;

    if (this.state === 'half_open') {
      // READING: trials are judged as trials only; they are not written into the sliding window.
      this.trials = this.trials.filter((t) => t !== call);
      if (outcome === 'ignored') return; // permit returned, the trial does not count
      if (outcome === 'failure' || (slow && SLOW_TRIAL_REOPENS)) {
        this.open(this.now);
        return;
      }
      if (++this.trialSuccesses >= this.cfg.halfOpenMaxCalls) this.close();
      return;
    }
    // Ignored calls are outside the window and do not touch the run of consecutive failures.
    if (outcome === 'ignored' || this.state === 'disabled') return;
    if (this.state !== 'closed' && this.state !== 'metrics_only') return;

    this.live();
    this.recorded.push({ failure: outcome === 'failure', slow, slice: this.slice(this.now) });
    this.consecutive = outcome === 'failure' ? this.consecutive + 1 : 0;
    // READING: the trip rules are checked whenever a call is recorded (success or failure).
    if (this.state === 'closed' && this.tripRuleHolds()) this.open(this.now);
  }

  // READING: forceOpen/disable/metricsOnly naming the current state are not transitions (calls in
  // flight still count). reset() is always a fresh start: even in closed, calls in flight belong to
  // the window it empties, so their outcomes become stale.
  forceOpen(): void {
    if (this.state !== 'forced_open') this.moveTo('forced_open');
  }

  disable(): void {
    if (this.state !== 'disabled') this.moveTo('disabled');
  }

  metricsOnly(): void {
    if (this.state !== 'metrics_only') this.moveTo('metrics_only');
  }

  reset(): void {
    this.moveTo('closed');
    this.clearHistory();
  }

  /** docs/behaviour.md: in metrics_only, `snapshot().wouldTrip` is true while a trip rule holds. */
  wouldTrip(): boolean | undefined {
    return this.state === 'metrics_only' ? this.tripRuleHolds() : undefined;
  }

  consecutiveFailures(): number {
    return this.consecutive;
  }

  /** snapshot().retryAfterMs as docs/behaviour.md ("Precise points", `retryAfterMs`) describes it. */
  retryAfterMs(): number | undefined {
    if (this.state === 'open') return Math.max(0, Math.ceil(this.openUntil - this.now));
    if (this.state === 'half_open' && this.trials.length === this.cfg.halfOpenMaxCalls) {
      return Math.max(0, Math.ceil(this.oldestTrialStart() + this.probeTimeoutMs - this.now));
    }
    return undefined;
  }
}

// ------------------------------------------------------------------------------ driver

class IgnoredError extends Error {}

interface Deferred {
  readonly promise: Promise<string>;
  resolve(value: string): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (value: string) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

interface LiveCall {
  readonly id: number;
  readonly deferred: Deferred;
  readonly settled: Promise<Settled>;
  readonly model: ModelCall;
}

function breakerOptions(cfg: Config, clock: ManualClock): CircuitBreakerOptions {
  const options: CircuitBreakerOptions = {
    name: 'model',
    clock,
    slidingWindow: cfg.window.type === 'count' ? { type: 'count', size: cfg.window.size } : { type: 'time', durationMs: cfg.window.durationMs, buckets: cfg.window.buckets },
    failureRateThreshold: cfg.failureRateThreshold,
    minimumCalls: cfg.minimumCalls,
    openDurationMs: cfg.openDurationMs,
    halfOpenMaxCalls: cfg.halfOpenMaxCalls,
    isFailure: (error: unknown) => !(error instanceof IgnoredError),
  };
  if (cfg.minimumFailures !== undefined) options.minimumFailures = cfg.minimumFailures;
  if (cfg.consecutiveFailureThreshold !== undefined) options.consecutiveFailureThreshold = cfg.consecutiveFailureThreshold;
  if (cfg.slowCallDurationMs !== undefined) options.slowCallDurationMs = cfg.slowCallDurationMs;
  if (cfg.slowCallRateThreshold !== undefined) options.slowCallRateThreshold = cfg.slowCallRateThreshold;
  if (cfg.halfOpenProbeTimeoutMs !== undefined) options.halfOpenProbeTimeoutMs = cfg.halfOpenProbeTimeoutMs;
  if (cfg.backoff !== undefined) {
    options.openDurationBackoff = { jitter: 0 };
    if (cfg.backoff.multiplier !== undefined) options.openDurationBackoff.multiplier = cfg.backoff.multiplier;
    if (cfg.backoff.maxMs !== undefined) options.openDurationBackoff.maxMs = cfg.backoff.maxMs;
  }
  return options;
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

async function runScenario(cfg: Config, commands: readonly Command[]): Promise<void> {
  const clock = new ManualClock(cfg.startMs);
  const breaker = new CircuitBreaker(breakerOptions(cfg, clock));
  const model = new BreakerModel(cfg);
  const pending: LiveCall[] = [];
  const trace: string[] = [];
  let nextId = 0;

  const fail = (step: number, what: string): never => {
    throw new Error(`step ${step}: ${what}\ntrace (engine state after each step):\n${trace.join('\n')}`);
  };
  const same = (step: number, what: string, engine: unknown, expected: unknown): void => {
    if (!Object.is(engine, expected)) fail(step, `${what}: engine ${String(engine)}, model ${String(expected)}`);
  };

  try {
    for (let step = 0; step < commands.length; step++) {
      const command = commands[step]!;
      let note = '';
      switch (command.t) {
        case 'start': {
          let ran = false;
          const d = deferred();
          const id = nextId++;
          const promise = breaker.execute(async () => {
            ran = true;
            return d.promise;
          });
          // handled at once: a rejection the model did not expect must fail the case, not crash Node
          const settled = promise.then((value: unknown): Settled => ({ ok: true, value }), (error: unknown): Settled => ({ ok: false, error }));
          const decision = model.start();
          note = `#${id} ${ran ? 'admitted' : 'rejected'}`;
          trace.push(`  ${step}: start ${note} -> ${breaker.state} @${clock.now()}`);
          same(step, `call #${id} admitted`, ran, decision.admitted);
          if (decision.admitted) {
            pending.push({ id, deferred: d, model: decision.call, settled });
          } else {
            const outcome = await settled;
            const error = outcome.ok ? undefined : outcome.error;
            if (!(error instanceof CircuitOpenError)) fail(step, `call #${id} rejected with ${String(error)}, not CircuitOpenError`);
            const open = error as CircuitOpenError;
            same(step, `call #${id} CircuitOpenError.retryAfterMs`, open.retryAfterMs, decision.retryAfterMs);
            same(step, `call #${id} CircuitOpenError.breakerName`, open.breakerName, 'model');
          }
          break;
        }
        case 'settle': {
          if (command.delayMs > 0) {
            clock.advance(command.delayMs);
            model.advance(command.delayMs);
          }
          if (pending.length === 0) {
            trace.push(`  ${step}: settle (nothing pending), +${command.delayMs}ms -> ${breaker.state} @${clock.now()}`);
            break;
          }
          const [call] = pending.splice(command.pick % pending.length, 1);
          const live = call!;
          model.settle(live.model, command.outcome);
          const error = command.outcome === 'failure' ? new Error(`failure #${live.id}`) : new IgnoredError(`ignored #${live.id}`);
          if (command.outcome === 'success') live.deferred.resolve(`value #${live.id}`);
          else live.deferred.reject(error);
          const settled = await live.settled;
          await flushMicrotasks();
          trace.push(`  ${step}: settle #${live.id} ${command.outcome} after +${command.delayMs}ms (started @${live.model.startedAt}) -> ${breaker.state} @${clock.now()}`);
          if (command.outcome === 'success') {
            if (!settled.ok || settled.value !== `value #${live.id}`) fail(step, `call #${live.id} should resolve with its own value`);
          } else if (settled.ok || settled.error !== error) {
            fail(step, `call #${live.id} should reject with its own error`);
          }
          break;
        }
        case 'advance':
          clock.advance(command.ms);
          model.advance(command.ms);
          trace.push(`  ${step}: advance ${command.ms}ms -> ${breaker.state} @${clock.now()}`);
          break;
        case 'forceOpen':
        case 'disable':
        case 'metricsOnly':
        case 'reset':
          breaker[command.t]();
          model[command.t]();
          trace.push(`  ${step}: ${command.t}() -> ${breaker.state} @${clock.now()}`);
          break;
      }

      same(step, 'state', breaker.state, model.state);
      const snapshot = breaker.snapshot();
      const counts = model.windowCounts();
      same(step, 'snapshot().calls', snapshot.calls, counts.calls);
      same(step, 'snapshot().failures', snapshot.failures, counts.failures);
      same(step, 'snapshot().slowCalls', snapshot.slowCalls, counts.slowCalls);
      same(step, 'snapshot().notPermittedCalls', snapshot.notPermittedCalls, model.notPermitted);
      same(step, 'snapshot().retryAfterMs', snapshot.retryAfterMs, model.retryAfterMs());
      same(step, 'snapshot().wouldTrip', snapshot.wouldTrip, model.wouldTrip());
      same(step, 'snapshot().consecutiveFailures', snapshot.consecutiveFailures, model.consecutiveFailures());
      same(step, 'totals().openings', breaker.totals().openings, model.openings);
    }
  } finally {
    breaker.dispose();
  }
}

describe('CircuitBreaker against a reference model (property)', () => {
  it(`agrees with the model on admission, state and snapshot after every step (${NUM_RUNS} generated cases, up to ${MAX_COMMANDS} commands each)`, async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(commandArb, { minLength: 1, maxLength: MAX_COMMANDS, size: 'max' }), async (cfg, commands) => {
        await runScenario(cfg, commands);
      }),
      { numRuns: NUM_RUNS },
    );
  }, 120_000);
});
