/** What a replay reports: per configuration and breaker, and what its chart needs. */
import type { CircuitState, TransitionReason } from '../core/index.js';
import type { Timeline } from './timeline.js';

/** An opening that follows the previous close by less than this is a flap. */
export const FLAP_WINDOW_MS = 60_000;

/** One opening of the circuit (from closed) until it closed again. */
export interface ReplayEpisode {
  /** When the circuit opened, epoch ms. */
  readonly openedAtMs: number;
  /** Which trip rule opened it. */
  readonly reason: TransitionReason;
  /** Failed trials (or hung probes) that re-opened it before it closed. */
  readonly reopenings: number;
  /** When it closed again, epoch ms; null if still open (or half_open) when the trace ended. */
  readonly closedAtMs: number | null;
  /**
   * When the dependency recovered, epoch ms: the start of the first successful call after the last
   * failed one (failure or timeout, by start time) before the close, per the trace, whether this
   * configuration admitted those calls or not. Null while still open at the end.
   */
  readonly recoveredAtMs: number | null;
  /** closedAtMs - recoveredAtMs: how long protection outlasted the outage. */
  readonly recoveryToCloseMs: number | null;
  /** Of a keyed family's result: the breaker (`family:key`) whose circuit opened. */
  readonly key?: string;
}

/** What a keyed family's result adds: its keys, each replayed as its own breaker. */
export interface FamilyKeys {
  /** Keys (breakers `family:key`) in the trace. */
  readonly count: number;
  /** Keys whose circuit opened at least once. */
  readonly opened: number;
  /** Keys whose circuit was not closed when their last call had settled. */
  readonly notClosedAtEnd: number;
  /** Openings (from closed) over all keys; `episodes` lists the earliest of them, at most 100. */
  readonly episodes: number;
}

/** What one configuration did with one breaker's calls. Times are epoch ms, like the trace's. */
export interface ReplayResult {
  /** The configuration's label (its file). */
  readonly config: string;
  readonly breaker: string;
  readonly calls: number;
  readonly admitted: number;
  readonly rejected: number;
  /** Transitions to open: first openings and re-openings after failed trials. */
  readonly openings: number;
  readonly firstOpenAtMs: number | null;
  /** Admitted calls recorded (or inferred) as failures or timeouts: calls that reached a failing dependency. */
  readonly failedCallsAdmitted: number;
  /** Rejected calls recorded (or inferred) as successes: the cost of protection. */
  readonly rejectedWouldSucceed: number;
  /** Rejected calls recorded (or inferred) as failures or timeouts: failures spared. */
  readonly rejectedWouldFail: number;
  /** Admitted calls that succeeded (or were ignored) in the trace but ran past this configuration's `timeoutMs`. */
  readonly timedOutByConfig: number;
  /** Openings (from closed) less than {@link FLAP_WINDOW_MS} after the previous close. */
  readonly flaps: number;
  /** The longest recoveryToCloseMs of the closed episodes; null when none closed. */
  readonly maxRecoveryToCloseMs: number | null;
  /** Their mean, rounded to the ms; null when none closed. */
  readonly meanRecoveryToCloseMs: number | null;
  /** Time spent open or half_open. */
  readonly timeNotClosedMs: number;
  /** The state when the last call had settled (of a family: the least closed of its keys). */
  readonly finalState: CircuitState;
  readonly episodes: readonly ReplayEpisode[];
  /**
   * Present when `breaker` is a family of keyed breakers (calls recorded as `family:key`): the
   * counts above are sums over its keys, `openings` and `flaps` counted per key.
   */
  readonly keys?: FamilyKeys;
}

/** The series a run's chart counts, per slice of start time. */
export type RunSeries = 'admitted' | 'rejected' | 'failedAdmitted' | 'rejectedWouldSucceed';
export const RUN_SERIES: readonly RunSeries[] = ['admitted', 'rejected', 'failedAdmitted', 'rejectedWouldSucceed'];

/** What a chart of a run needs besides the result. */
export interface RunTimeline {
  readonly counts: Timeline<RunSeries>;
  /** Every state change, in order (the circuit starts closed at the first call). */
  readonly states: readonly { readonly atMs: number; readonly state: CircuitState }[];
  /** When the last call settled. */
  readonly endMs: number;
}
