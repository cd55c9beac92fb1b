/**
 * Model-based property test: manual control, runtime reconfigure(), open-duration backoff and
 * health-check-driven recovery, interleaved with calls.
 *
 * INVARIANT. For any valid starting options (count window, failure-rate / minimum-calls /
 * consecutive-failure rules, openDurationMs with or without openDurationBackoff {multiplier, maxMs,
 * jitter 0}, halfOpenMaxCalls, with or without halfOpenProbeTimeoutMs, with or without a
 * healthCheck whose answer the test controls, sync or async) and any sequence of
 *   - call starts (pending until settled) and settlements in any order (success, failure, ignored),
 *   - clock advances (ManualClock: probe timeouts and health polls fire on the way),
 *   - manual control (forceOpen, disable, metricsOnly, reset),
 *   - reconfigure() of failureRateThreshold, minimumCalls, consecutiveFailureThreshold,
 *     openDurationMs, halfOpenMaxCalls (valid values, and invalid ones that must throw
 *     CircuitBreakerConfigError and change nothing),
 *   - the health check's answer (sync: the value the next polls return; async: resolving the
 *     pending check, possibly one that a later poll already counted as failed),
 * the engine and the model below agree after EVERY step on: whether a call was admitted (fn ran)
 * or rejected with CircuitOpenError and its retryAfterMs; breaker.state; snapshot().calls,
 * failures, consecutiveFailures, retryAfterMs, halfOpenCallsInFlight; totals().openings; how many
 * times the health check ran; and, after dispose(), that no timer is left.
 *
 * The model follows docs/behaviour.md (states, trip rules, half-open trials, manual control, precise
 * points) and the documented reconfigure() behaviour (docs/engine.md): options are validated first (an invalid value throws and changes
 * nothing); the window is kept when its shape is unchanged; a new openDurationMs applies from the
 * next opening (and moves the default that follows it: backoff maxMs); a
 * new halfOpenMaxCalls in half_open caps the trials in flight (those running keep counting) and
 * the successes that close;
 * nothing trips until the next recorded call. Where it mirrors a documented timing rule of the
 * engine, the rule is cited ("checked at the latest at the next admission").
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitOpenError, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings, CircuitState } from '../../lib/index.js';

const NUM_RUNS = 5_000;
const MAX_COMMANDS = 50;
const MAX_TIMER_MS = 2_147_483_647;

type Outcome = 'success' | 'failure' | 'ignored';

type Reconfig =
  | { readonly key: 'failureRateThreshold'; readonly value: number }
  | { readonly key: 'minimumCalls'; readonly value: number }
  | { readonly key: 'consecutiveFailureThreshold'; readonly value: number | undefined }
  | { readonly key: 'openDurationMs'; readonly value: number }
  | { readonly key: 'halfOpenMaxCalls'; readonly value: number };

type Command =
  | { readonly t: 'start' }
  | { readonly t: 'settle'; readonly pick: number; readonly outcome: Outcome }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'manual'; readonly action: 'forceOpen' | 'disable' | 'metricsOnly' | 'reset' }
  | { readonly t: 'reconfigure'; readonly change: Reconfig }
  | { readonly t: 'health'; readonly healthy: boolean; readonly pick: number };

interface Config {
  readonly size: number;
  readonly minimumCalls: number;
  readonly failureRateThreshold: number;
  readonly consecutiveFailureThreshold: number | undefined;
  readonly openDurationMs: number;
  readonly backoff: { readonly multiplier: number; readonly maxMs: number | undefined } | undefined;
  readonly halfOpenMaxCalls: number;
  readonly halfOpenProbeTimeoutMs: number | undefined;
  readonly health: { readonly mode: 'sync' | 'async'; readonly intervalMs: number } | undefined;
}

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

const configArb: fc.Arbitrary<Config> = fc
  .record({
    size: fc.integer({ min: 1, max: 10 }),
    minFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    failureRateThreshold: fc.integer({ min: 1, max: 100 }),
    consecutiveFailureThreshold: opt(fc.integer({ min: 1, max: 4 })),
    openDurationMs: fc.integer({ min: 1, max: 60 }),
    backoff: opt(fc.record({ multiplier: fc.constantFrom(1, 1.5, 2, 3), maxFactor: opt(fc.integer({ min: 1, max: 8 })) })),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    halfOpenProbeTimeoutMs: opt(fc.integer({ min: 1, max: 60 })),
    health: opt(fc.record({ mode: fc.constantFrom<'sync' | 'async'>('sync', 'async'), intervalMs: fc.integer({ min: 1, max: 40 }) })),
  })
  .map((r) => ({
    size: r.size,
    minimumCalls: 1 + Math.floor(r.minFraction * (r.size - 1)),
    failureRateThreshold: r.failureRateThreshold,
    consecutiveFailureThreshold: r.consecutiveFailureThreshold,
    openDurationMs: r.openDurationMs,
    backoff: r.backoff === undefined ? undefined : { multiplier: r.backoff.multiplier, maxMs: r.backoff.maxFactor === undefined ? undefined : r.backoff.maxFactor * r.openDurationMs },
    halfOpenMaxCalls: r.halfOpenMaxCalls,
    halfOpenProbeTimeoutMs: r.halfOpenProbeTimeoutMs,
    health: r.health,
  }));

const reconfigArb: fc.Arbitrary<Reconfig> = fc.oneof(
  // includes invalid values (0, 101, 0.5): they must throw and change nothing
  fc.record({ key: fc.constant('failureRateThreshold' as const), value: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constantFrom(0, 101)) }),
  fc.record({ key: fc.constant('minimumCalls' as const), value: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ key: fc.constant('consecutiveFailureThreshold' as const), value: opt(fc.integer({ min: 0, max: 4 })) }),
  fc.record({ key: fc.constant('openDurationMs' as const), value: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constant(0)) }),
  fc.record({ key: fc.constant('halfOpenMaxCalls' as const), value: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(0.5)) }),
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ t: 'start' as const }) },
  {
    weight: 12,
    arbitrary: fc.record({
      t: fc.constant('settle' as const),
      pick: fc.nat({ max: 7 }),
      outcome: fc.constantFrom<Outcome>('success', 'success', 'failure', 'failure', 'ignored'),
    }),
  },
  { weight: 9, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 300 })) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('manual' as const), action: fc.constantFrom('forceOpen' as const, 'disable' as const, 'metricsOnly' as const, 'reset' as const, 'reset' as const) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('reconfigure' as const), change: reconfigArb }) },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('health' as const), healthy: fc.boolean(), pick: fc.nat({ max: 3 }) }) },
);

// ------------------------------------------------------------------------------ model

interface ModelCall {
  readonly epoch: number;
  readonly startedAt: number;
  readonly trial: boolean;
}

/** A health check that has been called and not answered yet (async mode). */
interface PendingCheck {
  readonly seq: number;
  readonly epoch: number;
  /** A poll found it still pending: it counts as failed, its answer is ignored. */
  late: boolean;
}

