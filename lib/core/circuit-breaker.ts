/**
 * The coordinator: options, the window, the state object in force, totals and listeners. What each
 * state does lives in states/ (one file per state, one table of them), running a call in
 * call-runner.ts, deadlines in deadlines.ts, the fleet link in fleet/. Framework-free: no NestJS,
 * rxjs or reflect-metadata here.
 *
 * Hot-path rules (bench/ measures them): closed + success + no timeout + no slow-call tracking is
 * `execute`'s own fast path: no clock read (a time window reads a coarse clock), no allocation
 * besides the promise an async `fn` already makes and the one `then` returns, no call through the
 * state object; events cost nothing when nobody listens.
 */
import type { Clock } from './clock.js';
import { cancelTimer, scheduleTimer } from './clock.js';
import { windowClock } from './coarse-clock.js';
import { runCall, settleOther } from './call-runner.js';
import type { DeadlineQueue } from './deadlines.js';
import { CircuitBreakerConfigError, CircuitBreakerTimeoutError, CircuitOpenError, describeValue } from './errors.js';
import type { CallEvent, CallEventKind, CallListener, StateChangeEvent, StateChangeListener, TransitionReason } from './events.js';
import type { StoreLink } from './fleet/store-link.js';
import { joinStore } from './fleet/store-session.js';
import type { SharedState, WindowCounts } from './fleet/store.js';
import { HealthPoller } from './health-poller.js';
import { Listeners } from './listeners.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings, ResolvedOptions } from './options.js';
import { ratioThresholdWarning, resolveOptions } from './options.js';
import type { CircuitState } from './states/index.js';
import { STATE_TABLE } from './states/index.js';
import { recordClosedSuccess } from './states/closed.js';
import type { Trials } from './states/half-open.js';
import type { Outcome, StateBehaviour } from './states/state.js';
import { FAILED, IGNORED, NOT_PERMITTED, PERMIT_SPAN, SUCCESS, TIMED_OUT } from './states/state.js';
import type { TripRule } from './trip-rules.js';
import { tripReason, tripRulesFor } from './trip-rules.js';
import { createWindow, sameWindow } from './windows/index.js';
import type { SlidingWindow } from './windows/sliding-window.js';
import { SLOW } from './windows/sliding-window.js';
import type { CircuitBreakerSnapshot, CircuitBreakerTotals } from './snapshot.js';

export type { CallEvent, CallEventKind, CallListener, StateChangeEvent, StateChangeListener, TransitionReason } from './events.js';
export type { CircuitBreakerSnapshot, CircuitBreakerTotals } from './snapshot.js';
export type { CircuitState } from './states/index.js';

const OUTCOME_KINDS: readonly CallEventKind[] = ['success', 'failure', 'ignored', 'timeout'];
const closedState = STATE_TABLE.closed.behaviour;
const promiseThen = Promise.prototype.then;

interface Reactions {
  readonly permit: number;
  readonly fulfilled: (value: unknown) => unknown;
  readonly rejected: (error: unknown) => never;
}

/**
 * A circuit breaker. See README for the semantics of each state and option.
 *
 * ```ts
 * const breaker = new CircuitBreaker({ name: 'payments', failureRateThreshold: 50 });
 * const receipt = await breaker.execute(() => client.charge(order));
 * ```
 */
export class CircuitBreaker {
  readonly name: string;
  /** Where errors thrown by listeners and predicates are reported (the Nest layer sets its Logger). */
  onInternalError: (error: unknown, where: string) => void = reportOnce;

  /** @internal */ opts: ResolvedOptions;
  /** @internal */ window: SlidingWindow;
  /** @internal */ current: StateBehaviour = closedState;
  /** @internal */ permitBase = 0;
  /** @internal */ consecutiveFailures = 0;
  /** @internal */ openStreak = 0;
  /** @internal */ openedAt = Number.NaN;
  /** @internal */ openUntil = 0;
  /** @internal */ openings = 0;
  /** @internal */ openCause: unknown = undefined;
  /** @internal */ trials: Trials | null = null;
  /** @internal */ health: HealthPoller | null = null;
  /** @internal */ wouldTrip = false;
  /** @internal */ wouldTrips = 0;
  /** @internal */ adopted: SharedState | null = null;
  /** @internal */ rejectRetryAfterMs: number | undefined = undefined;
  /** @internal */ disposed = false;
  /** @internal */ link: StoreLink | null = null;
  /** @internal */ deadlines: DeadlineQueue | null = null;

