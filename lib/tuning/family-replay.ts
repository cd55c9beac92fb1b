/**
 * Keyed breakers (`registry.family('shards')`, `@UseCircuitBreaker('shards', { key })`) are recorded
 * under `family:key` names, one breaker per key. A replay treats them as production does: each key
 * its own breaker with the candidate's options, and reports the family as a whole (sums over keys,
 * with the number of keys), not one block per key.
 *
 * Memory is bounded per call, not per key and configuration: the family's calls are kept in flat
 * arrays (a few numbers each) while the trace streams, and each configuration then replays the keys
 * one after the other, through one breaker at a time, folding each key's result into the family's.
 * Replaying every key side by side would hold keys x configurations breakers (4,000 keys x 145
 * configurations of `suggest` were ~2.8 GB).
 */
import type { CircuitState } from '../core/index.js';
import type { CandidateConfig } from './candidate-config.js';
import type { CallOutcome, ReplayCall } from './rejected-inference.js';
import { RUN_SERIES } from './replay-result.js';
import type { ReplayEpisode, ReplayResult, RunSeries, RunTimeline } from './replay-result.js';
import { ReplayRun } from './replay-run.js';
import { Timeline } from './timeline.js';

/** A family's result keeps its earliest openings up to this many (`episodeCount` has them all). */
export const MAX_FAMILY_EPISODES = 100;

const OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'ignored', 'timeout'];
const OUTCOME_CODE: Readonly<Record<CallOutcome, number>> = { success: 0, failure: 1, ignored: 2, timeout: 3 };
/** Added to the outcome code of a call whose outcome was inferred. */
const INFERRED = 4;

/**
 * The family of a keyed breaker's name (`shards` of `shards:eu-1`), or undefined for a plain name.
 * A family name never holds ":" (the engine refuses it), so the first one separates.
 */
export function familyOf(name: string): string | undefined {
  const colon = name.indexOf(':');
  return colon > 0 && colon < name.length - 1 ? name.slice(0, colon) : undefined;
}

/** Which of two final states a family reports: the least closed. */
const STATE_RANK: Readonly<Record<CircuitState, number>> = { closed: 0, metrics_only: 0, disabled: 0, half_open: 1, open: 2, forced_open: 3 };

/** One family's calls, kept compactly until the trace has been read. */
export class FamilyReplay {
  calls = 0;
  private readonly keyIndex = new Map<string, number>();
  private readonly keyNames: string[] = [];
  private readonly keyFirstStart: number[] = [];
  private readonly starts: number[] = [];
  private readonly durations: number[] = [];
  private readonly codes: number[] = [];
  private readonly keys: number[] = [];
  private readonly lines: number[] = [];
  /** Built on the first replay (every call is in by then) and shared by the configurations. */
  private byKey: { calls: Uint32Array; offsets: Uint32Array } | undefined;

  constructor(readonly name: string) {}

  /** How many keys (breakers `family:key`) it has. */
  get keyCount(): number {
    return this.keyNames.length;
  }

  /** The breaker name of a key, keys numbered in order of first call. */
  keyName(index: number): string {
    return this.keyNames[index]!;
  }

  push(call: ReplayCall): void {
    if (this.byKey !== undefined) throw new RangeError('FamilyReplay.push(): the family was already replayed');
    let key = this.keyIndex.get(call.b);
    if (key === undefined) {
      key = this.keyNames.length;
      this.keyIndex.set(call.b, key);
      this.keyNames.push(call.b);
      this.keyFirstStart.push(call.t);
    }
    this.calls++;
    this.starts.push(call.t);
    this.durations.push(call.d);
    this.codes.push(OUTCOME_CODE[call.o] + (call.inferred ? INFERRED : 0));
    this.keys.push(key);
    this.lines.push(call.line);
  }

  /**
   * Replays the family through `config`: each key on its own breaker, one key at a time. With
   * `timeline`, the run's chart counts the whole family (no state band: keys change state apart).
   */
  replay(config: CandidateConfig, timeline: boolean, originMs: number): { result: ReplayResult; timeline: RunTimeline | undefined } {
    const order = (this.byKey ??= this.callsByKey());
    const counts = timeline ? new Timeline<RunSeries>(originMs, RUN_SERIES) : undefined;
    const total = new FamilyTotal(this.name, config.label);
    let endMs = originMs;
    for (let key = 0; key < this.keyNames.length; key++) {
      const keyName = this.keyNames[key]!;
      const run = new ReplayRun(config, keyName, this.keyFirstStart[key]!, counts === undefined ? {} : { counts });
      for (let i = order.offsets[key]!; i < order.offsets[key + 1]!; i++) {
        const call = order.calls[i]!;
        const code = this.codes[call]!;
        run.push({ t: this.starts[call]!, d: this.durations[call]!, o: OUTCOMES[code & 3]!, b: keyName, line: this.lines[call]!, inferred: code >= INFERRED });
      }
      const result = run.finish();
      total.add(result, keyName);
      endMs = Math.max(endMs, run.endedAtMs());
    }
    return { result: total.result(), timeline: counts === undefined ? undefined : { counts, states: [], endMs } };
  }

