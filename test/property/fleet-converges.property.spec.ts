/**
 * Model/property test of fleet-wide state: three breakers of one name sharing one in-memory store
 * (lib/core/fleet/: in-memory-store.ts, store-session.ts, store-link.ts), driven by a ManualClock that is both the breakers'
 * clock and the store's, through random schedules of
 *   - calls on instance i: sync or `async` functions that succeed, fail, or throw an error that
 *     `isFailure` ignores; promise-returning calls settled by a later step (in any order, with any
 *     outcome); calls that hang forever; bursts of one call per instance with a settle after each;
 *   - manual control on instance i (forceOpen, disable, metricsOnly, reset);
 *   - time passing in 10 ms steps, with the store's promises and notifications run after each;
 *   - the store going down (every operation rejects), hanging (no operation answers), coming back;
 *   - store answers that take a round trip (one 10 ms step; a third of the schedules) or come at
 *     the next settle;
 *   - notifications (pub/sub) dropped for a while;
 *   - replies of one kind of store operation (sync, transition, acquireTrial, completeTrial) held
 *     (the store applies the operation, its answer is delayed) and released later, in order or
 *     reversed;
 *   - the store losing its data (`forget`: Redis restarted without persistence).
 * A third of the schedules have no store fault at all (`chaos` 0), so invariant 1 applies for long.
 *
 * INVARIANTS
 *  1. Safety. While the store is up and every instance shares it, at no time do more than
 *     `halfOpenMaxCalls` trial calls run at once across the fleet. A trial is an invocation of fn
 *     admitted while the invoking breaker was half_open; it runs until fn settles or until its
 *     breaker leaves that half_open episode (the breaker counts it no more: probe timeout, re-open,
 *     a fleet state adopted). Counted are the trials admitted while every instance shared the store,
 *     since the last recovery: "an instance that cannot reach Redis runs its own trials" (docs/fleet.md,
 *     Guarantees). A data loss counts as an outage for this: the permits of running trials are lost,
 *     and so are the granted, unused ones (usable for halfOpenProbeTimeoutMs).
 *  2. Isolation. A caller only ever sees its own fn's value or error, or a CircuitOpenError (and
 *     then fn did not run): never a store error. No unhandled rejection, no error thrown out of a
 *     timer (ManualClock.advance would throw into the test), no error reported to
 *     `onInternalError`.
 *  3. Convergence. After the schedule, with the store up, notifications delivered and held replies
 *     released, and 8 sync intervals plus the probe timeout of quiet (no calls): every instance's
 *     state (half_open read as open) equals the store's (`closed` if it holds nothing), every
 *     `snapshot().store` is `shared`, and an open fleet shows one opening (`openedAt`) everywhere (to within a command timeout: the store answers its own clock's times, which each reader places on its clock).
 *  4. Liveness. Then: an open fleet, once the open duration and probe timeout have passed, is closed
 *     on every instance by at most 20 successful calls made round-robin; a manual state (forced_open,
 *     disabled, metrics_only) is closed on every instance by a reset() of one instance.
 *
 * Runs: the shrunk counterexamples found so far (KNOWN_SCHEDULES), then FLEET_RUNS (default 3000,
 * about 3 s) schedules from FLEET_SEED (default fixed), so a failure is reproducible; fast-check prints the shrunk schedule, and the error message has a
 * readable trace. To replay one schedule: FLEET_REPLAY=scenario.json (the counterexample's JSON),
 * with FLEET_TRACE_STORE=1 to see every store operation in the trace. FLEET_STATS=1 prints what
 * the schedules exercised.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CircuitBreaker, CircuitOpenError, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/core/index.js';
import type { CircuitState, StoreLogger } from '../../lib/core/index.js';
import type { SharedState } from '../../lib/store/index.js';

const NUM_RUNS = Number(process.env.FLEET_RUNS ?? 3_000);
const SEED = Number(process.env.FLEET_SEED ?? 20_260_417);
const MAX_STEPS = 60;

const NAME = 'payments';
const FLEET = 3;
const STEP_MS = 10;
const SYNC_MS = 20;
const COMMAND_TIMEOUT_MS = 15; // every store operation answers or times out within one step
const OPEN_MS = 200;
const PROBE_MS = 200;
const QUIET_MS = PROBE_MS + 8 * SYNC_MS;
const LIVENESS_CALLS = 20;

// ------------------------------------------------------------------------------ the store

type Op = 'sync' | 'transition' | 'acquireTrial' | 'completeTrial';
type Mode = 'up' | 'down' | 'hang';

/** The in-memory store, made to fail: down (rejects), hang (never answers), dropped notifications, held replies. */
class FaultyStore extends InMemoryCircuitBreakerStore {
  mode: Mode = 'up';
  deliver = true;
  readonly holding = new Set<Op>();
  held: (() => void)[] = [];
  /** With latency, every answer waits for the next 10 ms step (a round trip, within commandTimeoutMs). */
  latency = false;
  private inFlight: (() => void)[] = [];
  private ops = 0;
  /** Store operations, for the trace (set by FLEET_TRACE_STORE=1). */
  log: ((line: string) => void) | null = null;
  /** Called when the stored state changes (a transition accepted, the last trial success). */
  onWrite: (state: SharedState | undefined) => void = () => {};

