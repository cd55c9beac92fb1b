/**
 * One candidate configuration replayed over one breaker's calls, through the real engine: a
 * `CircuitBreaker` on a `ManualClock`, driven through its permit API (`acquirePermission`,
 * `recordSuccess`, `recordFailure`, `releasePermission`), so that every decision is the engine's
 * and nothing waits on a promise.
 *
 * Calls arrive in start order (`push`). Each starts at its `t`: the clock moves there, settling on
 * the way every call in flight that ended by then (a call ending at the very instant another starts
 * settles first) and firing the engine's timers (half-open probe timeouts) at their own due times.
 * An admitted call settles after its duration with its recorded outcome, or after `timeoutMs` as a
 * timeout when the candidate has a `timeoutMs` the call reached (deadlines are the caller's part
 * of the permit API, so the replay applies the engine's rule: a call still running at its deadline
 * times out). A rejected call never reaches the dependency.
 */
import { CircuitBreaker, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../core/index.js';
import type { CircuitState, StateChangeEvent, TransitionReason } from '../core/index.js';
import type { CandidateConfig } from './candidate-config.js';
import { MinHeap } from './min-heap.js';
import type { CallOutcome, ReplayCall } from './rejected-inference.js';
import { FLAP_WINDOW_MS, RUN_SERIES } from './replay-result.js';
import type { ReplayEpisode, ReplayResult, RunSeries, RunTimeline } from './replay-result.js';
import { Timeline } from './timeline.js';

/** The candidate's decision on one call. */
export interface CallDecision {
  readonly admitted: boolean;
  /** Admitted: how the call ends under this configuration (a timeout where it ran past `timeoutMs`). */
  readonly outcome: CallOutcome | undefined;
  /** Admitted: how long it runs under this configuration. */
  readonly durationMs: number | undefined;
}

export interface ReplayRunOptions {
  /** Keep per-slice counts and state changes for charts. Default false. */
  readonly timeline?: boolean;
  /**
   * Count the chart's series into this timeline (shared by the keys of a family) instead of one of
   * the run's own; no state changes are kept then.
   */
  readonly counts?: Timeline<RunSeries>;
  /** Told of each decision as it is made (a recorder simulating its trace uses it). */
  readonly onDecision?: (call: ReplayCall, decision: CallDecision) => void;
}

const SUCCESS = 0;
const FAILURE = 1;
const IGNORED = 2;
const TIMEOUT = 3;
const OUTCOME_CODE: Readonly<Record<CallOutcome, number>> = { success: SUCCESS, failure: FAILURE, ignored: IGNORED, timeout: TIMEOUT };

interface InFlight {
  readonly end: number;
  readonly seq: number;
  readonly permit: number;
  readonly start: number;
  readonly outcome: number;
}
/**
 * Times in a report, to the microsecond: an end time is a start plus a fractional duration, and
 * the float sum carries noise (1767603782533.8000488) that says nothing and reads badly.
 */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

const bySettle = (a: InFlight, b: InFlight): boolean => a.end < b.end || (a.end === b.end && a.seq < b.seq);

interface OpenEpisode {
  openedAtMs: number;
  reason: TransitionReason;
  reopenings: number;
  closedAtMs: number | null;
  recoveredAtMs: number | null;
}

export class ReplayRun {
  private readonly clock: ManualClock;
  private readonly breaker: CircuitBreaker;
  private readonly timeoutMs: number | undefined;
  private readonly inFlight = new MinHeap<InFlight>(bySettle);
  private readonly failureError = new Error('a failure recorded in the trace');
  private readonly timeoutError: CircuitBreakerTimeoutError;
  private readonly onDecision: ReplayRunOptions['onDecision'];
  private readonly timeline: Timeline<RunSeries> | undefined;
  private readonly states: { atMs: number; state: CircuitState }[] = [];
  private seq = 0;
  private calls = 0;
  private admitted = 0;
  private rejected = 0;
  private failedCallsAdmitted = 0;
  private rejectedWouldSucceed = 0;
  private rejectedWouldFail = 0;
  private timedOutByConfig = 0;
  private openings = 0;
  private flaps = 0;
  private lastClosedAtMs = Number.NaN;
  private readonly episodes: OpenEpisode[] = [];
  /** Start of the latest failed call so far, and of the first success after it (NaN: none yet). */
  private lastFailureStart = Number.NaN;
  private recoveryStart = Number.NaN;
  private lastStart: number;
  private endMs = Number.NaN;
  private result: ReplayResult | undefined;

  constructor(
    readonly config: CandidateConfig,
    readonly breakerName: string,
    /** The first call's start: the clock starts there. */
    startMs: number,
    options: ReplayRunOptions = {},
  ) {
    this.clock = new ManualClock(startMs);
    this.lastStart = startMs;
    this.breaker = new CircuitBreaker({ ...config.settings, name: breakerName, clock: this.clock });
    this.timeoutMs = this.breaker.options.timeoutMs;
    this.timeoutError = new CircuitBreakerTimeoutError(breakerName, this.timeoutMs ?? 0);
    this.onDecision = options.onDecision;
    if (options.counts !== undefined) {
      this.timeline = options.counts;
    } else if (options.timeline === true) {
      this.timeline = new Timeline(startMs, RUN_SERIES);
      this.states.push({ atMs: startMs, state: 'closed' });
    }
    this.breaker.onStateChange((event) => this.onStateChange(event));
  }

  /** The next call, in start order. */
  push(call: ReplayCall): void {
    const t = call.t;
    if (t < this.lastStart) throw new RangeError(`ReplayRun.push(): calls must come in start order (t = ${t} after ${this.lastStart})`);
    this.lastStart = t;
    this.settleUntil(t);
    this.advanceTo(t);
    const outcome = OUTCOME_CODE[call.o];
    // The trace's view of the dependency, for the recovery time of the next close.
    if (outcome === FAILURE || outcome === TIMEOUT) {
      this.lastFailureStart = t;
      this.recoveryStart = Number.NaN;
    } else if (outcome === SUCCESS && this.recoveryStart !== this.recoveryStart) {
      this.recoveryStart = t;
    }
    this.calls++;
    const timeline = this.timeline;
    let permit: number;
    try {
      permit = this.breaker.acquirePermission();
    } catch (error) {
      if (!(error instanceof CircuitOpenError)) throw error;
      this.rejected++;
      if (outcome === SUCCESS) this.rejectedWouldSucceed++;
      else if (outcome !== IGNORED) this.rejectedWouldFail++;
      if (timeline !== undefined) {
        timeline.add('rejected', t);
        if (outcome === SUCCESS) timeline.add('rejectedWouldSucceed', t);
      }
      this.onDecision?.(call, { admitted: false, outcome: undefined, durationMs: undefined });
      return;
    }
    this.admitted++;
    const failed = outcome === FAILURE || outcome === TIMEOUT;
    if (failed) this.failedCallsAdmitted++;
    if (timeline !== undefined) {
      timeline.add('admitted', t);
      if (failed) timeline.add('failedAdmitted', t);
    }
    let durationMs = call.d;
    let settlesAs = outcome;
    const timeoutMs = this.timeoutMs;
    if (timeoutMs !== undefined && durationMs >= timeoutMs) {
      if (!failed) this.timedOutByConfig++;
      durationMs = timeoutMs;
      settlesAs = TIMEOUT;
    }
    this.inFlight.push({ end: t + durationMs, seq: this.seq++, permit, start: t, outcome: settlesAs });
    this.onDecision?.(call, { admitted: true, outcome: settlesAs === outcome ? call.o : 'timeout', durationMs });
  }

  /** No more calls: settles those in flight and reports. The breaker is disposed. */
  finish(): ReplayResult {
    if (this.result !== undefined) return this.result;
    this.settleUntil(Number.POSITIVE_INFINITY);
    const endMs = Math.max(this.clock.now(), this.lastStart);
    this.breaker.dispose();
    this.endMs = endMs;
    const episodes: ReplayEpisode[] = this.episodes.map((e) => ({
      openedAtMs: roundMs(e.openedAtMs),
      reason: e.reason,
      reopenings: e.reopenings,
      closedAtMs: e.closedAtMs === null ? null : roundMs(e.closedAtMs),
      recoveredAtMs: e.recoveredAtMs === null ? null : roundMs(e.recoveredAtMs),
      recoveryToCloseMs: e.closedAtMs === null || e.recoveredAtMs === null ? null : roundMs(e.closedAtMs - e.recoveredAtMs),
    }));
    let timeNotClosedMs = 0;
    let closedEpisodes = 0;
    let maxRecoveryToCloseMs = Number.NEGATIVE_INFINITY;
    let totalRecoveryToCloseMs = 0;
    for (const e of episodes) {
      timeNotClosedMs += (e.closedAtMs ?? endMs) - e.openedAtMs;
      if (e.recoveryToCloseMs === null) continue;
      closedEpisodes++;
      totalRecoveryToCloseMs += e.recoveryToCloseMs;
      if (e.recoveryToCloseMs > maxRecoveryToCloseMs) maxRecoveryToCloseMs = e.recoveryToCloseMs;
    }
    this.result = {
      config: this.config.label,
      breaker: this.breakerName,
      calls: this.calls,
      admitted: this.admitted,
      rejected: this.rejected,
      openings: this.openings,
      firstOpenAtMs: episodes.length === 0 ? null : episodes[0]!.openedAtMs,
      failedCallsAdmitted: this.failedCallsAdmitted,
      rejectedWouldSucceed: this.rejectedWouldSucceed,
      rejectedWouldFail: this.rejectedWouldFail,
      timedOutByConfig: this.timedOutByConfig,
      flaps: this.flaps,
      maxRecoveryToCloseMs: closedEpisodes === 0 ? null : roundMs(maxRecoveryToCloseMs),
      meanRecoveryToCloseMs: closedEpisodes === 0 ? null : Math.round(totalRecoveryToCloseMs / closedEpisodes),
      timeNotClosedMs: roundMs(timeNotClosedMs),
      finalState: this.breaker.state,
      episodes,
    };
    return this.result;
  }

  /** When the last call settled (NaN before finish()). */
  endedAtMs(): number {
    return this.endMs;
  }

  /** The chart data; undefined unless asked for with `timeline: true`, or before finish(). */
  timelineData(): RunTimeline | undefined {
    if (this.timeline === undefined || this.result === undefined) return undefined;
    return { counts: this.timeline, states: this.states, endMs: this.endMs };
  }

  private advanceTo(atMs: number): void {
    const now = this.clock.now();
    if (atMs > now) this.clock.advance(atMs - now);
  }

  /** Settles, in order of their end, the calls in flight that end by `atMs`. */
  private settleUntil(atMs: number): void {
    const inFlight = this.inFlight;
    const breaker = this.breaker;
    for (let next = inFlight.peek(); next !== undefined && next.end <= atMs; next = inFlight.peek()) {
      inFlight.pop();
      this.advanceTo(next.end);
      switch (next.outcome) {
        case SUCCESS:
          breaker.recordSuccess(next.permit, undefined, next.start);
          break;
        case FAILURE:
          breaker.recordFailure(next.permit, this.failureError, next.start);
          break;
        case TIMEOUT:
          breaker.recordFailure(next.permit, this.timeoutError, next.start);
          break;
        default:
          breaker.releasePermission(next.permit);
      }
    }
  }

  private onStateChange(event: StateChangeEvent): void {
    if (this.states.length > 0) this.states.push({ atMs: event.at, state: event.to });
    if (event.to === 'open') {
      this.openings++;
      if (event.from === 'closed') {
        if (event.at - this.lastClosedAtMs < FLAP_WINDOW_MS) this.flaps++;
        this.episodes.push({ openedAtMs: event.at, reason: event.reason, reopenings: 0, closedAtMs: null, recoveredAtMs: null });
      } else {
        this.episodes[this.episodes.length - 1]!.reopenings++;
      }
    } else if (event.to === 'closed') {
      const episode = this.episodes[this.episodes.length - 1]!;
      episode.closedAtMs = event.at;
      // No success since the last failure (calls that started after the closing trial failed): the
      // dependency had not recovered by the close, which came no later than it could have.
      episode.recoveredAtMs = this.recoveryStart === this.recoveryStart ? this.recoveryStart : event.at;
      this.lastClosedAtMs = event.at;
    }
  }
}