  /** Closed, no timeout and no slow-call tracking: a call needs no clock (execute's fast path). */
  private fast = true;
  private given: CircuitBreakerOptions;
  private clockOfWindow: Clock;
  private rules: readonly TripRule[];
  private generation = 0;
  private reactions: Reactions;
  private readonly stateListeners = new Listeners<StateChangeEvent>();
  private readonly callListeners = new Listeners<CallEvent>();
  private successfulCalls = 0;
  private failedCalls = 0;
  private ignoredCalls = 0;
  private notPermittedCalls = 0;
  private timeoutCalls = 0;
  private slowCalls = 0;
  /** Open fast-fail: the last rejection, reused while generation and retryAfterMs are unchanged. */
  private lastRejection: CircuitOpenError | null = null;
  private lastRejected: Promise<never> | null = null;
  private lastRejectionGeneration = -1;
  /** isFailure's answer per error object (see countsAsFailure). */
  private classified: WeakMap<object, boolean> | null = null;
  /** Timers armed through schedule(), cleared by dispose(). */
  private ownedTimers: Set<unknown> | null = null;
  private warnedRatios = false;

  constructor(options: CircuitBreakerOptions) {
    this.opts = resolveOptions(options);
    this.given = { ...options };
    this.name = this.opts.name;
    this.window = createWindow(this.opts.slidingWindow);
    this.clockOfWindow = windowClock(this.opts.clock, this.window.sliceMs);
    this.rules = tripRulesFor(this.opts);
    this.reactions = this.makeReactions(0);
    this.refreshFastPath();
    this.warnOnRatios();
    if (this.opts.store !== undefined) this.link = joinStore(this.opts.store, this);
  }

  get state(): CircuitState {
    return this.current.name;
  }

  /** The options in force, defaults applied. */
  get options(): ResolvedOptions {
    return this.opts;
  }

  /** The breaker clock's current time. */
  now(): number {
    return this.opts.clock.now();
  }

  /** @internal */
  windowNow(): number {
    return this.window.usesTime ? this.clockOfWindow.now() : 0;
  }

  /**
   * Runs `fn` through the breaker. Always returns a promise: `fn`'s result (awaited if it is a
   * promise or another thenable), or a rejection with `fn`'s error, or with a
   * {@link CircuitOpenError} when the circuit does not admit the call (`fn` is then not called).
   *
   * `fn` receives an AbortSignal only when `timeoutMs` applies and `fn` declares a parameter; the
   * signal aborts when the call times out. For a synchronous function whose result you want
   * synchronously, use {@link executeSync}.
   */
  execute<T>(fn: (signal?: AbortSignal) => T | PromiseLike<T>): Promise<T> {
    if (this.fast) {
      // The closed fast path: no clock, no call through the state object, no closure per call.
      const permit = this.permitBase;
      let result: T | PromiseLike<T>;
      try {
        result = fn();
        if (result instanceof Promise && result.then === promiseThen) {
          const reactions = this.reactions; // made for this closed generation (refreshFastPath)
          return result.then(reactions.fulfilled, reactions.rejected) as Promise<T>;
        }
      } catch (error) {
        if (typeof fn !== 'function') return runCall(this, fn, false) as Promise<T>; // rejects with a TypeError, records nothing
        this.recordError(permit, error, Number.NaN);
        return Promise.reject(error);
      }
      return settleOther(this, result, permit) as Promise<T>;
    }
    return runCall(this, fn, false) as Promise<T>;
  }

  /**
   * Runs a synchronous `fn` through the breaker and returns its value; `fn`'s own error is rethrown,
   * and a {@link CircuitOpenError} is thrown when the circuit does not admit the call (`fn` is then
   * not called). Nothing is wrapped in a promise.
   *
   * If `fn` returns a promise (or another thenable) anyway, its outcome is still recorded and timed
   * (`timeoutMs`): the promise returned is the tracked one, which settles once the outcome is
   * recorded. So a function's own shape is kept: a sync result stays sync, a promise stays a promise.
   */
  executeSync<T>(fn: (signal?: AbortSignal) => T): T {
    return runCall(this, fn, true) as T;
  }

  /**
   * Low-level API, for callers that run the call themselves (an Observable's subscription): takes a
   * permit or throws {@link CircuitOpenError}. Every permit must end in exactly one of
   * {@link recordSuccess}, {@link recordFailure} or {@link releasePermission}.
   */
  acquirePermission(): number {
    const permit = this.acquire();
    if (permit === NOT_PERMITTED) throw this.rejection();
    return permit;
  }