  override async sync(...args: Parameters<InMemoryCircuitBreakerStore['sync']>) {
    await this.gate();
    return this.reply('sync', await super.sync(...args));
  }
  override async transition(...args: Parameters<InMemoryCircuitBreakerStore['transition']>) {
    this.log?.(`  transition sent: ${JSON.stringify(args[0])}`);
    await this.gate();
    const before = this.peek(NAME);
    const answer = super.transition(...args); // applied now: the stored state is read before any await
    if (this.peek(NAME) !== before) this.onWrite(this.peek(NAME));
    return this.reply('transition', await answer);
  }
  override async acquireTrial(...args: Parameters<InMemoryCircuitBreakerStore['acquireTrial']>) {
    this.log?.(`  acquireTrial sent: ${JSON.stringify(args[0])}`);
    await this.gate();
    return this.reply('acquireTrial', await super.acquireTrial(...args));
  }
  override async completeTrial(...args: Parameters<InMemoryCircuitBreakerStore['completeTrial']>) {
    this.log?.(`  completeTrial sent: ${JSON.stringify(args)}`);
    await this.gate();
    const before = this.peek(NAME);
    const answer = super.completeTrial(...args);
    if (this.peek(NAME) !== before) this.onWrite(this.peek(NAME));
    return this.reply('completeTrial', await answer);
  }
  override async ping() {
    await this.gate();
    if (this.latency) await new Promise<void>((resolve) => this.inFlight.push(resolve));
  }
  override subscribe(listener: Parameters<InMemoryCircuitBreakerStore['subscribe']>[0]) {
    return super.subscribe((name, state) => {
      if (this.deliver) listener(name, state);
    });
  }
  /** Delivers the answers sent before the last clock step (latency). */
  deliverInFlight(): void {
    const answers = this.inFlight;
    this.inFlight = [];
    answers.forEach((deliver) => deliver());
  }
  releaseHeld(reversed: boolean): void {
    const held = this.held;
    this.held = [];
    this.holding.clear();
    (reversed ? held.reverse() : held).forEach((deliver) => deliver());
  }
  private async reply<T>(op: Op, answer: T): Promise<T> {
    const id = ++this.ops;
    const hold = this.holding.has(op);
    this.log?.(`  store op #${id} ${op} -> ${JSON.stringify(answer)}${hold ? ' (held)' : ''}`);
    if (hold) {
      await new Promise<void>((resolve) => this.held.push(resolve));
      this.log?.(`  store op #${id}: held answer delivered`);
    }
    if (this.latency) await new Promise<void>((resolve) => this.inFlight.push(resolve));
    return answer;
  }
  private gate(): Promise<void> {
    if (this.mode === 'down') return Promise.reject(new Error('connection refused'));
    if (this.mode === 'hang') return new Promise(() => {});
    return Promise.resolve();
  }
}