interface Opts {
  failureRateThreshold: number;
  minimumCalls: number;
  consecutiveFailureThreshold: number | undefined;
  openDurationMs: number;
  halfOpenMaxCalls: number;
}

class Model {
  state: CircuitState = 'closed';
  now = 0;
  openings = 0;
  notPermitted = 0;
  checks = 0;
  opts: Opts;
  private epoch = 0;
  private window: boolean[] = [];
  private consecutive = 0;
  private streak = 0;
  private openUntil = 0;
  private trials: ModelCall[] = [];
  private trialSuccesses = 0;
  /** Due time of the armed probe timer (half_open), or undefined. */
  private probeDue: number | undefined;
  private nextPollAt: number | undefined;
  private pollSeq = 0;
  healthy = false;
  pendingChecks: PendingCheck[] = [];
  /** Every async check ever started, in poll order (the engine's checks pair up by index). */
  readonly checkHistory: PendingCheck[] = [];

  constructor(private readonly cfg: Config) {
    this.opts = {
      failureRateThreshold: cfg.failureRateThreshold,
      minimumCalls: cfg.minimumCalls,
      consecutiveFailureThreshold: cfg.consecutiveFailureThreshold,
      openDurationMs: cfg.openDurationMs,
      halfOpenMaxCalls: cfg.halfOpenMaxCalls,
    };
  }

  private get probeTimeoutMs(): number {
    return this.cfg.halfOpenProbeTimeoutMs ?? 60_000; // the default without timeoutMs (never openDurationMs)
  }