  /**
   * Records a permit's call as succeeded (`isResultFailure` applies to `result`). A value that is
   * not a permit throws a TypeError; a permit already ended, or never issued, is ignored.
   */
  recordSuccess(permit: number, result?: unknown, startedAtMs = Number.NaN): void {
    this.recordResult(this.checkPermit(permit, 'recordSuccess'), result, startedAtMs);
  }

  /** Records a permit's call as failed (`isFailure` decides; a timeout error counts as a timeout). */
  recordFailure(permit: number, error: unknown, startedAtMs = Number.NaN): void {
    this.checkPermit(permit, 'recordFailure');
    if (error instanceof CircuitBreakerTimeoutError) this.complete(permit, TIMED_OUT, startedAtMs, error);
    else this.recordError(permit, error, startedAtMs);
  }

  /** Returns a permit whose call counts as neither success nor failure (e.g. unsubscribed). */
  releasePermission(permit: number): void {
    this.complete(this.checkPermit(permit, 'releasePermission'), IGNORED, Number.NaN, undefined);
  }

  private checkPermit(permit: number, method: string): number {
    if (!Number.isSafeInteger(permit) || permit < 0) {
      throw new TypeError(`Circuit breaker "${this.name}": ${method}() expects a permit from acquirePermission(), got ${describeValue(permit)}`);
    }
    return permit;
  }

  /** Whether `error` counts as a failure under `isFailure` (false: the breaker ignores it). */
  countsAsFailure(error: unknown): boolean {
    const isFailure = this.opts.isFailure;
    if (isFailure === undefined) return true;
    // An error object is classified once (the Nest layer asks again to decide on a fallback): a
    // predicate runs, and a throwing one is reported, once per error.
    if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return this.predicate(isFailure, error, 'isFailure');
    const classified = (this.classified ??= new WeakMap());
    let failed = classified.get(error);
    if (failed === undefined) {
      failed = this.predicate(isFailure, error, 'isFailure');
      classified.set(error, failed);
    }
    return failed;
  }

  /**
   * Runs `callback` after `delayMs` on the breaker's clock, on a timer that `dispose()` clears
   * (the Nest layer times Observable calls with it). Returns a function that cancels it. A disposed
   * breaker arms no timer.
   * @internal
   */
  schedule(callback: () => void, delayMs: number): () => void {
    if (this.disposed) return noop;
    const clock = this.opts.clock;
    const timers = (this.ownedTimers ??= new Set());
    let handle: unknown;
    const fire = (): void => {
      timers.delete(handle);
      callback();
    };
    handle = scheduleTimer(clock, fire, delayMs);
    timers.add(handle);
    return () => {
      if (timers.delete(handle)) cancelTimer(clock, handle);
    };
  }

  // ---------------------------------------------------------------- admission and outcomes (engine-internal)

  /** A permit, or NOT_PERMITTED with rejectRetryAfterMs set. @internal */
  acquire(): number {
    const state = this.current;
    return state === closedState ? this.permitBase : state.acquire(this);
  }

  /** The error of a call the circuit did not admit (counted; shared per generation and retryAfterMs). @internal */
  rejection(): CircuitOpenError {
    this.notPermittedCalls++;
    const retryAfterMs = this.rejectRetryAfterMs;
    let error = this.lastRejection;
    if (error === null || this.lastRejectionGeneration !== this.generation || error.retryAfterMs !== retryAfterMs) {
      // The opening's cause (open, half_open); a manual forced_open has none.
      error = CircuitOpenError.withoutStack(this.name, retryAfterMs, STATE_TABLE[this.current.name].manual === null ? this.openCause : undefined);
      this.lastRejection = error;
      this.lastRejectionGeneration = this.generation;
      this.lastRejected = null;
    }
    if (!this.callListeners.empty) this.emitCall('not_permitted', false, undefined, error, false);
    return error;
  }

  /** One rejected promise per rejection error: Node's unhandled-rejection bookkeeping runs once, not per call. @internal */
  rejectedPromise(error: CircuitOpenError): Promise<never> {
    if (this.lastRejected === null || error !== this.lastRejection) this.lastRejected = Promise.reject(error);
    return this.lastRejected;
  }

  /** The reactions that record a native promise's outcome for `permit` (made once per closed generation). @internal */
  reactionsFor(permit: number): Reactions {
    if (this.reactions.permit !== permit) this.reactions = this.makeReactions(permit);
    return this.reactions;
  }

