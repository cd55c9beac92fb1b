/**
 * The coordinator: options, the window, the state object in force, totals and listeners. What each
 * state does lives in states/ (one file per state, one table of them), running a call in
 * call-runner.ts and call-outcomes.ts, new options in reconfiguration.ts, manual control in
 * manual-control.ts, listeners in observers.ts, the fleet in fleet/ (the store link holds the
 * breaker's fleet-side state, so a breaker without a store carries none). Framework-free: no
 * NestJS, rxjs or reflect-metadata.
 *
 * Hot-path rules (bench/ measures them): closed + success + no timeout + no slow-call tracking is
 * `execute`'s own fast path: no clock read (a time window reads a coarse clock), no allocation
 * besides the promise an async `fn` already makes and the one `then` returns, no call through the
 * state object; events cost nothing when nobody listens.
 */
import type { Clock } from './clock.js';
import { cancellableTimer } from './clock.js';
import { PermitTickets, completeCall, emitCallEvent, endPermit } from './call-outcomes.js';
import { NO_REACTIONS, observe, runCall, settleOther } from './call-runner.js';
import { reportOnce } from './callback-errors.js';
import type { Reactions } from './call-runner.js';
import { windowClock } from './coarse-clock.js';
import type { DeadlineQueue } from './deadlines.js';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './errors.js';
import type { CallEvent, CallListener, StateChangeEvent, StateChangeListener, TransitionReason } from './events.js';
import { FailureClassifier } from './failure-classifier.js';
import { openingFactsOf } from './fleet/shared-view.js';
import type { StoreLink } from './fleet/store-link.js';
import { joinStore } from './fleet/store-session.js';
import type { OpeningFacts } from './fleet/store.js';
import type { HealthPoller } from './health-poller.js';
import { Listeners } from './listeners.js';
import { enterManual, resetBreaker } from './manual-control.js';
import { announceTransition, watchCalls } from './observers.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings, ResolvedOptions } from './options.js';
import { resolveOptions } from './options.js';
import { ratioWarningMuted, warnIfRatioThreshold } from './ratio-warning.js';
import { reconfigureBreaker } from './reconfiguration.js';
import { ShadowSet } from './shadows.js';
import { Rejections } from './rejections.js';
import { CallTotals, snapshotOf } from './snapshot.js';
import type { CircuitBreakerSnapshot, CircuitBreakerTotals } from './snapshot.js';
import { recordClosedSuccess } from './states/closed.js';
import type { Trials } from './states/half-open.js';
import type { CircuitState } from './states/index.js';
import { STATE_TABLE } from './states/index.js';
import type { Outcome, StateBehaviour } from './states/state.js';
import { FAILED, IGNORED, NOT_PERMITTED, PERMIT_SPAN, SUCCESS, TIMED_OUT } from './states/state.js';
import type { TripRule } from './trip-rules.js';
import { tripReason, tripRulesFor } from './trip-rules.js';
import { createWindow } from './windows/index.js';
import type { SlidingWindow } from './windows/sliding-window.js';

export type { CallEvent, CallEventKind, CallListener, StateChangeEvent, StateChangeListener, TransitionReason } from './events.js';
export type { CircuitBreakerSnapshot, CircuitBreakerTotals } from './snapshot.js';
export type { CircuitState } from './states/index.js';

const closedState = STATE_TABLE.closed.behaviour;
const promiseThen = Promise.prototype.then;

