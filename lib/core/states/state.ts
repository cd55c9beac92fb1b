/**
 * What a state is (the anchor is Resilience4j's CircuitBreakerStateMachine: one object per state,
 * the same few operations on each). A state object is stateless and shared by every breaker: what
 * a state needs to remember lives on the breaker ({@link StateHost}), created when the state is
 * entered (the half-open trials, the health poller's run) and dropped when it is left.
 *
 * Every admitted call carries a permit, `generation * PERMIT_SPAN` plus 0 outside half_open, or a
 * ticket per trial in half_open. Each transition bumps the generation, so an outcome whose permit
 * belongs to an earlier generation is stale: it counts in the totals, never toward the state it
 * finishes in. A permit of the current generation that no call holds is ignored.
 */
import type { StoreLink } from '../fleet/store-link.js';
import type { HealthPoller } from '../health-poller.js';
import type { ResolvedOptions } from '../options.js';
import type { TransitionReason } from '../events.js';
import type { SlidingWindow } from '../windows/sliding-window.js';
import type { CircuitState } from './index.js';
import type { Trials } from './half-open.js';

export const PERMIT_SPAN = 65_536;
export const NOT_PERMITTED = -1;

/** How a call ended. */
export const SUCCESS = 0;
export const FAILED = 1;
export const IGNORED = 2;
export const TIMED_OUT = 3;
export type Outcome = typeof SUCCESS | typeof FAILED | typeof IGNORED | typeof TIMED_OUT;

/** The breaker as its states see it (CircuitBreaker; these members are internal to the engine). */
export interface StateHost {
  readonly name: string;
  readonly opts: ResolvedOptions;
  readonly window: SlidingWindow;
  /** The store link (null without a store); it also holds a peer's open state being adopted. */
  readonly link: StoreLink | null;
  readonly state: CircuitState;
  /** open's health-check poller, made when first needed. */
  health: HealthPoller | null;
  readonly disposed: boolean;
  readonly permitBase: number;
  consecutiveFailures: number;
  /** Openings since the last close: the k of the backoff. */
  openStreak: number;
  /** When the current opening began (NaN when none). */
  openedAt: number;
  /** open: the earliest time of a trial. */
  openUntil: number;
  openings: number;
  /** The failure that opened the circuit (CircuitOpenError.cause of a rejection; none for forced_open). */
  openCause: unknown;
  /** half_open's own data. */
  trials: Trials | null;
  /** metrics_only: a trip rule holds right now. */
  wouldTrip: boolean;
  wouldTrips: number;
  /** retryAfterMs of the rejection an `acquire` that answered NOT_PERMITTED is building. */
  rejectRetryAfterMs: number | undefined;
  now(): number;
  /** The time the window reads (a coarse clock where its resolution is negligible). */
  windowNow(): number;
  acquire(): number;
  transition(to: CircuitState, reason: TransitionReason, nowMs: number, cause?: unknown): void;
  tripReason(): TransitionReason | null;
  onInternalError(error: unknown, where: string): void;
}

export interface StateBehaviour {
  readonly name: CircuitState;
  /** Calls it admits are recorded (disabled: not even in the totals). */
  readonly records: boolean;
  /** Admission: a permit, or NOT_PERMITTED with `host.rejectRetryAfterMs` set. */
  acquire(host: StateHost): number;
  /** Whether `permit`, of the current generation, is one this state issued and is still running. */
  holds(host: StateHost, permit: number): boolean;
  /** The outcome of a call this state admitted (stale outcomes never get here). `nowMs` may be NaN (not read). */
  record(host: StateHost, permit: number, outcome: Outcome, slow: boolean, nowMs: number, cause: unknown): void;
  /** Creates the state's own data. */
  enter(host: StateHost, from: StateBehaviour, reason: TransitionReason, nowMs: number, cause: unknown): void;
  /** Drops it (and its timers). */
  leave(host: StateHost): void;
  /** The state's own snapshot fields. */
  describe(host: StateHost, nowMs: number): StateDetails;
}

/** Snapshot fields that only some states have. */
export interface StateDetails {
  readonly retryAfterMs?: number;
  readonly openedAt?: number;
  readonly halfOpenCallsInFlight?: number;
  readonly wouldTrip?: boolean;
}

const NONE: StateDetails = {};

/** A state with the operations it does not define doing nothing (one shape for every state object). */
export function defineState(state: Pick<StateBehaviour, 'name' | 'acquire'> & Partial<StateBehaviour>): StateBehaviour {
  return {
    name: state.name,
    records: state.records ?? true,
    acquire: state.acquire,
    // closed, disabled, metrics_only issue the generation's base permit to every call
    holds: state.holds ?? ((host, permit) => permit === host.permitBase),
    record: state.record ?? (() => {}),
    enter: state.enter ?? (() => {}),
    leave: state.leave ?? (() => {}),
    describe: state.describe ?? (() => NONE),
  };
}

/** `nowMs`, or the clock's time when it was not read yet. */
export function timeOf(host: StateHost, nowMs: number): number {
  return nowMs === nowMs ? nowMs : host.now();
}

export function ceilMs(ms: number): number {
  return ms > 0 ? Math.ceil(ms) : 0;
}