  private makeReactions(permit: number): Reactions {
    return {
      permit,
      fulfilled: (value) => {
        this.recordResult(permit, value, Number.NaN);
        return value;
      },
      rejected: (error) => {
        this.recordError(permit, error, Number.NaN);
        throw error;
      },
    };
  }

  /** @internal */
  recordResult(permit: number, result: unknown, startedAt: number): void {
    const opts = this.opts;
    const isResultFailure = opts.isResultFailure;
    if (isResultFailure === undefined && permit === this.permitBase && this.current === closedState && opts.slowCallDurationMs === undefined && this.callListeners.empty) {
      // The usual closed success: straight to closed's own recording, no dispatch through the state object.
      this.successfulCalls++;
      recordClosedSuccess(this, Number.NaN);
      return;
    }
    const failed = isResultFailure !== undefined && this.predicate(isResultFailure, result, 'isResultFailure');
    this.complete(permit, failed ? FAILED : SUCCESS, startedAt, undefined, Number.NaN, failed ? result : undefined);
  }

  /** @internal */
  recordError(permit: number, error: unknown, startedAt: number): void {
    this.complete(permit, this.countsAsFailure(error) ? FAILED : IGNORED, startedAt, error);
  }

  /** A predicate that throws counts as "failure": a broken classifier must not hide an outage. */
  private predicate(fn: (value: unknown) => boolean, value: unknown, where: string): boolean {
    try {
      return fn(value) === true;
    } catch (error) {
      this.onInternalError(error, `${where} of circuit breaker "${this.name}"`);
      return true;
    }
  }

  /** Records one call's outcome in whatever state issued its permit. @internal */
  complete(permit: number, outcome: Outcome, startedAt: number, error: unknown, nowMs = Number.NaN, result?: unknown): void {
    const state = this.current;
    if (!state.records && permit === this.permitBase) return; // disabled records nothing
    const opts = this.opts;
    const slowMs = opts.slowCallDurationMs;
    // A call whose start is known (slow-call tracking, a timeout) has a duration: read the clock
    // for it when slow calls are judged or someone listens, never otherwise.
    const timed = startedAt === startedAt;
    let now = nowMs;
    if (timed && now !== now && ((slowMs !== undefined && outcome !== IGNORED) || !this.callListeners.empty)) now = opts.clock.now();
    const slow = timed && slowMs !== undefined && outcome !== IGNORED && now - startedAt >= slowMs;
    const base = this.permitBase;
    // Not live: never issued (a later generation, a slot nobody holds) or already ended. Ignored
    // entirely: it must not end a real call's slot, nor count.
    if (permit >= base + PERMIT_SPAN || (permit >= base && permit !== base && !state.holds(this, permit))) return;
    const stale = permit < base;
    if (outcome === SUCCESS) this.successfulCalls++;
    else if (outcome === FAILED) this.failedCalls++;
    else if (outcome === IGNORED) this.ignoredCalls++;
    else this.timeoutCalls++;
    if (slow) this.slowCalls++;
    if (!this.callListeners.empty) {
      this.emitCall(OUTCOME_KINDS[outcome]!, slow, timed ? now - startedAt : undefined, error, stale);
    }
    if (stale) return;
    state.record(this, permit, outcome, slow, now, outcome === FAILED && error === undefined ? result : error);
  }

  /** @internal */
  tripReason(): TransitionReason | null {
    return tripReason(this.rules, this.window, this.consecutiveFailures, this.opts);
  }

  /** Swaps the state object: the old state drops its data, the new one makes its own. @internal */
  transition(to: CircuitState, reason: TransitionReason, nowMs: number, cause?: unknown): void {
    const from = this.current;
    const next = STATE_TABLE[to].behaviour;
    from.leave(this);
    this.current = next;
    this.bumpGeneration();
    next.enter(this, from, reason, nowMs, cause);
    this.refreshFastPath();
    this.announce(from.name, to, reason, nowMs);
  }

  /** Tells the store link (unless the fleet told us) and the listeners. */
  private announce(from: CircuitState, to: CircuitState, reason: TransitionReason, nowMs: number): void {
    if (this.link !== null && reason !== 'shared_state') this.link.transitioned(reason);
    if (this.stateListeners.empty) return;
    const event: StateChangeEvent = { name: this.name, from, to, at: nowMs, reason };
    this.stateListeners.emit(event, (error) => this.onInternalError(error, `onStateChange listener of circuit breaker "${this.name}"`));
  }