  /** Call indexes grouped by key (in start order within a key), and where each key's start. */
  private callsByKey(): { calls: Uint32Array; offsets: Uint32Array } {
    const offsets = new Uint32Array(this.keyNames.length + 1);
    for (const key of this.keys) offsets[key + 1]!++;
    for (let k = 0; k < this.keyNames.length; k++) offsets[k + 1]! += offsets[k]!;
    const next = offsets.slice(0, this.keyNames.length);
    const calls = new Uint32Array(this.keys.length);
    for (let i = 0; i < this.keys.length; i++) calls[next[this.keys[i]!]!++] = i;
    return { calls, offsets };
  }
}

/** A family's result, summed over its keys as they finish. */
class FamilyTotal {
  private calls = 0;
  private admitted = 0;
  private rejected = 0;
  private openings = 0;
  private firstOpenAtMs: number | null = null;
  private failedCallsAdmitted = 0;
  private rejectedWouldSucceed = 0;
  private rejectedWouldFail = 0;
  private timedOutByConfig = 0;
  private flaps = 0;
  private maxRecoveryToCloseMs: number | null = null;
  private closedEpisodes = 0;
  private totalRecoveryToCloseMs = 0;
  private timeNotClosedMs = 0;
  private finalState: ReplayResult['finalState'] = 'closed';
  private keys = 0;
  private keysOpened = 0;
  private keysNotClosedAtEnd = 0;
  private episodeCount = 0;
  private episodes: ReplayEpisode[] = [];

  constructor(
    private readonly name: string,
    private readonly config: string,
  ) {}

  add(r: ReplayResult, key: string): void {
    this.keys++;
    this.calls += r.calls;
    this.admitted += r.admitted;
    this.rejected += r.rejected;
    this.openings += r.openings;
    if (r.firstOpenAtMs !== null && (this.firstOpenAtMs === null || r.firstOpenAtMs < this.firstOpenAtMs)) this.firstOpenAtMs = r.firstOpenAtMs;
    this.failedCallsAdmitted += r.failedCallsAdmitted;
    this.rejectedWouldSucceed += r.rejectedWouldSucceed;
    this.rejectedWouldFail += r.rejectedWouldFail;
    this.timedOutByConfig += r.timedOutByConfig;
    this.flaps += r.flaps;
    this.timeNotClosedMs += r.timeNotClosedMs;
    if (r.episodes.length > 0) this.keysOpened++;
    if (r.finalState !== 'closed') this.keysNotClosedAtEnd++;
    if (STATE_RANK[r.finalState] > STATE_RANK[this.finalState]) this.finalState = r.finalState;
    for (const e of r.episodes) {
      if (e.recoveryToCloseMs === null) continue;
      this.closedEpisodes++;
      this.totalRecoveryToCloseMs += e.recoveryToCloseMs;
      if (this.maxRecoveryToCloseMs === null || e.recoveryToCloseMs > this.maxRecoveryToCloseMs) this.maxRecoveryToCloseMs = e.recoveryToCloseMs;
    }
    this.episodeCount += r.episodes.length;
    if (r.episodes.length === 0) return;
    // Keep the earliest openings over all keys (a stable sort: keys in order of first call on ties).
    const merged = [...this.episodes, ...r.episodes.slice(0, MAX_FAMILY_EPISODES).map((e) => ({ ...e, key }))];
    merged.sort((a, b) => a.openedAtMs - b.openedAtMs);
    this.episodes = merged.length > MAX_FAMILY_EPISODES ? merged.slice(0, MAX_FAMILY_EPISODES) : merged;
  }

  result(): ReplayResult {
    return {
      config: this.config,
      breaker: this.name,
      calls: this.calls,
      admitted: this.admitted,
      rejected: this.rejected,
      openings: this.openings,
      firstOpenAtMs: this.firstOpenAtMs,
      failedCallsAdmitted: this.failedCallsAdmitted,
      rejectedWouldSucceed: this.rejectedWouldSucceed,
      rejectedWouldFail: this.rejectedWouldFail,
      timedOutByConfig: this.timedOutByConfig,
      flaps: this.flaps,
      maxRecoveryToCloseMs: this.maxRecoveryToCloseMs,
      meanRecoveryToCloseMs: this.closedEpisodes === 0 ? null : Math.round(this.totalRecoveryToCloseMs / this.closedEpisodes),
      timeNotClosedMs: Math.round(this.timeNotClosedMs * 1000) / 1000,
      finalState: this.finalState,
      episodes: this.episodes,
      keys: { count: this.keys, opened: this.keysOpened, notClosedAtEnd: this.keysNotClosedAtEnd, episodes: this.episodeCount },
    };
  }
}
