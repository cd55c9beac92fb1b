/**
 * The breaker's state machine. Framework-free: no NestJS, rxjs or reflect-metadata here.
 *
 * Hot-path rules this file keeps (bench/ measures them):
 * - closed + success + no timeout + no slow-call tracking + count window: no clock read, no
 *   allocation besides the promise an async `fn` already makes and the one our wrapper returns;
 * - open: no stack capture per rejection, one clock read;
 * - with `timeoutMs`: no timer and no AbortController per call (see deadlines.ts);
 * - events: nothing is built when nobody listens.
 *
 * Every admitted call carries a permit: `generation * PERMIT_SPAN + slot` (slot 0 outside
 * half_open). Each transition bumps the generation, so an outcome whose permit belongs to an earlier
 * generation is recognised as stale and cannot move the new state.
 */
import type { Clock } from './clock.js';
import { cancelTimer, scheduleTimer } from './clock.js';
import { DeadlineQueue, PendingCall, promiseFor } from './deadlines.js';
import { CircuitBreakerConfigError, CircuitBreakerTimeoutError, CircuitOpenError } from './errors.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings, ResolvedOptions } from './options.js';
import { resolveOptions } from './options.js';
import type { LinkedBreaker, StoreLink } from './fleet/store-link.js';
import { joinStore } from './fleet/store-session.js';
import type { SlidingWindow } from './sliding-window.js';
import { FAILURE, SLOW, createWindow } from './sliding-window.js';
import type { SharedState, WindowCounts } from './fleet/store.js';

export type CircuitState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled' | 'metrics_only';

/** Why a transition happened. */
export type TransitionReason =
  /** closed -> open */
  | 'failure_rate'
  | 'slow_call_rate'
  | 'consecutive_failures'
  /** open -> half_open */
  | 'open_duration_elapsed'
  | 'health_check_passed'
  /** half_open -> open */
  | 'trial_failed'
  | 'trial_slow'
  | 'probe_timeout'
  /** half_open -> closed */
  | 'trials_succeeded'
  /** manual control */
  | 'forced_open'
  | 'disabled'
  | 'metrics_only'
  | 'reset'
  /** another instance changed the state shared through the breaker's store */
  | 'shared_state';

export interface StateChangeEvent {
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** The breaker clock's `now()` at the transition. */
  readonly at: number;
  readonly reason: TransitionReason;
}

export type CallEventKind = 'success' | 'failure' | 'ignored' | 'not_permitted' | 'timeout';

export interface CallEvent {
  readonly name: string;
  readonly kind: CallEventKind;
  /** The call lasted at least `slowCallDurationMs` (only known when slow calls are tracked). */
  readonly slow: boolean;
  /** Known when the breaker read the clock for the call (timeouts, slow-call tracking). */
  readonly durationMs: number | undefined;
  /** The error for failure, ignored, timeout and not_permitted. */
  readonly error?: unknown;
  /** The call was admitted under an earlier state and only counts in the totals. */
  readonly stale: boolean;
}

export interface CircuitBreakerSnapshot {
  readonly name: string;
  readonly state: CircuitState;
  /** Calls in the window (ignored calls excluded). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Percent of `calls`; 0 with an empty window. */
  readonly failureRate: number;
  /** Percent of `calls`; 0 with an empty window. */
  readonly slowCallRate: number;
  readonly consecutiveFailures: number;
  /** Calls rejected since the breaker was created. */
  readonly notPermittedCalls: number;
  /** open: time left; half_open with every slot taken: until the oldest trial's probe timeout. */
  readonly retryAfterMs?: number;
  /** When the current opening began (open, half_open, forced_open). */
  readonly openedAt?: number;
  /** half_open only. */
  readonly halfOpenCallsInFlight?: number;
  /** metrics_only only: a trip rule holds right now. */
  readonly wouldTrip?: boolean;
  /**
   * Breakers with a `store` only: `shared` while the store answers, `local_fallback` while it does
   * not (the breaker then acts on its own state alone).
   */
  readonly store?: 'shared' | 'local_fallback';
}

/** Cumulative counters since creation (never reset: they back Prometheus counters). */
export interface CircuitBreakerTotals {
  readonly successfulCalls: number;
  readonly failedCalls: number;
  readonly ignoredCalls: number;
  readonly notPermittedCalls: number;
  readonly timeoutCalls: number;
  readonly slowCalls: number;
  readonly openings: number;
  /** metrics_only: how often a trip rule started to hold. */
  readonly wouldTrips: number;
  /** Breakers with a `store`: how often the store failed and the breaker fell back to local state. */
  readonly storeFallbacks: number;
}

export type StateChangeListener = (event: StateChangeEvent) => void;
export type CallListener = (event: CallEvent) => void;

/** How an open circuit reports a rejection: see {@link CircuitBreaker.execute}. */
export const RejectAs = { Auto: 0, Throw: 1, Promise: 2 } as const;
export type RejectAs = (typeof RejectAs)[keyof typeof RejectAs];