/**
 * A circuit breaker. docs/behaviour.md describes each state and rule, docs/options.md each option.
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

  // The engine's own state, shared with states/, call-runner.ts and fleet/ (not published).
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
  /** What opened the circuit (this instance's window, the fleet's, or a peer's facts when adopted). @internal */
  openFacts: OpeningFacts | null = null;
  /** @internal */ rejectRetryAfterMs: number | undefined = undefined;
  /** @internal */ disposed = false;
  /** The store link, with the breaker's fleet-side state (fleet/store-link.ts); null without a store. @internal */
  link: StoreLink | null = null;
  /** @internal */ deadlines: DeadlineQueue | null = null;
  /** How many observers need every call's start (recordCalls, shadows judging durations): see observers.ts timeCalls. @internal */
  timedObservers = 0;
  /** The shadow configurations evaluated beside this one (shadows.ts); null without `shadows`. @internal */
  shadowSet: ShadowSet | null = null;
  /** @internal */ readonly classifier: FailureClassifier = new FailureClassifier(this);
  /** @internal */ readonly totalsSoFar = new CallTotals();
  /** Made on the first rejection. @internal */ rejections: Rejections | null = null;
  /** Low-level permits of a shared-permit state (call-outcomes.ts). @internal */ tickets: PermitTickets | null = null;
  /** The reactions that record a native promise's outcome, made for the current permit on first use. @internal */
  reactions: Reactions = NO_REACTIONS;
  /** A family's call counter at this key's last use (kept here: a known key costs one Map lookup, no entry object). @internal */
  familyUse = 0;

  /** Closed, no timeout and no slow-call tracking: a call needs no clock (execute's fast path). */
  private fast = true;
  /** Closed, no slow-call tracking, no isResultFailure, nobody listening to calls: a success is recorded by closed's own function. */
  private quiet = true;
  /** The options as given (reconfigure merges into them). @internal */ given: CircuitBreakerOptions;
  /** @internal */ clockOfWindow: Clock;
  /** @internal */ rules: readonly TripRule[];
  private generation = 0;
  /** @internal */ readonly stateListeners = new Listeners<StateChangeEvent>();
  /** @internal */ readonly callListeners = new Listeners<CallEvent>();
  private warnedRatios = false;

  constructor(options: CircuitBreakerOptions) {
    this.opts = resolveOptions(options);
    this.given = { ...options };
    this.name = this.opts.name;
    this.window = createWindow(this.opts.slidingWindow);
    this.clockOfWindow = windowClock(this.opts.clock, this.window.sliceMs);
    this.rules = tripRulesFor(this.opts);
    this.warnedRatios = ratioWarningMuted();
    this.settle();
    if (this.opts.shadows !== undefined) this.shadowSet = new ShadowSet(this, this.given, this.opts.shadows);
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
        if (result instanceof Promise && result.then === promiseThen) return observe(this, result, permit) as Promise<T>;
      } catch (error) {
        if (typeof fn !== 'function') return runCall(this, fn, false) as Promise<T>; // a TypeError, nothing recorded
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
   * (`timeoutMs`), as with {@link execute}: the outcome is recorded before the caller's own
   * reactions run. So a function's own shape is kept: a sync result stays sync, a promise stays a promise.
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
    return (this.tickets ??= new PermitTickets()).issue(permit, this.permitBase);
  }

  /**
   * Records a permit's call as succeeded (`isResultFailure` applies to `result`). A value that is
   * not a permit throws a TypeError; a permit already ended, or never issued, is ignored.
   */
  recordSuccess(permit: number, result?: unknown, startedAtMs = Number.NaN): void {
    const live = endPermit(this, permit, 'recordSuccess');
    if (live !== NOT_PERMITTED) this.recordResult(live, result, startedAtMs);
  }

  /** Records a permit's call as failed (`isFailure` decides; a timeout error counts as a timeout). */
  recordFailure(permit: number, error: unknown, startedAtMs = Number.NaN): void {
    const live = endPermit(this, permit, 'recordFailure');
    if (live === NOT_PERMITTED) return;
    if (error instanceof CircuitBreakerTimeoutError) this.complete(live, TIMED_OUT, startedAtMs, error);
    else this.recordError(live, error, startedAtMs);
  }

  /** Returns a permit whose call counts as neither success nor failure (e.g. unsubscribed). */
  releasePermission(permit: number): void {
    const live = endPermit(this, permit, 'releasePermission');
    if (live !== NOT_PERMITTED) this.complete(live, IGNORED, Number.NaN, undefined);
  }

  /** Whether `error` counts as a failure under `isFailure` (false: the breaker ignores it). */
  countsAsFailure(error: unknown): boolean {
    return this.classifier.errorCounts(error);
  }

  /**
   * Runs `callback` after `delayMs` on the breaker's clock (the Nest layer times Observable calls
   * with it). Returns a function that cancels it. A call's deadline, so `dispose()` leaves it armed:
   * the call still times out (nothing waits forever) and the timer is gone once it fires or the
   * call settles and cancels it.
   * @internal
   */
  schedule(callback: () => void, delayMs: number): () => void {
    return cancellableTimer(this.opts.clock, callback, delayMs);
  }

  // ---------------------------------------------------------------- admission and outcomes (engine-internal)

  /** The time the window reads (the coarse clock where its resolution is negligible). @internal */
  windowNow(): number {
    return this.window.usesTime ? this.clockOfWindow.now() : 0;
  }

  /** A permit, or NOT_PERMITTED with rejectRetryAfterMs set. @internal */
  acquire(): number {
    const state = this.current;
    return state === closedState ? this.permitBase : state.acquire(this);
  }

  /** The error of a call the circuit did not admit (counted, and shared: see rejections.ts). @internal */
  rejection(): CircuitOpenError {
    this.totalsSoFar.notPermittedCalls++;
    const error = (this.rejections ??= new Rejections()).errorFor(this.name, this.generation, this.rejectRetryAfterMs, this.openCause);
    if (!this.callListeners.empty) emitCallEvent(this, 'not_permitted', false, undefined, error, false);
    return error;
  }

  /** @internal */
  recordResult(permit: number, result: unknown, startedAt: number): void {
    if (permit === this.permitBase && this.quiet) {
      // The usual closed success: straight to closed's own recording, no dispatch through the state object.
      this.totalsSoFar.successfulCalls++;
      recordClosedSuccess(this, Number.NaN);
      return;
    }
    const failed = this.classifier.resultFails(result);
    this.complete(permit, failed ? FAILED : SUCCESS, startedAt, undefined, Number.NaN, failed ? result : undefined);
  }

  /** @internal */
  recordError(permit: number, error: unknown, startedAt: number): void {
    this.complete(permit, this.classifier.errorCounts(error) ? FAILED : IGNORED, startedAt, error);
  }

  /** Records one call's outcome in whatever state issued its permit (call-outcomes.ts). @internal */
  complete(permit: number, outcome: Outcome, startedAt: number, error: unknown, nowMs = Number.NaN, result?: unknown): void {
    completeCall(this, permit, outcome, startedAt, error, nowMs, result);
  }

  /** @internal */
  tripReason(): TransitionReason | null {
    return tripReason(this.rules, this.window, this.consecutiveFailures, this.opts);
  }

  /** Swaps the state object: the old state drops its data, the new one makes its own. @internal */
  transition(to: CircuitState, reason: TransitionReason, nowMs: number, cause?: unknown): void {
    const from = this.current;
    const next = STATE_TABLE[to].behaviour;
    // An adopted opening carries the facts of the instance that opened it (shared-view.ts sets them).
    if (reason !== 'shared_state' && (to === 'open' || to === 'forced_open')) this.openFacts = openingFactsOf(this, reason);
    from.leave(this);
    this.current = next;
    this.bumpGeneration();
    next.enter(this, from, reason, nowMs, cause);
    this.settle();
    announceTransition(this, from.name, to, reason, nowMs);
  }

  /**
   * After a change of state, options or call listeners: execute's fast path holds while closed
   * without timeout or slow-call tracking, and so on (see `fast`, `quiet`); a threshold that looks
   * like a ratio (0.5 meant as 50 %) gets one warning per breaker.
   * @internal
   */
  settle(): void {
    const opts = this.opts;
    const closed = this.current === closedState;
    this.fast = closed && opts.timeoutMs === undefined && opts.slowCallDurationMs === undefined && this.timedObservers === 0;
    this.quiet = closed && opts.slowCallDurationMs === undefined && opts.isResultFailure === undefined && this.callListeners.empty;
    if (!this.warnedRatios) this.warnedRatios = warnIfRatioThreshold(opts);
  }

  /** Calls in flight become stale (their outcomes no longer count toward the state). */
  private bumpGeneration(): void {
    this.generation++;
    this.permitBase = this.generation * PERMIT_SPAN;
  }

  // ---------------------------------------------------------------- manual control

  /** Rejects every call until another manual transition. The window is kept. */
  forceOpen(): void {
    enterManual(this, 'forced_open');
  }

  /** Admits every call and records nothing. */
  disable(): void {
    enterManual(this, 'disabled');
  }

  /** Records and reports would-be trips (`snapshot().wouldTrip`) but never rejects. */
  metricsOnly(): void {
    enterManual(this, 'metrics_only');
  }

  /**
   * Back to closed with an empty window and no backoff history. Always announced (reason
   * `manual_reset`), also on a closed breaker, where the event goes from closed to closed.
   */
  reset(): void {
    resetBreaker(this);
  }

  /** A closed circuit starts afresh: empty window, no backoff history, in-flight outcomes stale. @internal */
  restartClosed(): void {
    this.window.clear();
    this.openStreak = 0;
    this.consecutiveFailures = 0;
    this.bumpGeneration();
    this.settle();
  }

  /**
   * Applies new options without a restart; the merged options are validated first (an invalid
   * value throws and changes nothing). The window is rebuilt (empty) only when its shape changes;
   * new `timeoutMs` values apply to calls started afterwards; a new `halfOpenMaxCalls` in half_open
   * caps the trials running (which keep counting) and the successes that close.
   */
  reconfigure(settings: CircuitBreakerSettings): void {
    reconfigureBreaker(this, settings);
  }

  // ---------------------------------------------------------------- observation

  snapshot(): CircuitBreakerSnapshot {
    return snapshotOf(this);
  }

  totals(): CircuitBreakerTotals {
    return this.totalsSoFar.report(this.openings, this.wouldTrips, this.link);
  }

  /** Listeners run synchronously, in subscription order, before the caller of the call that caused the change resumes. */
  onStateChange(listener: StateChangeListener): () => void {
    return this.stateListeners.add(listener);
  }

  /** Someone listens to call events (runTimed then delivers a timeout in the call's own async context). @internal */
  get listening(): boolean {
    return !this.callListeners.empty;
  }

  /** Per-call events. Nothing is built for them while nobody listens. */
  onCall(listener: CallListener): () => void {
    return watchCalls(this, listener);
  }

  /**
   * Stops the breaker's own timers (health-check polls, half-open probe timers) and leaves the
   * store. Calls in flight keep their `timeoutMs` deadline, so a call to a hung dependency still
   * times out and `app.close()` never waits forever; a deadline timer stays armed only while a
   * timed call is in flight. The breaker keeps working afterwards.
   */
  dispose(): void {
    this.disposed = true;
    this.deadlines?.drain();
    this.trials?.stop();
    this.health?.stop();
    this.shadowSet?.dispose();
    this.link?.leave();
  }
}
