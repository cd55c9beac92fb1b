/**
 * What a breaker tells its listeners: state changes (rare, always built) and per-call events (built
 * only while someone listens).
 */
import type { CircuitState } from './states/index.js';
import type { TripReason } from './trip-rules.js';

/** Why a transition happened. */
export type TransitionReason =
  /** closed -> open */
  | TripReason
  /** open -> half_open */
  | 'open_duration_elapsed'
  | 'health_check_passed'
  /** half_open -> open */
  | 'trial_failed'
  | 'trial_slow'
  | 'probe_timeout'
  /** half_open -> closed */
  | 'trials_succeeded'
  /** manual control (`manual_reset` is `reset()`, also on a closed breaker: then from and to are both closed) */
  | 'forced_open'
  | 'disabled'
  | 'metrics_only'
  | 'manual_reset'
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
  /**
   * How long the call took, in ms: known whenever `timeoutMs` or `slowCallDurationMs` applies to it
   * (the breaker reads the clock at its start). With a timeout on the default clock and no slow-call
   * tracking, the start comes from a 10 ms ticker: the duration may read up to 10 ms long.
   */
  readonly durationMs: number | undefined;
  /** The error for failure, ignored, timeout and not_permitted. */
  readonly error?: unknown;
  /** The call was admitted under an earlier state and only counts in the totals. */
  readonly stale: boolean;
}

export type StateChangeListener = (event: StateChangeEvent) => void;
export type CallListener = (event: CallEvent) => void;