// ------------------------------------------------------------------------------ schedules

type Shape = 'sync' | 'async' | 'pending' | 'hang';
type Outcome = 'ok' | 'fail' | 'ignored';
type Manual = 'forceOpen' | 'disable' | 'metricsOnly' | 'reset';

type Step =
  | { readonly t: 'call'; readonly i: number; readonly shape: Shape; readonly outcome: Outcome }
  | { readonly t: 'burst'; readonly shape: Shape; readonly outcome: Outcome }
  | { readonly t: 'finish'; readonly pick: number; readonly outcome: Outcome }
  | { readonly t: 'manual'; readonly i: number; readonly op: Manual }
  | { readonly t: 'advance'; readonly k: number }
  | { readonly t: 'settle' }
  | { readonly t: 'store'; readonly mode: Mode }
  | { readonly t: 'drop'; readonly on: boolean }
  | { readonly t: 'forget' }
  | { readonly t: 'hold'; readonly op: Op }
  | { readonly t: 'release'; readonly reversed: boolean };

interface Scenario {
  readonly halfOpenMaxCalls: number;
  /** Store answers take one 10 ms step (else they come at the next settle). */
  readonly latency: boolean;
  readonly steps: readonly Step[];
}

const instanceArb = fc.integer({ min: 0, max: FLEET - 1 });
const outcomeArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Outcome>('fail') },
  { weight: 4, arbitrary: fc.constant<Outcome>('ok') },
  { weight: 1, arbitrary: fc.constant<Outcome>('ignored') },
);
/** `chaos` scales the store's faults: 0 = the store never fails (long stretches where invariant 1 applies). */
function stepArb(chaos: number): fc.Arbitrary<Step> {
  const steps: fc.WeightedArbitrary<Step>[] = [
    {
      weight: 20,
      arbitrary: fc.record({
        t: fc.constant('call' as const),
        i: instanceArb,
        shape: fc.oneof(
          { weight: 4, arbitrary: fc.constant<Shape>('sync') },
          { weight: 2, arbitrary: fc.constant<Shape>('async') },
          { weight: 3, arbitrary: fc.constant<Shape>('pending') },
          { weight: 1, arbitrary: fc.constant<Shape>('hang') },
        ),
        outcome: outcomeArb,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ t: fc.constant('burst' as const), shape: fc.constantFrom<Shape>('sync', 'async', 'pending', 'pending', 'hang'), outcome: outcomeArb }),
    },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('finish' as const), pick: fc.nat({ max: 7 }), outcome: outcomeArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('manual' as const),
        i: instanceArb,
        op: fc.constantFrom<Manual>('reset', 'reset', 'reset', 'forceOpen', 'disable', 'metricsOnly'),
      }),
    },
    { weight: 8, arbitrary: fc.record({ t: fc.constant('advance' as const), k: fc.integer({ min: 1, max: 25 }) }) },
    { weight: 2, arbitrary: fc.constant<Step>({ t: 'settle' }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), on: fc.boolean() }) },
  ];
  if (chaos > 0) {
    steps.push(
      { weight: chaos, arbitrary: fc.record({ t: fc.constant('store' as const), mode: fc.constantFrom<Mode>('up', 'up', 'down', 'hang') }) },
      {
        weight: chaos,
        arbitrary: fc.record({ t: fc.constant('hold' as const), op: fc.constantFrom<Op>('sync', 'sync', 'transition', 'acquireTrial', 'completeTrial') }),
      },
      { weight: 2 * chaos, arbitrary: fc.record({ t: fc.constant('release' as const), reversed: fc.boolean() }) },
      { weight: chaos, arbitrary: fc.constant<Step>({ t: 'forget' }) },
    );
  }
  return fc.oneof(...steps);
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  halfOpenMaxCalls: fc.integer({ min: 1, max: 2 }),
  latency: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  chaos: fc.constantFrom(0, 1, 3),
}).chain(({ halfOpenMaxCalls, latency, chaos }) =>
  fc.record({
    halfOpenMaxCalls: fc.constant(halfOpenMaxCalls),
    latency: fc.constant(latency),
    steps: fc.array(stepArb(chaos), { minLength: 5, maxLength: MAX_STEPS, size: 'max' }),
  }),
);