  /** One warning per breaker for thresholds that look like ratios (0.5 meant as 50 %). */
  private warnOnRatios(): void {
    if (this.warnedRatios) return;
    const warning = ratioThresholdWarning(this.opts);
    if (warning === undefined) return;
    this.warnedRatios = true;
    process.emitWarning(warning, { code: 'CIRCUIT_BREAKER_THRESHOLD_RATIO' });
  }

  /** execute's fast path holds while closed without timeout or slow-call tracking, with reactions for the current permit. */
  private refreshFastPath(): void {
    const opts = this.opts;
    this.fast = this.current === closedState && opts.timeoutMs === undefined && opts.slowCallDurationMs === undefined;
    if (this.current === closedState && this.reactions.permit !== this.permitBase) this.reactions = this.makeReactions(this.permitBase);
  }

  /** Calls in flight become stale (their outcomes no longer count toward the state). */
  private bumpGeneration(): void {
    this.generation++;
    this.permitBase = this.generation * PERMIT_SPAN;
  }

  // ---------------------------------------------------------------- manual control

  /** Rejects every call until another manual transition. The window is kept. */
  forceOpen(): void {
    if (this.current.name !== 'forced_open') this.transition('forced_open', 'forced_open', this.now());
  }

  /** Admits every call and records nothing. */
  disable(): void {
    if (this.current.name !== 'disabled') this.transition('disabled', 'disabled', this.now());
  }

  /** Records and reports would-be trips (`snapshot().wouldTrip`) but never rejects. */
  metricsOnly(): void {
    if (this.current.name !== 'metrics_only') this.transition('metrics_only', 'metrics_only', this.now());
  }

  /**
   * Back to closed with an empty window and no backoff history. Always announced (reason
   * `manual_reset`), also on a closed breaker, where the event goes from closed to closed.
   */
  reset(): void {
    if (this.current !== closedState) {
      this.transition('closed', 'manual_reset', this.now());
      return;
    }
    this.restartClosed();
    this.announce('closed', 'closed', 'manual_reset', this.now());
  }

  /** A closed circuit starts afresh: empty window, no backoff history, in-flight outcomes stale. */
  private restartClosed(): void {
    this.window.clear();
    this.openStreak = 0;
    this.consecutiveFailures = 0;
    this.bumpGeneration();
    this.refreshFastPath();
  }

  // ---------------------------------------------------------------- shared state (see fleet/store-link.ts)

  /** Applies a state the fleet agreed on. @internal */
  adoptShared(shared: SharedState): void {
    const to = shared.state;
    if (!Object.hasOwn(STATE_TABLE, to) || STATE_TABLE[to].storedAs !== to) return;
    const here = this.current.name;
    if (to === 'open' && (here === 'open' || (here === 'half_open' && this.openedAt === shared.openedAt))) {
      // Already open here (two instances tripped at once, or our own opening confirmed): one
      // opening, not two. Take the fleet's times without a transition.
      this.openedAt = shared.openedAt;
      this.openUntil = shared.openUntil;
      this.openStreak = shared.openStreak;
      return;
    }
    if (to === here) {
      // A newer closed state while closed: a peer's reset (the fleet's window was cleared too).
      if (to === 'closed') this.restartClosed();
      return;
    }
    this.adopted = to === 'open' ? shared : null;
    try {
      this.transition(to, 'shared_state', this.now());
    } finally {
      this.adopted = null;
    }
  }

  /** Trips a closed breaker when a rate rule holds on the fleet's window. @internal */
  judgeFleet(counts: WindowCounts): void {
    if (this.current !== closedState) return;
    const reason = tripReason(this.rules, counts, 0, this.opts, true);
    if (reason !== null) this.transition('open', reason, this.now());
  }

  /** The local state as the fleet stores it (half_open is an open circuit whose trials have begun). @internal */
  sharedView(): Omit<SharedState, 'version'> {
    const row = STATE_TABLE[this.current.name];
    return { state: row.storedAs, openedAt: this.openedAt, openUntil: row.storedAs === 'open' ? this.openUntil : 0, openStreak: this.openStreak };
  }