  /** Validation the engine must apply to the merged options; returns false when it must throw. */
  valid(change: Reconfig): boolean {
    const next = { ...this.opts, [change.key]: change.value };
    const okInt = (n: number | undefined, min: number, max: number): boolean => n === undefined || (Number.isInteger(n) && n >= min && n <= max);
    if (!(next.failureRateThreshold > 0 && next.failureRateThreshold <= 100)) return false;
    if (!okInt(next.minimumCalls, 1, this.cfg.size)) return false;
    if (!okInt(next.consecutiveFailureThreshold, 1, Number.MAX_SAFE_INTEGER)) return false;
    if (!(next.openDurationMs > 0)) return false;
    if (!okInt(next.halfOpenMaxCalls, 1, 10_000)) return false;
    const maxMs = this.cfg.backoff?.maxMs;
    if (this.cfg.backoff !== undefined && maxMs !== undefined && maxMs < next.openDurationMs) return false; // maxMs >= openDurationMs
    return true;
  }

  reconfigure(change: Reconfig): void {
    // A new halfOpenMaxCalls in half_open: trials in flight keep running and counting; it caps how
    // many run at once and how many successes close.
    this.opts = { ...this.opts, [change.key]: change.value };
  }

  windowCounts(): { calls: number; failures: number } {
    const live = this.window.slice(-this.cfg.size);
    return { calls: live.length, failures: live.filter(Boolean).length };
  }

  private tripRuleHolds(): boolean {
    const { calls, failures } = this.windowCounts();
    const o = this.opts;
    if (calls >= o.minimumCalls && failures >= 1 && failures * 100 >= o.failureRateThreshold * calls) return true;
    return o.consecutiveFailureThreshold !== undefined && this.consecutive >= o.consecutiveFailureThreshold;
  }

  private moveTo(state: CircuitState): void {
    this.state = state;
    this.epoch++;
    this.trials = [];
    this.probeDue = undefined;
    this.nextPollAt = undefined; // leaving open cancels the poll timer; re-opening schedules a new one
  }

  private openDuration(k: number): number {
    const o = this.opts;
    const backoff = this.cfg.backoff;
    if (backoff === undefined) return o.openDurationMs;
    const maxMs = backoff.maxMs ?? Math.min(o.openDurationMs * 10, MAX_TIMER_MS);
    return Math.min(o.openDurationMs * Math.pow(backoff.multiplier, k - 1), maxMs);
  }

  private open(at: number): void {
    this.moveTo('open');
    this.openings++;
    this.consecutive = 0;
    this.streak++;
    this.openUntil = at + this.openDuration(this.streak);
    if (this.cfg.health !== undefined) this.nextPollAt = at + this.cfg.health.intervalMs;
  }

  private toHalfOpen(): void {
    this.moveTo('half_open');
    this.trialSuccesses = 0;
  }

  private close(): void {
    this.moveTo('closed');
    this.window = [];
    this.consecutive = 0;
    this.streak = 0;
  }

  private oldestTrialStart(): number {
    return Math.min(...this.trials.map((t) => t.startedAt));
  }

  /**
   * A health poll at `at` (the due time): the check runs; a sync pass moves to half_open at once.
   * "At most one check in flight; one not settled within intervalMs counts as failed": a poll that
   * finds a check still pending marks it failed and asks nothing.
   */
  private poll(at: number): void {
    this.nextPollAt = at + this.cfg.health!.intervalMs;
    if (this.pendingChecks.length > 0) {
      for (const check of this.pendingChecks) check.late = true;
      return;
    }
    this.checks++;
    const seq = ++this.pollSeq;
    if (this.cfg.health!.mode === 'sync') {
      if (this.healthy) this.toHalfOpen();
    } else {
      const check = { seq, epoch: this.epoch, late: false };
      this.pendingChecks.push(check);
      this.checkHistory.push(check);
    }
  }