const PERMIT_SPAN = 65_536;
const NOT_PERMITTED = -1;

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const FORCED_OPEN = 3;
const DISABLED = 4;
const METRICS_ONLY = 5;
const STATE_NAMES: readonly CircuitState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled', 'metrics_only'];

const SUCCESS = 0;
const FAILED = 1;
const IGNORED = 2;
const TIMED_OUT = 3;
const OUTCOME_KINDS: readonly CallEventKind[] = ['success', 'failure', 'ignored', 'timeout'];

const AsyncFunction = (async () => {}).constructor;

type Thenable = { then: (onFulfilled: (value: unknown) => unknown, onRejected: (reason: unknown) => unknown) => unknown };

function isThenable(value: unknown): value is Thenable {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A circuit breaker. See README for the semantics of each state and option.
 *
 * ```ts
 * const breaker = new CircuitBreaker({ name: 'payments', failureRateThreshold: 50 });
 * const receipt = await breaker.execute(() => client.charge(order));
 * ```
 */
export class CircuitBreaker implements LinkedBreaker {
  readonly name: string;
  private opts: ResolvedOptions;
  private given: CircuitBreakerOptions;
  private window: SlidingWindow;

  private stateCode: number = CLOSED;
  private generation = 0;
  private permitBase = 0;
  private consecutiveFailures = 0;
  /** Openings since the last close: the k of the backoff. */
  private openStreak = 0;
  private openedAt = Number.NaN;
  private openUntil = 0;
  private wouldTripNow = false;
  /** Set once any call returned a thenable: open rejections then come as rejected promises. */
  private sawPromise = false;
  private disposed = false;
  /** isFailure's answer per error object (see countsAsFailure). */
  private classified: WeakMap<object, boolean> | null = null;
  /** Timers armed through schedule(), cleared by dispose(). */
  private ownedTimers: Set<unknown> | null = null;

  // half_open: start time of each trial slot (NaN = free)
  private trialStartedAt: number[];
  private trialsInFlight = 0;
  private trialSuccesses = 0;
  private probeTimer: unknown = undefined;

  // health-check recovery
  private healthTimer: unknown = undefined;
  private nextPollAt = 0;
  private pollSeq = 0;

  private deadlines: DeadlineQueue | null = null;
  /** retryAfterMs of the rejection being built (set by acquire when it returns NOT_PERMITTED). */
  private rejectRetryAfterMs: number | undefined = undefined;
  /** Open fast-fail: the last rejection, reused while generation and retryAfterMs are unchanged. */
  private lastRejection: CircuitOpenError | null = null;
  private lastRejected: Promise<never> | null = null;
  private lastRejectionGeneration = -1;
  /** Reactions recording the outcome of a native promise for one permit (rebuilt when the permit changes). */
  private reactionPermit = NOT_PERMITTED;
  private onFulfilled: (value: unknown) => unknown = identity;
  private onRejected: (error: unknown) => never = rethrow;

  /** The store this breaker shares its state through (null: local only, the default). */
  private link: StoreLink | null = null;
  /** A peer's open state being applied (its times replace the ones the transition would compute). */
  private adopted: SharedState | null = null;

  private stateListeners: StateChangeListener[] | null = null;
  private callListeners: CallListener[] | null = null;

  private successfulCalls = 0;
  private failedCalls = 0;
  private ignoredCalls = 0;
  private notPermittedCalls = 0;
  private timeoutCalls = 0;
  private slowCallsTotal = 0;
  private openings = 0;
  private wouldTrips = 0;

  /** Where errors thrown by listeners and predicates are reported (the Nest layer sets its Logger). */
  onInternalError: (error: unknown, where: string) => void = reportOnce;

  constructor(options: CircuitBreakerOptions) {
    this.opts = resolveOptions(options);
    this.given = { ...options };
    this.name = this.opts.name;
    this.window = createWindow(this.opts.slidingWindow);
    this.trialStartedAt = new Array<number>(this.opts.halfOpenMaxCalls).fill(Number.NaN);
    if (this.opts.store !== undefined) this.link = joinStore(this.opts.store, this);
  }

  get state(): CircuitState {
    return STATE_NAMES[this.stateCode]!;
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
   * Runs `fn` through the breaker and returns what it returns: a value for a sync function, a
   * promise for an async one. `fn` receives an AbortSignal only when `timeoutMs` applies and `fn`
   * declares a parameter; the signal aborts when the call times out.
   *
   * When the circuit does not admit the call, `fn` is not called and a {@link CircuitOpenError} is
   * thrown synchronously, or returned as a rejected promise when `fn` is an `async` function or this
   * breaker has already seen a call return a promise.
   */
  execute<T>(fn: (signal?: AbortSignal) => T): T {
    return this.run(fn, RejectAs.Auto);
  }

  /**
   * {@link execute} with the rejection shape fixed by the caller: `RejectAs.Throw` keeps a sync
   * function sync on a breaker that has seen promises, `RejectAs.Promise` always rejects. The Nest
   * layer uses it with the shape it reads from a method's metadata.
   */
  run<T>(fn: (signal?: AbortSignal) => T, rejectAs: RejectAs): T {
    if (typeof fn !== 'function') {
      throw new TypeError(`Circuit breaker "${this.name}": execute() expects a function, got ${typeof fn}`);
    }
    const permit = this.stateCode === CLOSED ? this.permitBase : this.acquire();
    if (permit === NOT_PERMITTED) return this.reject(fn, rejectAs) as T;
    if (this.opts.timeoutMs !== undefined) return this.runTimed(fn, permit);
    const startedAt = this.opts.slowCallDurationMs !== undefined ? this.opts.clock.now() : Number.NaN;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.onError(permit, error, startedAt);
      throw error;
    }
    if (isThenableOrThrows(result, this, permit, startedAt)) {
      this.sawPromise = true;
      if (startedAt !== startedAt && result instanceof Promise) {
        // No clock needed: record through reactions made once per permit (no closure, no async frame
        // per call). The returned promise settles after the outcome is recorded, and a failure still
        // rejects it, so a caller that ignores it still gets Node's unhandled-rejection report.
        if (this.reactionPermit !== permit) this.makeReactions(permit);
        return result.then(this.onFulfilled, this.onRejected) as T;
      }
      return this.follow(result, permit, startedAt) as T;
    }
    this.onResult(permit, result, startedAt);
    return result;
  }

  /**
   * Low-level API, for callers that run the call themselves (an Observable's subscription): takes a
   * permit or throws {@link CircuitOpenError}. Every permit must end in exactly one of
   * {@link recordSuccess}, {@link recordFailure} or {@link releasePermission}.
   */
  acquirePermission(): number {
    const permit = this.stateCode === CLOSED ? this.permitBase : this.acquire();
    if (permit === NOT_PERMITTED) throw this.rejection();
    return permit;
  }

  /** Records a permit's call as succeeded (`isResultFailure` applies to `result`). */
  recordSuccess(permit: number, result?: unknown, startedAtMs = Number.NaN): void {
    this.onResult(permit, result, startedAtMs);
  }

  /** Records a permit's call as failed (`isFailure` decides; a timeout error counts as a timeout). */
  recordFailure(permit: number, error: unknown, startedAtMs = Number.NaN): void {
    if (error instanceof CircuitBreakerTimeoutError) this.complete(permit, TIMED_OUT, startedAtMs, error);
    else this.onError(permit, error, startedAtMs);
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

  /** Returns a permit whose call counts as neither success nor failure (e.g. unsubscribed). */
  releasePermission(permit: number): void {
    this.complete(permit, IGNORED, Number.NaN, undefined);
  }

  // ---------------------------------------------------------------- admission

  /** Admission outside closed; returns a permit or NOT_PERMITTED (with rejectRetryAfterMs set). */
  private acquire(): number {
    switch (this.stateCode) {
      case CLOSED:
      case DISABLED:
      case METRICS_ONLY:
        return this.permitBase;
      case FORCED_OPEN:
        this.rejectRetryAfterMs = undefined;
        return NOT_PERMITTED;
      case OPEN: {
        const now = this.opts.clock.now();
        // A disposed breaker polls no more: it falls back to the open duration.
        if (this.opts.healthCheck !== undefined && !this.disposed) {
          this.rejectRetryAfterMs = ceilMs(this.nextPollAt - now);
          return NOT_PERMITTED;
        }
        if (now < this.openUntil) {
          this.rejectRetryAfterMs = ceilMs(this.openUntil - now);
          return NOT_PERMITTED;
        }
        this.transition(HALF_OPEN, 'open_duration_elapsed', now);
        // a state-change listener may have moved the circuit again: re-read it
        return (this.stateCode as number) === HALF_OPEN ? this.acquireTrial(now) : this.acquire();
      }
      default:
        return this.acquireTrial(this.opts.clock.now());
    }
  }

  private acquireTrial(now: number): number {
    if (this.expireTrials(now)) return this.acquire();
    const slots = this.trialStartedAt;
    if (this.trialsInFlight < slots.length) {
      for (let slot = 0; slot < slots.length; slot++) {
        if (slots[slot] !== slots[slot]) {
          // Shared: a trial also needs one of the fleet's permits (claimed ahead, never awaited here).
          const link = this.link;
          if (link !== null && link.active && !link.takeGrant(slot, now)) {
            this.rejectRetryAfterMs = link.retryAfterMs(now);
            return NOT_PERMITTED;
          }
          slots[slot] = now;
          if (this.trialsInFlight++ === 0) this.armProbeTimer(now);
          return this.permitBase + slot + 1;
        }
      }
    }
    this.rejectRetryAfterMs = ceilMs(this.oldestTrialStart() + this.opts.halfOpenProbeTimeoutMs - now);
    return NOT_PERMITTED;
  }

  private reject(fn: unknown, rejectAs: RejectAs): unknown {
    const error = this.rejection();
    if (rejectAs === RejectAs.Promise || (rejectAs === RejectAs.Auto && (this.sawPromise || fn instanceof AsyncFunction))) {
      // One rejected promise per error: Node's unhandled-rejection bookkeeping runs once, not per call.
      if (this.lastRejected === null) this.lastRejected = Promise.reject(error);
      return this.lastRejected;
    }
    throw error;
  }

  private rejection(): CircuitOpenError {
    this.notPermittedCalls++;
    const retryAfterMs = this.rejectRetryAfterMs;
    let error = this.lastRejection;
    if (error === null || this.lastRejectionGeneration !== this.generation || error.retryAfterMs !== retryAfterMs) {
      error = CircuitOpenError.withoutStack(this.name, retryAfterMs);
      this.lastRejection = error;
      this.lastRejectionGeneration = this.generation;
      this.lastRejected = null;
    }
    if (this.callListeners !== null) this.emitCall('not_permitted', false, undefined, error, false);
    return error;
  }

  // ---------------------------------------------------------------- calls

  private makeReactions(permit: number): void {
    this.reactionPermit = permit;
    this.onFulfilled = (value) => {
      this.onResult(permit, value, Number.NaN);
      return value;
    };
    this.onRejected = (error) => {
      this.onError(permit, error, Number.NaN);
      throw error;
    };
  }

  private async follow(promise: Thenable, permit: number, startedAt: number): Promise<unknown> {
    let value: unknown;
    try {
      value = await promise;
    } catch (error) {
      this.onError(permit, error, startedAt);
      throw error;
    }
    this.onResult(permit, value, startedAt);
    return value;
  }

  private runTimed<T>(fn: (signal?: AbortSignal) => T, permit: number): T {
    const clock = this.opts.clock;
    const startedAt = clock.now();
    const controller = fn.length > 0 ? new AbortController() : undefined;
    let result: T;
    try {
      result = controller === undefined ? fn() : fn(controller.signal);
    } catch (error) {
      this.onError(permit, error, startedAt);
      throw error;
    }
    if (!isThenableOrThrows(result, this, permit, startedAt)) {
      // A sync function cannot be interrupted; it is recorded like any other call.
      this.onResult(permit, result, startedAt);
      return result;
    }
    this.sawPromise = true;
    const call = new PendingCall(permit, startedAt, startedAt + this.opts.timeoutMs!, controller);
    const promise = promiseFor(call);
    if (!this.disposed) {
      const queue = (this.deadlines ??= new DeadlineQueue(
        () => this.opts.clock,
        (expired, now) => this.expire(expired, now),
      ));
      queue.add(call, startedAt);
    }
    try {
      result.then(
        (value) => this.settledInTime(call, value, false),
        (error) => this.settledInTime(call, error, true),
      );
    } catch (error) {
      // A thenable whose then() throws: the call failed now, not at its deadline.
      this.settledInTime(call, error, true);
    }
    return promise as T;
  }

  private settledInTime(call: PendingCall, outcome: unknown, failed: boolean): void {
    if (call.done) return; // timed out first: the late outcome is ignored
    call.done = true;
    this.deadlines?.remove(call);
    if (failed) {
      this.onError(call.permit, outcome, call.startedAt);
      call.reject(outcome);
    } else {
      this.onResult(call.permit, outcome, call.startedAt);
      call.resolve(outcome);
    }
  }

  private expire(call: PendingCall, now: number): void {
    // The timeout the call ran under (reconfigure may have changed it since).
    const error = new CircuitBreakerTimeoutError(this.name, call.deadline - call.startedAt);
    if (call.controller !== undefined) call.controller.abort(error);
    this.complete(call.permit, TIMED_OUT, call.startedAt, error, now);
    call.reject(error);
  }

  private onResult(permit: number, result: unknown, startedAt: number): void {
    const isResultFailure = this.opts.isResultFailure;
    const failed = isResultFailure !== undefined && this.predicate(isResultFailure, result, 'isResultFailure');
    this.complete(permit, failed ? FAILED : SUCCESS, startedAt, undefined);
  }

  private onError(permit: number, error: unknown, startedAt: number): void {
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

  /** Records one call's outcome in whatever state issued its permit. */
  private complete(permit: number, kind: number, startedAt: number, error: unknown, nowMs = Number.NaN): void {
    const state = this.stateCode;
    if (state === DISABLED && permit === this.permitBase) return; // disabled records nothing
    const opts = this.opts;
    let now = nowMs;
    let slow = 0;
    if (opts.slowCallDurationMs !== undefined && kind !== IGNORED && startedAt === startedAt) {
      if (now !== now) now = opts.clock.now();
      if (now - startedAt >= opts.slowCallDurationMs) slow = SLOW;
    }
    const stale = permit < this.permitBase || permit >= this.permitBase + PERMIT_SPAN;
    this.countTotals(kind, slow);
    if (this.callListeners !== null) {
      this.emitCall(OUTCOME_KINDS[kind]!, slow !== 0, startedAt === startedAt && now === now ? now - startedAt : undefined, error, stale);
    }
    if (stale) return;

    if (state === HALF_OPEN) {
      this.completeTrial(permit - this.permitBase - 1, kind, slow, now);
      return;
    }
    if (kind === IGNORED) return;
    if (state !== CLOSED && state !== METRICS_ONLY) return;

    const window = this.window;
    if (window.usesTime && now !== now) now = opts.clock.now();
    if (this.link !== null) this.link.count(kind === SUCCESS ? 0 : 1, slow === 0 ? 0 : 1);
    if (kind === SUCCESS) {
      this.consecutiveFailures = 0;
      window.record(slow, now);
      // Nothing can trip (the usual closed success): skip the rule evaluation.
      if (window.failures === 0 && window.slowCalls === 0 && state === CLOSED && this.consecutiveFailures === 0) return;
    } else {
      this.consecutiveFailures++;
      window.record(FAILURE | slow, now);
    }
    const reason = this.tripReason();
    if (state === METRICS_ONLY) {
      this.updateWouldTrip(reason !== null);
    } else if (reason !== null) {
      this.transition(OPEN, reason, now === now ? now : opts.clock.now());
    }
  }

  /** metrics_only: a would-be trip is counted each time a trip rule starts to hold. */
  private updateWouldTrip(holds: boolean): void {
    if (holds && !this.wouldTripNow) this.wouldTrips++;
    this.wouldTripNow = holds;
  }

  private countTotals(kind: number, slow: number): void {
    if (kind === SUCCESS) this.successfulCalls++;
    else if (kind === FAILED) this.failedCalls++;
    else if (kind === IGNORED) this.ignoredCalls++;
    else this.timeoutCalls++;
    if (slow !== 0) this.slowCallsTotal++;
  }

  private tripReason(): TransitionReason | null {
    const opts = this.opts;
    const reason = this.rateTripReason(this.window);
    if (reason !== null) return reason;
    if (opts.consecutiveFailureThreshold !== undefined && this.consecutiveFailures >= opts.consecutiveFailureThreshold) {
      return 'consecutive_failures';
    }
    return null;
  }

  private rateTripReason({ calls, failures, slowCalls }: WindowCounts): TransitionReason | null {
    const opts = this.opts;
    if (calls < opts.minimumCalls) return null;
    if (failures >= opts.minimumFailures && failures * 100 >= opts.failureRateThreshold * calls) return 'failure_rate';
    if (opts.slowCallDurationMs !== undefined && slowCalls * 100 >= opts.slowCallRateThreshold * calls) return 'slow_call_rate';
    return null;
  }

  // ---------------------------------------------------------------- half_open

  private completeTrial(slot: number, kind: number, slow: number, now: number): void {
    const slots = this.trialStartedAt;
    if (slot < 0 || slot >= slots.length || slots[slot] !== slots[slot]) return;
    slots[slot] = Number.NaN;
    this.trialsInFlight--;
    if (this.link !== null) {
      if (kind === SUCCESS && slow === 0) this.link.trialSucceeded(slot);
      else this.link.trialEnded(slot, kind === IGNORED);
    }
    if (kind === IGNORED) return; // the permit goes back; the trial did not count
    const at = now === now ? now : this.opts.clock.now();
    if (kind !== SUCCESS) {
      this.transition(OPEN, 'trial_failed', at);
    } else if (slow !== 0) {
      this.transition(OPEN, 'trial_slow', at);
    } else if (++this.trialSuccesses >= slots.length) {
      this.transition(CLOSED, 'trials_succeeded', at);
    }
  }

  /** A trial unsettled after `halfOpenProbeTimeoutMs` fails: re-opens. Returns true if it did. */
  private expireTrials(now: number): boolean {
    if (this.trialsInFlight === 0) return false;
    if (now - this.oldestTrialStart() < this.opts.halfOpenProbeTimeoutMs) return false;
    this.transition(OPEN, 'probe_timeout', now);
    return true;
  }

  private oldestTrialStart(): number {
    let oldest = Number.POSITIVE_INFINITY;
    const slots = this.trialStartedAt;
    for (let i = 0; i < slots.length; i++) if (slots[i]! < oldest) oldest = slots[i]!;
    return oldest;
  }

  private armProbeTimer(now: number): void {
    if (this.disposed) return;
    if (this.probeTimer !== undefined) cancelTimer(this.opts.clock, this.probeTimer);
    const due = this.oldestTrialStart() + this.opts.halfOpenProbeTimeoutMs;
    this.probeTimer = scheduleTimer(this.opts.clock, this.onProbeTimer, Math.max(0, due - now));
  }

  private readonly onProbeTimer = (): void => {
    this.probeTimer = undefined;
    if (this.stateCode !== HALF_OPEN || this.trialsInFlight === 0) return;
    const now = this.opts.clock.now();
    if (!this.expireTrials(now)) this.armProbeTimer(now);
  };

  // ---------------------------------------------------------------- open / health check

  /** The k-th consecutive opening waits min(openDurationMs * multiplier^(k-1), maxMs), less jitter. */
  private openDuration(k: number): number {
    const opts = this.opts;
    const backoff = opts.openDurationBackoff;
    if (backoff === undefined) return opts.openDurationMs;
    const duration = Math.min(opts.openDurationMs * Math.pow(backoff.multiplier, k - 1), backoff.maxMs);
    return backoff.jitter === 0 ? duration : duration - duration * backoff.jitter * Math.random();
  }

  private scheduleHealthPoll(now: number): void {
    const healthCheck = this.opts.healthCheck;
    if (healthCheck === undefined || this.disposed) return;
    this.nextPollAt = now + healthCheck.intervalMs;
    this.healthTimer = scheduleTimer(this.opts.clock, this.pollHealth, healthCheck.intervalMs);
  }

  private readonly pollHealth = (): void => {
    this.healthTimer = undefined;
    const healthCheck = this.opts.healthCheck;
    if (this.stateCode !== OPEN || healthCheck === undefined) return;
    const seq = ++this.pollSeq; // a newer poll makes a still-pending check's answer irrelevant
    const generation = this.generation;
    this.scheduleHealthPoll(this.opts.clock.now());
    let answer: unknown;
    try {
      answer = healthCheck.check();
    } catch (error) {
      this.onInternalError(error, `healthCheck.check of circuit breaker "${this.name}"`);
      return;
    }
    if (isThenable(answer)) {
      answer.then(
        (ok) => this.onHealthAnswer(seq, generation, ok === true),
        (error: unknown) => {
          this.onInternalError(error, `healthCheck.check of circuit breaker "${this.name}"`);
        },
      );
    } else {
      this.onHealthAnswer(seq, generation, answer === true);
    }
  };

  private onHealthAnswer(seq: number, generation: number, healthy: boolean): void {
    if (!healthy || seq !== this.pollSeq || generation !== this.generation || this.stateCode !== OPEN) return;
    this.transition(HALF_OPEN, 'health_check_passed', this.opts.clock.now());
  }

  // ---------------------------------------------------------------- transitions

  private transition(to: number, reason: TransitionReason, now: number): void {
    const from = this.stateCode;
    this.stateCode = to;
    this.generation++;
    this.permitBase = this.generation * PERMIT_SPAN;
    const clock = this.opts.clock;

    if (from === OPEN && this.healthTimer !== undefined) {
      cancelTimer(clock, this.healthTimer);
      this.healthTimer = undefined;
    }
    if (from === HALF_OPEN) {
      this.trialStartedAt.fill(Number.NaN);
      this.trialsInFlight = 0;
      if (this.probeTimer !== undefined) {
        cancelTimer(clock, this.probeTimer);
        this.probeTimer = undefined;
      }
    }
    this.wouldTripNow = false;

    switch (to) {
      case OPEN: {
        this.openings++;
        const adopted = this.adopted;
        this.adopted = null; // a listener's own transition below is this instance's, not the fleet's
        if (adopted !== null) {
          this.openStreak = adopted.openStreak;
          this.openedAt = adopted.openedAt;
          this.openUntil = adopted.openUntil;
        } else {
          this.openStreak++;
          this.openedAt = now;
          this.openUntil = now + this.openDuration(this.openStreak);
        }
        this.consecutiveFailures = 0;
        this.scheduleHealthPoll(now);
        break;
      }
      case HALF_OPEN:
        this.trialSuccesses = 0;
        break;
      case CLOSED:
        if (from === HALF_OPEN || reason === 'reset' || reason === 'shared_state') {
          this.window.clear();
          this.openStreak = 0;
        }
        this.consecutiveFailures = 0;
        this.openedAt = Number.NaN;
        break;
      case FORCED_OPEN:
        this.openedAt = now;
        break;
      default:
        this.openedAt = Number.NaN;
    }

    // metrics_only judges the window it inherits at once; a rule that already holds on entry is
    // not a new would-be trip (it tripped, or was forced, before), so it is not counted.
    if (to === METRICS_ONLY) this.wouldTripNow = this.tripReason() !== null;
    if (this.link !== null && reason !== 'shared_state') this.link.transitioned(reason);

    const listeners = this.stateListeners;
    if (listeners === null) return;
    const event: StateChangeEvent = { name: this.name, from: STATE_NAMES[from]!, to: STATE_NAMES[to]!, at: now, reason };
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onInternalError(error, `onStateChange listener of circuit breaker "${this.name}"`);
      }
    }
  }

  // ---------------------------------------------------------------- manual control

  /** Rejects every call until another manual transition. The window is kept. */
  forceOpen(): void {
    if (this.stateCode !== FORCED_OPEN) this.transition(FORCED_OPEN, 'forced_open', this.opts.clock.now());
  }

  /** Admits every call and records nothing. */
  disable(): void {
    if (this.stateCode !== DISABLED) this.transition(DISABLED, 'disabled', this.opts.clock.now());
  }

  /** Records and reports would-be trips (`snapshot().wouldTrip`) but never rejects. */
  metricsOnly(): void {
    if (this.stateCode !== METRICS_ONLY) this.transition(METRICS_ONLY, 'metrics_only', this.opts.clock.now());
  }

  /** Back to closed with an empty window and no backoff history. */
  reset(): void {
    if (this.stateCode !== CLOSED) {
      this.transition(CLOSED, 'reset', this.opts.clock.now());
      return;
    }
    this.restartClosed();
    this.link?.transitioned('reset');
  }

  /** A closed circuit starts afresh: empty window, no backoff history, in-flight outcomes stale. */
  private restartClosed(): void {
    this.window.clear();
    this.openStreak = 0;
    this.consecutiveFailures = 0;
    // Calls in flight belong to the window just cleared: make their outcomes stale.
    this.generation++;
    this.permitBase = this.generation * PERMIT_SPAN;
  }

  // ---------------------------------------------------------------- shared state (see fleet/store-link.ts)

  /** Applies a state the fleet agreed on. @internal */
  adoptShared(shared: SharedState): void {
    const to = SHARED_CODES[shared.state];
    if (to === undefined) return;
    if (to === OPEN && (this.stateCode === OPEN || (this.stateCode === HALF_OPEN && this.openedAt === shared.openedAt))) {
      // Already open here (two instances tripped at once, or our own opening confirmed): one
      // opening, not two. Take the fleet's times without a transition.
      this.openedAt = shared.openedAt;
      this.openUntil = shared.openUntil;
      this.openStreak = shared.openStreak;
      return;
    }
    if (to === this.stateCode && to !== OPEN) {
      // A newer closed state while closed: a peer's reset (the fleet's window was cleared too).
      if (to === CLOSED) this.restartClosed();
      return;
    }
    const now = this.opts.clock.now();
    this.adopted = to === OPEN ? shared : null;
    try {
      this.transition(to, 'shared_state', now);
    } finally {
      this.adopted = null;
    }
  }

  /** Trips a closed breaker when a rate rule holds on the fleet's window. @internal */
  judgeFleet(counts: WindowCounts): void {
    if (this.stateCode !== CLOSED) return;
    const reason = this.rateTripReason(counts);
    if (reason !== null) this.transition(OPEN, reason, this.opts.clock.now());
  }

  /** The local state as the fleet stores it (half_open is an open circuit whose trials have begun). @internal */
  sharedView(): Omit<SharedState, 'version'> {
    const code = this.stateCode;
    const state = code === HALF_OPEN ? 'open' : (STATE_NAMES[code] as SharedState['state']);
    return { state, openedAt: this.openedAt, openUntil: code === OPEN || code === HALF_OPEN ? this.openUntil : 0, openStreak: this.openStreak };
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
    if (previous.isFailure !== next.isFailure) this.classified = null;
    if (!sameWindow(previous.slidingWindow, next.slidingWindow)) this.window = createWindow(next.slidingWindow);
    if (previous.halfOpenMaxCalls !== next.halfOpenMaxCalls) {
      this.trialStartedAt = new Array<number>(next.halfOpenMaxCalls).fill(Number.NaN);
      this.trialsInFlight = 0;
      this.trialSuccesses = 0;
      if (this.stateCode === HALF_OPEN) {
        // In-flight trials were counted against the old limit: make them stale, start trials afresh.
        this.generation++;
        this.permitBase = this.generation * PERMIT_SPAN;
      }
    }
    const healthChanged =
      previous.healthCheck?.check !== next.healthCheck?.check || previous.healthCheck?.intervalMs !== next.healthCheck?.intervalMs;
    if (this.stateCode === OPEN && healthChanged) {
      if (this.healthTimer !== undefined) cancelTimer(previous.clock, this.healthTimer);
      this.healthTimer = undefined;
      this.scheduleHealthPoll(next.clock.now());
    }
  }

  // ---------------------------------------------------------------- observation

  snapshot(): CircuitBreakerSnapshot {
    return this.withStore(this.localSnapshot());
  }

  private localSnapshot(): CircuitBreakerSnapshot {
    const now = this.opts.clock.now();
    const window = this.window;
    window.advance(now);
    const calls = window.calls;
    const base = {
      name: this.name,
      state: this.state,
      calls,
      failures: window.failures,
      slowCalls: window.slowCalls,
      failureRate: calls === 0 ? 0 : (window.failures * 100) / calls,
      slowCallRate: calls === 0 ? 0 : (window.slowCalls * 100) / calls,
      consecutiveFailures: this.consecutiveFailures,
      notPermittedCalls: this.notPermittedCalls,
    };
    switch (this.stateCode) {
      case OPEN:
        return {
          ...base,
          retryAfterMs: ceilMs((this.opts.healthCheck !== undefined && !this.disposed ? this.nextPollAt : this.openUntil) - now),
          openedAt: this.openedAt,
        };
      case HALF_OPEN:
        return {
          ...base,
          openedAt: this.openedAt,
          halfOpenCallsInFlight: this.trialsInFlight,
          ...(this.trialsInFlight === this.trialStartedAt.length
            ? { retryAfterMs: ceilMs(this.oldestTrialStart() + this.opts.halfOpenProbeTimeoutMs - now) }
            : {}),
        };
      case FORCED_OPEN:
        return { ...base, openedAt: this.openedAt };
      case METRICS_ONLY:
        // A time window may have aged the failures out since the last call.
        this.updateWouldTrip(this.tripReason() !== null);
        return { ...base, wouldTrip: this.wouldTripNow };
      default:
        return base;
    }
  }

  private withStore(base: CircuitBreakerSnapshot): CircuitBreakerSnapshot {
    return this.link === null ? base : { ...base, store: this.link.active ? 'shared' : 'local_fallback' };
  }

  totals(): CircuitBreakerTotals {
    return {
      successfulCalls: this.successfulCalls,
      failedCalls: this.failedCalls,
      ignoredCalls: this.ignoredCalls,
      notPermittedCalls: this.notPermittedCalls,
      timeoutCalls: this.timeoutCalls,
      slowCalls: this.slowCallsTotal,
      openings: this.openings,
      wouldTrips: this.wouldTrips,
      storeFallbacks: this.link === null ? 0 : this.link.fallbacks,
    };
  }

  /** Listeners run synchronously, in subscription order, before the call that caused the change settles. */
  onStateChange(listener: StateChangeListener): () => void {
    this.stateListeners = [...(this.stateListeners ?? []), listener];
    return () => {
      const rest = (this.stateListeners ?? []).filter((l) => l !== listener);
      this.stateListeners = rest.length === 0 ? null : rest;
    };
  }

  /** Per-call events. Nothing is built for them while nobody listens. */
  onCall(listener: CallListener): () => void {
    this.callListeners = [...(this.callListeners ?? []), listener];
    return () => {
      const rest = (this.callListeners ?? []).filter((l) => l !== listener);
      this.callListeners = rest.length === 0 ? null : rest;
    };
  }

  private emitCall(kind: CallEventKind, slow: boolean, durationMs: number | undefined, error: unknown, stale: boolean): void {
    const event: CallEvent = { name: this.name, kind, slow, durationMs, error, stale };
    for (const listener of this.callListeners!) {
      try {
        listener(event);
      } catch (listenerError) {
        this.onInternalError(listenerError, `onCall listener of circuit breaker "${this.name}"`);
      }
    }
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
    if (this.probeTimer !== undefined) cancelTimer(clock, this.probeTimer);
    if (this.healthTimer !== undefined) cancelTimer(clock, this.healthTimer);
    this.probeTimer = this.healthTimer = undefined;
    this.link?.leave();
  }
}

const SHARED_CODES: Readonly<Record<string, number>> = { closed: CLOSED, open: OPEN, forced_open: FORCED_OPEN, disabled: DISABLED, metrics_only: METRICS_ONLY };

function noop(): void {}

/**
 * isThenable, for a value whose `then` getter may throw: such a value failed the call, which is
 * recorded before the error is rethrown to the caller.
 */
function isThenableOrThrows(value: unknown, breaker: CircuitBreaker, permit: number, startedAt: number): value is Thenable {
  try {
    return isThenable(value);
  } catch (error) {
    breaker.recordFailure(permit, error, startedAt);
    throw error;
  }
}

function identity(value: unknown): unknown {
  return value;
}

function rethrow(error: unknown): never {
  throw error;
}

function ceilMs(ms: number): number {
  return ms > 0 ? Math.ceil(ms) : 0;
}

function sameWindow(a: ResolvedOptions['slidingWindow'], b: ResolvedOptions['slidingWindow']): boolean {
  if (a.type === 'count' || b.type === 'count') return a.type === b.type && (a as { size: number }).size === (b as { size: number }).size;
  return a.durationMs === b.durationMs && a.buckets === b.buckets;
}

const reported = new WeakSet<object>();
/** Default sink for errors from user callbacks: one warning per error object, never a crash. */
function reportOnce(error: unknown, where: string): void {
  if (typeof error === 'object' && error !== null) {
    if (reported.has(error)) return;
    reported.add(error);
  }
  process.emitWarning(`${where} threw: ${error instanceof Error ? error.message : String(error)}`, { code: 'CIRCUIT_BREAKER_CALLBACK_ERROR' });
}