  /**
   * Applies new options without a restart; the merged options are validated first (an invalid
   * value throws and changes nothing). The window is rebuilt (empty) only when its shape changes;
   * new `timeoutMs` values apply to calls started afterwards.
   */
  reconfigure(settings: CircuitBreakerSettings): void {
    const merged: CircuitBreakerOptions = { ...this.given, ...settings, name: this.name };
    for (const key of Object.keys(settings) as (keyof CircuitBreakerSettings)[]) {
      if (settings[key] === undefined) delete merged[key];
    }
    const next = resolveOptions(merged);
    const previous = this.opts;
    if (next.store !== previous.store) {
      throw new CircuitBreakerConfigError(this.name, 'store', settings.store, 'the store the breaker was created with (a store cannot change at runtime)');
    }
    this.given = merged;
    this.opts = next;
    this.warnOnRatios();
    this.rules = tripRulesFor(next);
    if (previous.isFailure !== next.isFailure) this.classified = null;
    if (!sameWindow(previous.slidingWindow, next.slidingWindow)) this.window = createWindow(next.slidingWindow);
    this.clockOfWindow = windowClock(next.clock, this.window.sliceMs);
    // Trials in flight keep running and counting; the new limit caps them and the successes needed.
    if (this.trials !== null) this.trials.resize(next.halfOpenMaxCalls);
    this.refreshFastPath();
    const healthChanged =
      previous.healthCheck?.check !== next.healthCheck?.check || previous.healthCheck?.intervalMs !== next.healthCheck?.intervalMs;
    if (this.current.name === 'open' && healthChanged) {
      this.health?.stop();
      if (next.healthCheck !== undefined) {
        this.health ??= new HealthPoller(this);
        this.health.start(next.clock.now());
      }
    }
  }

  // ---------------------------------------------------------------- observation

  snapshot(): CircuitBreakerSnapshot {
    const now = this.now();
    const window = this.window;
    window.advance(this.windowNow());
    const calls = window.calls;
    const snapshot: CircuitBreakerSnapshot = {
      name: this.name,
      state: this.current.name,
      calls,
      failures: window.failures,
      slowCalls: window.slowCalls,
      failureRate: calls === 0 ? 0 : (window.failures * 100) / calls,
      slowCallRate: calls === 0 ? 0 : (window.slowCalls * 100) / calls,
      consecutiveFailures: this.consecutiveFailures,
      notPermittedCalls: this.notPermittedCalls,
      ...this.current.describe(this, now),
    };
    return this.link === null ? snapshot : { ...snapshot, store: this.link.active ? 'shared' : 'local_fallback' };
  }

  totals(): CircuitBreakerTotals {
    return {
      successfulCalls: this.successfulCalls,
      failedCalls: this.failedCalls,
      ignoredCalls: this.ignoredCalls,
      notPermittedCalls: this.notPermittedCalls,
      timeoutCalls: this.timeoutCalls,
      slowCalls: this.slowCalls,
      openings: this.openings,
      wouldTrips: this.wouldTrips,
      storeFallbacks: this.link === null ? 0 : this.link.fallbacks,
    };
  }

  /** Listeners run synchronously, in subscription order, before the call that caused the change settles. */
  onStateChange(listener: StateChangeListener): () => void {
    return this.stateListeners.add(listener);
  }

  /** Per-call events. Nothing is built for them while nobody listens. */
  onCall(listener: CallListener): () => void {
    return this.callListeners.add(listener);
  }

  private emitCall(kind: CallEventKind, slow: boolean, durationMs: number | undefined, error: unknown, stale: boolean): void {
    const event: CallEvent = { name: this.name, kind, slow, durationMs, error, stale };
    this.callListeners.emit(event, (listenerError) => this.onInternalError(listenerError, `onCall listener of circuit breaker "${this.name}"`));
  }

  /**
   * Clears every timer the breaker owns. Calls still in flight settle with their own outcome (no
   * deadline is enforced any more); the breaker keeps working but arms no timer again.
   */
  dispose(): void {
    this.disposed = true;
    const clock = this.opts.clock;
    this.deadlines?.stop();
    if (this.ownedTimers !== null) for (const handle of this.ownedTimers) cancelTimer(clock, handle);
    this.ownedTimers = null;
    this.trials?.stop();
    this.health?.stop();
    this.link?.leave();
  }
}

function noop(): void {}

const reported = new WeakSet<object>();
/** Default sink for errors from user callbacks: one warning per error object, never a crash. */
function reportOnce(error: unknown, where: string): void {
  if (typeof error === 'object' && error !== null) {
    if (reported.has(error)) return;
    reported.add(error);
  }
  process.emitWarning(`${where} threw: ${error instanceof Error ? error.message : String(error)}`, { code: 'CIRCUIT_BREAKER_CALLBACK_ERROR' });
}