  /** Time moves; due timers (probe timeout in half_open, polls in open) fire in time order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const probe = this.state === 'half_open' && this.trials.length > 0 ? this.probeDue : undefined;
      const poll = this.state === 'open' ? this.nextPollAt : undefined;
      if (probe !== undefined && probe <= target && (poll === undefined || probe <= poll)) {
        this.now = probe;
        // the timer re-reads the options: expire, or re-arm for the oldest trial's due time
        if (this.now - this.oldestTrialStart() >= this.probeTimeoutMs) this.open(this.now);
        else this.probeDue = this.oldestTrialStart() + this.probeTimeoutMs;
        continue;
      }
      if (poll !== undefined && poll <= target) {
        this.now = poll;
        this.poll(poll);
        continue;
      }
      break;
    }
    this.now = target;
  }

  answer(check: PendingCheck, healthy: boolean): void {
    this.pendingChecks = this.pendingChecks.filter((c) => c !== check);
    // an answer counts only if it came in time (no poll found it pending), nothing changed since, and the circuit is still open
    if (healthy && !check.late && check.epoch === this.epoch && this.state === 'open') this.toHalfOpen();
  }

  start(): { admitted: true; call: ModelCall } | { admitted: false; retryAfterMs: number | undefined } {
    switch (this.state) {
      case 'closed':
      case 'disabled':
      case 'metrics_only':
        return { admitted: true, call: { epoch: this.epoch, startedAt: this.now, trial: false } };
      case 'forced_open':
        return this.reject(undefined);
      case 'open':
        if (this.cfg.health !== undefined) return this.reject(Math.max(0, Math.ceil(this.nextPollAt! - this.now)));
        if (this.now < this.openUntil) return this.reject(Math.ceil(this.openUntil - this.now));
        this.toHalfOpen();
        return this.start();
      case 'half_open': {
        // "checked at the latest at the next admission"
        if (this.trials.length > 0 && this.now - this.oldestTrialStart() >= this.probeTimeoutMs) {
          this.open(this.now);
          return this.start();
        }
        if (this.trials.length < this.opts.halfOpenMaxCalls) {
          const call: ModelCall = { epoch: this.epoch, startedAt: this.now, trial: true };
          if (this.trials.length === 0) this.probeDue = this.now + this.probeTimeoutMs;
          this.trials.push(call);
          return { admitted: true, call };
        }
        return this.reject(Math.max(0, Math.ceil(this.oldestTrialStart() + this.probeTimeoutMs - this.now)));
      }
    }
  }

  private reject(retryAfterMs: number | undefined): { admitted: false; retryAfterMs: number | undefined } {
    this.notPermitted++;
    return { admitted: false, retryAfterMs };
  }

  settle(call: ModelCall, outcome: Outcome): void {
    if (call.epoch !== this.epoch) return; // stale
    if (this.state === 'half_open') {
      this.trials = this.trials.filter((t) => t !== call);
      if (outcome === 'ignored') return;
      if (outcome === 'failure') this.open(this.now);
      else if (++this.trialSuccesses >= this.opts.halfOpenMaxCalls) this.close();
      return;
    }
    if (outcome === 'ignored' || (this.state !== 'closed' && this.state !== 'metrics_only')) return;
    this.window.push(outcome === 'failure');
    this.consecutive = outcome === 'failure' ? this.consecutive + 1 : 0;
    if (this.state === 'closed' && this.tripRuleHolds()) this.open(this.now);
  }

  manual(action: 'forceOpen' | 'disable' | 'metricsOnly' | 'reset'): void {
    if (action === 'reset') {
      this.moveTo('closed');
      this.window = [];
      this.consecutive = 0;
      this.streak = 0;
      return;
    }
    const to: CircuitState = action === 'forceOpen' ? 'forced_open' : action === 'disable' ? 'disabled' : 'metrics_only';
    if (this.state !== to) this.moveTo(to);
  }

  retryAfterMs(): number | undefined {
    if (this.state === 'open') {
      const until = this.cfg.health !== undefined ? this.nextPollAt! : this.openUntil;
      return Math.max(0, Math.ceil(until - this.now));
    }
    if (this.state === 'half_open' && this.trials.length >= this.opts.halfOpenMaxCalls) {
      return Math.max(0, Math.ceil(this.oldestTrialStart() + this.probeTimeoutMs - this.now));
    }
    return undefined;
  }

  trialsInFlight(): number | undefined {
    return this.state === 'half_open' ? this.trials.length : undefined;
  }

  consecutiveFailures(): number {
    return this.consecutive;
  }
}

// ------------------------------------------------------------------------------ driver

class IgnoredError extends Error {}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) await Promise.resolve();
}

/** What the generated cases exercised, summed over the run (asserted at the end: the test is not vacuous). */
const coverage = {
  reasons: new Map<string, number>(),
  asyncHealthPasses: 0,
  backedOffOpenings: 0,
  reconfigured: new Map<string, number>(),
  rejectedReconfigures: 0,
  lateAnswers: 0,
};
const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);