// ------------------------------------------------------------------------------ known schedules

const failOn = (i: number): Step => ({ t: 'call', i, shape: 'sync', outcome: 'fail' });
const hangOn = (i: number): Step => ({ t: 'call', i, shape: 'hang', outcome: 'ok' });

/**
 * Shrunk counterexamples, run before the random schedules (fast-check `examples`). Both broke
 * invariants of the store link (then lib/core/shared-link.ts) as of commit 32d5df1.
 */
const KNOWN_SCHEDULES: Scenario[] = [
  {
    // Invariant 1. After an outage, instances 0 and 1 hold openings the store has not seen (their
    // local trials failed during it). The rejoin sync's answer reaches 0 after 0 went half_open, so
    // it is stale and 0 stays dirty; 0 claims a permit with the version it last adopted (v1, whose
    // open duration is over) and gets one. 1 writes its opening as v2, which frees v1's permits;
    // 0 ignores v2 (adopt() returns early while dirty) and runs its trial on the v1 permit while 1
    // runs one on a v2 permit: 2 trials, halfOpenMaxCalls 1.
    halfOpenMaxCalls: 1,
    latency: false,
    steps: [
      failOn(0), failOn(0), failOn(0), failOn(0),
      { t: 'store', mode: 'down' },
      { t: 'advance', k: 20 },
      failOn(0),
      failOn(1),
      { t: 'store', mode: 'up' },
      { t: 'hold', op: 'sync' },
      { t: 'advance', k: 22 },
      { t: 'release', reversed: false },
      hangOn(0),
      { t: 'settle' },
      hangOn(0),
      hangOn(1),
      { t: 'settle' },
      hangOn(1),
    ],
  },
  {
    // Invariant 3. The store loses v1 (0's opening at t = 0) before 1 heard of it; 1's opening at
    // t = 10 is written as v1 too. 0 sees "same version, same state" and keeps its own opening
    // times for good: the fleet shows two openings.
    halfOpenMaxCalls: 1,
    latency: false,
    steps: [
      { t: 'drop', on: true },
      failOn(0), failOn(0), failOn(0), failOn(0),
      { t: 'settle' },
      { t: 'forget' },
      { t: 'advance', k: 1 },
      failOn(1), failOn(1), failOn(1), failOn(1),
    ],
  },
];

function show(step: Step): string {
  switch (step.t) {
    case 'call':
      return `call(${step.i}, ${step.shape}${step.shape === 'hang' ? '' : `, ${step.outcome}`})`;
    case 'burst':
      return `burst(${step.shape}${step.shape === 'hang' ? '' : `, ${step.outcome}`}): one call on each instance, settling after each`;
    case 'finish':
      return `finish(#${step.pick}, ${step.outcome})`;
    case 'manual':
      return `${step.op}(${step.i})`;
    case 'advance':
      return `advance(${step.k * STEP_MS} ms)`;
    case 'settle':
      return 'settle';
    case 'store':
      return `store ${step.mode}`;
    case 'drop':
      return step.on ? 'drop notifications' : 'deliver notifications';
    case 'forget':
      return 'store forgets everything (a restart without persistence)';
    case 'hold':
      return `hold ${step.op} replies`;
    case 'release':
      return `release held${step.reversed ? ' (reversed)' : ''}`;
  }
}

// ------------------------------------------------------------------------------ harness