async function runScenario(cfg: Config, commands: readonly Command[]): Promise<void> {
  const clock = new ManualClock(0);
  const model = new Model(cfg);
  // the engine's async checks, in poll order: the i-th pairs with the model's i-th (checkHistory)
  const engineChecks: Deferred<boolean>[] = [];
  let engineCheckCalls = 0;
  const options: CircuitBreakerOptions = {
    name: 'model',
    clock,
    slidingWindow: { type: 'count', size: cfg.size },
    minimumCalls: cfg.minimumCalls,
    failureRateThreshold: cfg.failureRateThreshold,
    openDurationMs: cfg.openDurationMs,
    halfOpenMaxCalls: cfg.halfOpenMaxCalls,
    isFailure: (error) => !(error instanceof IgnoredError),
  };
  if (cfg.consecutiveFailureThreshold !== undefined) options.consecutiveFailureThreshold = cfg.consecutiveFailureThreshold;
  if (cfg.halfOpenProbeTimeoutMs !== undefined) options.halfOpenProbeTimeoutMs = cfg.halfOpenProbeTimeoutMs;
  if (cfg.backoff !== undefined) {
    options.openDurationBackoff = { multiplier: cfg.backoff.multiplier, jitter: 0 };
    if (cfg.backoff.maxMs !== undefined) options.openDurationBackoff.maxMs = cfg.backoff.maxMs;
  }
  if (cfg.health !== undefined) {
    const health = cfg.health;
    options.healthCheck = {
      intervalMs: health.intervalMs,
      check: () => {
        engineCheckCalls++;
        if (health.mode === 'sync') return model.healthy;
        const answer = deferred<boolean>();
        engineChecks.push(answer);
        return answer.promise;
      },
    };
  }
  const breaker = new CircuitBreaker(options);
  breaker.onStateChange((e) => {
    bump(coverage.reasons, e.reason);
    if (e.reason === 'health_check_passed' && cfg.health?.mode === 'async') coverage.asyncHealthPasses++;
    if (e.to === 'open' && cfg.backoff !== undefined && cfg.backoff.multiplier > 1 && breaker.snapshot().retryAfterMs! > cfg.openDurationMs) {
      coverage.backedOffOpenings++;
    }
  });
  breaker.onInternalError = (error) => {
    throw new Error(`unexpected internal error: ${String(error)}`);
  };
  const pending: { id: number; answer: Deferred<string>; call: ModelCall; settled: Promise<unknown> }[] = [];
  const trace: string[] = [];
  let nextId = 0;

  const fail = (step: number, what: string): never => {
    throw new Error(`step ${step}: ${what}\ntrace:\n${trace.join('\n')}`);
  };
  const same = (step: number, what: string, engine: unknown, expected: unknown): void => {
    if (!Object.is(engine, expected)) fail(step, `${what}: engine ${String(engine)}, model ${String(expected)}`);
  };

  try {
    for (let step = 0; step < commands.length; step++) {
      const c = commands[step]!;
      switch (c.t) {
        case 'start': {
          let ran = false;
          const answer = deferred<string>();
          const id = nextId++;
          // an async fn: an open circuit rejects it with a promise even before any call returned one
          const promise = breaker.execute(async () => {
            ran = true;
            return answer.promise;
          });
          const settled = promise.then(
            (value: unknown) => ({ ok: true, value }),
            (error: unknown) => ({ ok: false, error }),
          );
          const decision = model.start();
          trace.push(`  ${step}: start #${id} ${ran ? 'admitted' : 'rejected'} -> ${breaker.state} @${clock.now()}`);
          same(step, `call #${id} admitted`, ran, decision.admitted);
          if (decision.admitted) {
            pending.push({ id, answer, call: decision.call, settled });
          } else {
            const outcome = (await settled) as { ok: boolean; error?: unknown };
            if (!(outcome.error instanceof CircuitOpenError)) fail(step, `call #${id} rejected with ${String(outcome.error)}`);
            same(step, `call #${id} retryAfterMs`, (outcome.error as CircuitOpenError).retryAfterMs, decision.retryAfterMs);
          }
          break;
        }
        case 'settle': {
          if (pending.length === 0) break;
          const [live] = pending.splice(c.pick % pending.length, 1);
          model.settle(live!.call, c.outcome);
          if (c.outcome === 'success') live!.answer.resolve(`#${live!.id}`);
          else live!.answer.reject(c.outcome === 'failure' ? new Error('failure') : new IgnoredError('ignored'));
          await live!.settled;
          await flush();
          trace.push(`  ${step}: settle #${live!.id} ${c.outcome} -> ${breaker.state} @${clock.now()}`);
          break;
        }
        case 'advance':
          clock.advance(c.ms);
          model.advance(c.ms);
          await flush();
          trace.push(`  ${step}: advance ${c.ms} -> ${breaker.state} @${clock.now()}`);
          break;
        case 'manual':
          breaker[c.action]();
          model.manual(c.action);
          trace.push(`  ${step}: ${c.action}() -> ${breaker.state}`);
          break;
        case 'reconfigure': {
          const settings: CircuitBreakerSettings = { [c.change.key]: c.change.value };
          const ok = model.valid(c.change);
          const before = breaker.options;
          let error: unknown;
          try {
            breaker.reconfigure(settings);
          } catch (e) {
            error = e;
          }
          trace.push(`  ${step}: reconfigure ${JSON.stringify(settings)} ${error === undefined ? 'ok' : 'threw'} -> ${breaker.state}`);
          if (ok) {
            if (error !== undefined) fail(step, `valid reconfigure threw ${String(error)}`);
            model.reconfigure(c.change);
            bump(coverage.reconfigured, c.change.key);
          } else {
            coverage.rejectedReconfigures++;
            if (!(error instanceof CircuitBreakerConfigError)) fail(step, `invalid reconfigure did not throw CircuitBreakerConfigError (${String(error)})`);
            same(step, 'options unchanged after a rejected reconfigure', breaker.options, before);
          }
          break;
        }
        case 'health': {
          if (cfg.health?.mode === 'async') {
            const open = model.checkHistory.map((twin, index) => ({ twin, index })).filter(({ twin }) => model.pendingChecks.includes(twin));
            if (open.length === 0) break;
            const chosen = open[c.pick % open.length]!;
            engineChecks[chosen.index]!.resolve(c.healthy);
            if (chosen.twin.late) coverage.lateAnswers++;
            model.answer(chosen.twin, c.healthy);
            await flush();
            trace.push(`  ${step}: check #${chosen.twin.seq} answers ${c.healthy} -> ${breaker.state}`);
          } else {
            model.healthy = c.healthy;
            trace.push(`  ${step}: health now ${c.healthy}`);
          }
          break;
        }
      }
      same(step, 'state', breaker.state, model.state);
      const s = breaker.snapshot();
      const counts = model.windowCounts();
      same(step, 'snapshot().calls', s.calls, counts.calls);
      same(step, 'snapshot().failures', s.failures, counts.failures);
      same(step, 'snapshot().consecutiveFailures', s.consecutiveFailures, model.consecutiveFailures());
      same(step, 'snapshot().notPermittedCalls', s.notPermittedCalls, model.notPermitted);
      same(step, 'snapshot().retryAfterMs', s.retryAfterMs, model.retryAfterMs());
      same(step, 'snapshot().halfOpenCallsInFlight', s.halfOpenCallsInFlight, model.trialsInFlight());
      same(step, 'totals().openings', breaker.totals().openings, model.openings);
      same(step, 'health checks run', engineCheckCalls, model.checks);
    }
    breaker.dispose();
    same(commands.length, 'timers pending after dispose()', clock.pendingTimers, 0);
  } finally {
    breaker.dispose();
    for (const live of pending) live.answer.resolve('drained');
  }
}

describe('manual control, reconfigure, backoff and health checks against a model (property)', () => {
  it(`agrees with the model on admission, state and snapshot after every step (${NUM_RUNS} generated cases, up to ${MAX_COMMANDS} commands each)`, async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(commandArb, { minLength: 1, maxLength: MAX_COMMANDS, size: 'max' }), async (cfg, commands) => {
        await runScenario(cfg, commands);
      }),
      { numRuns: NUM_RUNS, seed: 20_261_126 },
    );
    for (const reason of ['failure_rate', 'consecutive_failures', 'open_duration_elapsed', 'health_check_passed', 'trial_failed', 'probe_timeout', 'trials_succeeded', 'forced_open', 'disabled', 'metrics_only', 'manual_reset']) {
      expect([reason, (coverage.reasons.get(reason) ?? 0) > 20]).toEqual([reason, true]);
    }
    for (const key of ['failureRateThreshold', 'minimumCalls', 'consecutiveFailureThreshold', 'openDurationMs', 'halfOpenMaxCalls']) {
      expect([key, (coverage.reconfigured.get(key) ?? 0) > 100]).toEqual([key, true]);
    }
    expect(coverage.rejectedReconfigures).toBeGreaterThan(100);
    expect(coverage.asyncHealthPasses).toBeGreaterThan(20);
    expect(coverage.backedOffOpenings).toBeGreaterThan(20);
    expect(coverage.lateAnswers).toBeGreaterThan(20);
  }, 60_000);
});