/** Lets the store's promises and queued notifications run (no time passes on the ManualClock). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

class Ignored extends Error {}

class Violation extends Error {}

interface Trial {
  readonly instance: number;
  /** Event number at admission (compared with the last recovery's). */
  readonly seq: number;
  /** Admitted while every instance shared the store (a trial that needed a fleet permit). */
  readonly shared: boolean;
  live: boolean;
}

interface PendingCall {
  readonly label: string;
  finish(outcome: Outcome): void;
}

/**
 * Jest 30 runs a test file in a vm context whose `process` is a copy: a listener on it never hears
 * of unhandled rejections (jest-circus listens on the real one and fails the test, outside any
 * counterexample). A host function's constructor evaluates in the host realm, whose `process` is
 * the real one.
 */
function hostProcess(): NodeJS.Process {
  try {
    const real = (setImmediate.constructor as FunctionConstructor)('return process')() as NodeJS.Process;
    if (typeof real?.prependListener === 'function') return real;
  } catch {
    // not in a vm context
  }
  return process;
}

/** FLEET_STATS=1: what the schedules exercised (printed after the run). */
const stats: Map<string, number> | null = process.env.FLEET_STATS === '1' ? new Map() : null;
function count(what: string): void {
  stats?.set(what, (stats.get(what) ?? 0) + 1);
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

class Fleet {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly store: FaultyStore;
  readonly breakers: CircuitBreaker[];
  readonly trace: string[] = [];
  readonly problems: string[] = [];
  private seq = 1;
  /** Event number of the start of the last outage (the store logs one warning per outage) or data loss. */
  private lastOutageSeq = 0;
  /** Event number of the last recovery (the store logs it once the session answers again). */
  private sharedSinceSeq = 0;
  /** The store answered again after the last outage. */
  private available = true;
  /** Until then, a trial may run on a permit the store lost with its data. */
  private lossUntil = Number.NEGATIVE_INFINITY;
  private trials: Trial[] = [];
  private readonly pending: PendingCall[] = [];
  private calls = 0;

  constructor(
    readonly halfOpenMaxCalls: number,
    latency: boolean,
  ) {
    const logger: StoreLogger = {
      warn: (message) => {
        this.available = false;
        this.lastOutageSeq = ++this.seq;
        this.note(`  store warn: ${message.slice(0, 70)}`);
      },
      log: (message) => {
        this.available = true;
        this.sharedSinceSeq = ++this.seq;
        this.note(`  store log: ${message.slice(0, 40)}`);
      },
    };
    this.store = new FaultyStore({ clock: this.clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: COMMAND_TIMEOUT_MS, logger });
    this.store.latency = latency;
    if (process.env.FLEET_TRACE_STORE === '1') this.store.log = (line) => this.note(line);
    this.store.onWrite = (state) => {
      this.note(`  store := ${describeShared(state)}`);
    };
    this.breakers = Array.from({ length: FLEET }, (_, i) => {
      const breaker = new CircuitBreaker({
        name: NAME,
        clock: this.clock,
        store: this.store,
        slidingWindow: { type: 'count', size: 10 },
        minimumCalls: 4,
        openDurationMs: OPEN_MS,
        halfOpenMaxCalls,
        halfOpenProbeTimeoutMs: PROBE_MS,
        isFailure: (error) => !(error instanceof Ignored),
      });
      breaker.onInternalError = (error, where) => this.problem(`onInternalError (${where}): ${String(error)}`);
      breaker.onStateChange((event) => {
        this.note(`  [${i}] ${event.from} -> ${event.to} (${event.reason})`);
        // A trial's breaker left its half_open episode: it counts the trial no more.
        if (event.from === 'half_open') for (const trial of this.trials) if (trial.instance === i) trial.live = false;
      });
      return breaker;
    });
  }

  note(line: string): void {
    this.trace.push(line);
  }

  problem(message: string): void {
    this.problems.push(message);
    this.note(`  !! ${message}`);
  }

  check(): void {
    if (this.problems.length > 0) throw new Violation(`${this.problems[0]}\n${this.report()}`);
  }

  report(): string {
    const lines = this.trace.length > 400 ? ['  ...', ...this.trace.slice(-400)] : this.trace;
    return `trace (t = ms since start):\n${lines.join('\n')}`;
  }

  get t(): number {
    return this.clock.now() - 1_700_000_000_000;
  }

  states(): string {
    return this.breakers.map((b) => `${b.state}${b.snapshot().store === 'shared' ? '' : '*'}`).join(' ');
  }

  async run(step: Step): Promise<void> {
    this.note(`t=${this.t} ${show(step)}`);
    switch (step.t) {
      case 'call':
        this.call(step.i, step.shape, step.outcome);
        break;
      case 'burst':
        for (let i = 0; i < FLEET; i++) {
          this.call(i, step.shape, step.outcome);
          await settle();
        }
        break;
      case 'finish': {
        if (this.pending.length === 0) break;
        const [call] = this.pending.splice(step.pick % this.pending.length, 1);
        this.note(`  finishes ${call!.label}`);
        call!.finish(step.outcome);
        break;
      }
      case 'manual':
        this.breakers[step.i]![step.op]();
        break;
      case 'advance':
        await this.pass(step.k * STEP_MS);
        break;
      case 'settle':
        await settle();
        break;
      case 'store':
        this.store.mode = step.mode;
        break;
      case 'drop':
        this.store.deliver = !step.on;
        break;
      case 'forget':
        this.store.forget(NAME);
        // The permits of running trials are lost with the rest, and so are the permits instances
        // were granted and have not used yet (usable for halfOpenProbeTimeoutMs): invariant 1 counts
        // only trials admitted after those.
        this.lastOutageSeq = ++this.seq;
        this.lossUntil = this.clock.now() + PROBE_MS;
        break;
      case 'hold':
        this.store.holding.add(step.op);
        break;
      case 'release':
        this.store.releaseHeld(step.reversed);
        break;
    }
    this.note(`  -> ${this.states()}`);
  }

  /** Time passes in 10 ms steps, the store answering after each (ManualClock fires timers synchronously). */
  async pass(ms: number): Promise<void> {
    await settle();
    for (let left = ms; left > 0; left -= STEP_MS) {
      this.clock.advance(Math.min(STEP_MS, left));
      this.store.deliverInFlight();
      await settle();
    }
  }

  /** Invariant 1, checked when a trial starts (the only moment the count grows). */
  private clean(): boolean {
    return this.store.mode === 'up' && this.available && this.breakers.every((b) => b.snapshot().store === 'shared');
  }

  private admitted(instance: number): Trial | null {
    if (this.breakers[instance]!.state !== 'half_open') return null;
    const trial: Trial = { instance, seq: ++this.seq, live: true, shared: this.clean() && this.clock.now() >= this.lossUntil };
    this.trials = this.trials.filter((t) => t.live);
    this.trials.push(trial);
    const running = this.trials.filter((t) => t.shared && t.seq > this.sharedSinceSeq && t.seq > this.lastOutageSeq);
    if (trial.shared) count(`trial admitted while shared: ${running.length} of ${this.halfOpenMaxCalls} running`);
    if (running.length > this.halfOpenMaxCalls && this.clean()) {
      this.problem(
        `safety: ${running.length} trials run at once (instances ${running.map((t) => t.instance).join(', ')}), halfOpenMaxCalls = ${this.halfOpenMaxCalls}; store holds ${describeShared(this.store.peek(NAME))}`,
      );
    }
    return trial;
  }

  /** Invariant 2: the caller sees its own outcome or CircuitOpenError (fn not run). */
  call(instance: number, shape: Shape, outcome: Outcome): void {
    const id = ++this.calls;
    const label = `call #${id} on ${instance}`;
    const value = { id };
    let ownError: unknown = undefined;
    let invoked = false;
    let trial: Trial | null = null;
    const start = (): void => {
      invoked = true;
      trial = this.admitted(instance);
      this.note(`  ${label} runs${trial === null ? '' : ' (trial)'}`);
    };
    const end = (): void => {
      if (trial !== null) trial.live = false;
    };
    const errorFor = (o: Outcome): Error | undefined =>
      o === 'fail' ? new Error(`dependency down (${label})`) : o === 'ignored' ? new Ignored(`bad request (${label})`) : undefined;
    let fn: () => unknown;
    if (shape === 'sync' || shape === 'async') {
      ownError = errorFor(outcome);
      const body = (): unknown => {
        start();
        end();
        if (ownError !== undefined) throw ownError;
        return value;
      };
      fn = shape === 'sync' ? body : async () => body();
    } else {
      fn = () => {
        start();
        return new Promise((resolve, reject) => {
          if (shape === 'hang') return;
          this.pending.push({
            label,
            finish: (o) => {
              end();
              ownError = errorFor(o);
              if (ownError === undefined) resolve(value);
              else reject(ownError);
            },
          });
        });
      };
    }
    const observe = (ok: boolean, seen: unknown): void => {
      if (ok) {
        if (!invoked || seen !== value) this.problem(`isolation: ${label} resolved with ${String(seen)}, not its own value`);
      } else if (seen instanceof CircuitOpenError) {
        if (invoked) this.problem(`isolation: ${label} ran, yet its caller saw CircuitOpenError`);
      } else if (!invoked || seen !== ownError) {
        this.problem(`isolation: ${label} saw a foreign error: ${seen instanceof Error ? seen.stack : String(seen)}`);
      }
    };
    let result: unknown;
    try {
      result = this.breakers[instance]!.execute(fn);
    } catch (error) {
      if (error instanceof CircuitOpenError) this.note(`  ${label} rejected (CircuitOpenError)`);
      observe(false, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (v) => observe(true, v),
        (e) => {
          if (e instanceof CircuitOpenError) this.note(`  ${label} rejected (CircuitOpenError)`);
          observe(false, e);
        },
      );
    } else {
      observe(true, result);
    }
  }

  dispose(): void {
    this.breakers.forEach((b) => b.dispose());
  }
}

function describeShared(state: SharedState | undefined): string {
  if (state === undefined) return 'nothing';
  const open = state.state === 'open' ? ` openedAt=${state.openedAt - 1_700_000_000_000} openUntil=${state.openUntil - 1_700_000_000_000}` : '';
  return `v${state.version} ${state.state}${open}`;
}

const asShared = (state: CircuitState): string => (state === 'half_open' ? 'open' : state);

/** Runs one schedule and the end phase; throws a Violation (with a trace) on the first broken invariant. */
async function runScenario(scenario: Scenario): Promise<void> {
  const fleet = new Fleet(scenario.halfOpenMaxCalls, scenario.latency === true);
  const unhandledBefore = unhandled.length;
  try {
    await settle(); // the first read of the shared state
    for (const step of scenario.steps) {
      await fleet.run(step);
      fleet.check();
    }

    // ---- 3. convergence: store up, notifications delivered, nothing held; quiet time, no calls.
    fleet.note(`t=${fleet.t} end of schedule: store up, deliver, release held; ${QUIET_MS} ms of quiet`);
    fleet.store.mode = 'up';
    fleet.store.deliver = true;
    fleet.store.releaseHeld(false);
    await fleet.pass(QUIET_MS);
    fleet.note(`  -> ${fleet.states()}; store holds ${describeShared(fleet.store.peek(NAME))}`);
    fleet.check();
    const stored = fleet.store.peek(NAME);
    const shared = stored?.state ?? 'closed';
    count(`shared state after the schedule: ${shared}`);
    fleet.breakers.forEach((b, i) => {
      if (b.snapshot().store !== 'shared') fleet.problem(`convergence: instance ${i} is still on local fallback`);
      if (asShared(b.state) !== shared) fleet.problem(`convergence: instance ${i} is ${b.state}, the store holds ${describeShared(stored)}`);
      // Stored times are on the store's clock and every answer carries its now: a reader places them
      // on its own clock, off by at most the transit of the answer it read them from (within a command timeout).
      else if (shared === 'open' && !(Math.abs(b.snapshot().openedAt! - stored!.openedAt) <= COMMAND_TIMEOUT_MS)) {
        fleet.problem(`convergence: instance ${i} shows openedAt ${String(b.snapshot().openedAt)}, the store ${stored!.openedAt}`);
      }
    });
    fleet.check();

    // ---- 4. liveness.
    if (shared === 'forced_open' || shared === 'disabled' || shared === 'metrics_only') {
      fleet.note(`t=${fleet.t} liveness: reset(0)`);
      fleet.breakers[0]!.reset();
      await fleet.pass(8 * SYNC_MS);
    } else if (shared === 'open') {
      await fleet.pass(OPEN_MS + PROBE_MS + 2 * STEP_MS);
      fleet.note(`t=${fleet.t} liveness: successful calls round-robin`);
      for (let n = 0; n < LIVENESS_CALLS && !fleet.breakers.every((b) => b.state === 'closed'); n++) {
        await fleet.run({ t: 'call', i: n % FLEET, shape: 'sync', outcome: 'ok' });
        await fleet.pass(STEP_MS); // the store answers (a claimed permit, the fleet's close)
        fleet.check();
      }
    }
    fleet.note(`  -> ${fleet.states()}; store holds ${describeShared(fleet.store.peek(NAME))}`);
    fleet.check();
    fleet.breakers.forEach((b, i) => {
      if (b.state !== 'closed') fleet.problem(`liveness: instance ${i} is ${b.state} after recovery (store holds ${describeShared(fleet.store.peek(NAME))})`);
    });
    const after = fleet.store.peek(NAME);
    if (after !== undefined && after.state !== 'closed') fleet.problem(`liveness: the store holds ${describeShared(after)} after recovery`);
    await settle();
    await settle();
    if (unhandled.length > unhandledBefore) {
      const reason = unhandled[unhandledBefore];
      fleet.problem(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
    }
    fleet.check();
  } finally {
    fleet.dispose();
  }
}

describe('fleet of 3 breakers on one store (faulty, in memory)', () => {
  const host = hostProcess();
  beforeAll(() => {
    host.prependListener('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    host.off('unhandledRejection', onUnhandled);
  });

  const replay = process.env.FLEET_REPLAY;
  if (replay !== undefined) {
    it(`replays ${replay}`, async () => {
      const { readFileSync } = await import('node:fs');
      const scenario = JSON.parse(readFileSync(replay, 'utf8')) as Scenario;
      await runScenario(scenario).catch((error: unknown) => {
        throw new Error(`${scenario.steps.map(show).join('\n')}\n\n${error instanceof Error ? error.message : String(error)}`);
      });
    });
  }

  it('bounds fleet trials, isolates callers from the store, converges and recovers', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await runScenario(scenario);
      }),
      {
        numRuns: NUM_RUNS,
        seed: SEED,
        examples: KNOWN_SCHEDULES.map((scenario) => [scenario] as [Scenario]),
        reporter: (details) => {
          if (!details.failed) return;
          const scenario = details.counterexample?.[0];
          const schedule = scenario === undefined ? '' : `\nhalfOpenMaxCalls ${scenario.halfOpenMaxCalls}, latency ${scenario.latency}; schedule:\n  ${scenario.steps.map(show).join('\n  ')}`;
          const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
          throw new Error(`${fc.defaultReportMessage(details)}${schedule}\n\n${error}`);
        },
      },
    );
    if (stats !== null) console.log([...stats].sort().map(([what, n]) => `${String(n).padStart(7)}  ${what}`).join('\n'));
    expect(unhandled).toEqual([]);
  }, 180_000); // about 7-12 s alone; a loaded 2-core CI machine has taken over 60 s
});
