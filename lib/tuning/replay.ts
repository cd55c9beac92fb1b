/**
 * `replay`: reads a trace once and replays each breaker's calls through every candidate
 * configuration side by side (trace reader -> rejected-call inference -> one ReplayRun per
 * breaker and configuration). Nothing in a report depends on the wall clock or on chance: the
 * same trace and configurations give the same report, byte for byte once serialised.
 */
import { CircuitBreakerConfigError } from '../core/index.js';
import type { CandidateConfig } from './candidate-config.js';
import { FamilyReplay, familyOf } from './family-replay.js';
import { REJECTED_INFERENCE_RULE, RejectedCallInference } from './rejected-inference.js';
import type { InferenceCounts, ReplayCall } from './rejected-inference.js';
import { ReplayRun } from './replay-run.js';
import type { ReplayResult, RunTimeline } from './replay-result.js';
import { Timeline } from './timeline.js';
import { readTrace } from './trace-reader.js';
import type { TraceInput, TraceReaderOptions } from './trace-reader.js';
import { TraceError } from './trace-record.js';

export interface ReplayOptions extends TraceReaderOptions {
  /** The candidates, in the order reports list them. At least one. */
  readonly configs: readonly CandidateConfig[];
  /**
   * Replay only this breaker's calls: a breaker's name, or a family of keyed breakers (`shards`
   * for the calls recorded as `shards:<key>`). Default: every breaker of the trace, each on its own
   * (the keys of a family replayed together, each as its own breaker, and reported as one).
   */
  readonly breaker?: string;
  /** Keep what the HTML report's charts need (`charts` of the outcome). Default false. */
  readonly timeline?: boolean;
}

/** One breaker of the trace. */
export interface TraceBreakerSummary {
  readonly name: string;
  readonly calls: number;
  /** Calls the recording breaker rejected, and how their outcomes were inferred. */
  readonly recordedRejected: number;
  readonly inferred: Omit<InferenceCounts, 'rejected'>;
  /** A family of keyed breakers (calls recorded as `name:<key>`): how many keys it has. */
  readonly keys?: number;
}

/** What was read. */
export interface TraceSummary {
  /** The trace as given (file name). */
  readonly source: string;
  readonly lines: number;
  /** Calls replayed (of the breakers replayed). */
  readonly calls: number;
  /** Lines that came out of start order and were put back in it. */
  readonly outOfOrder: number;
  /** A last line cut off mid-write, skipped; null when there was none. */
  readonly incompleteLastLine: number | null;
  /** First and last call start, epoch ms. */
  readonly startMs: number;
  readonly endMs: number;
  readonly breakers: readonly TraceBreakerSummary[];
  /** How the outcome of a call recorded as rejected is inferred. */
  readonly inferenceRule: string;
}

/** The report: plain data, the same for the same input. */
export interface ReplayReport {
  readonly trace: TraceSummary;
  /** Per breaker (in order of first call), per configuration (in the order given). */
  readonly results: readonly ReplayResult[];
}

/** The series of the trace's own chart (the dependency as recorded), per slice of start time. */
export type TraceSeries = 'success' | 'failure' | 'ignored' | 'inferred';
export const TRACE_SERIES: readonly TraceSeries[] = ['success', 'failure', 'ignored', 'inferred'];

/** Chart data of one breaker: the trace, and each configuration's run in `results` order. */
export interface BreakerCharts {
  readonly breaker: string;
  readonly trace: Timeline<TraceSeries>;
  readonly runs: readonly RunTimeline[];
}

export interface ReplayOutcome {
  readonly report: ReplayReport;
  /** Empty unless `timeline` was asked for. */
  readonly charts: readonly BreakerCharts[];
}

interface BreakerReplay {
  readonly kind: 'breaker';
  readonly name: string;
  readonly runs: ReplayRun[];
  readonly trace: Timeline<TraceSeries> | undefined;
  calls: number;
}

/** A family of keyed breakers: its calls are kept (compactly) and replayed once the trace is read. */
interface FamilyGroup {
  readonly kind: 'family';
  readonly name: string;
  readonly replay: FamilyReplay;
  readonly trace: Timeline<TraceSeries> | undefined;
  /** Breaker names already checked against the engine's rules. */
  readonly checked: Set<string>;
}

/** Replays `input` (a file path, a stream, or chunks of text) through each configuration. */
export async function replayTrace(input: TraceInput, options: ReplayOptions): Promise<ReplayOutcome> {
  const configs = options.configs;
  if (configs.length === 0) throw new RangeError('replayTrace needs at least one configuration');
  const source = options.source ?? (typeof input === 'string' ? input : 'trace');
  const wanted = options.breaker;
  const timeline = options.timeline === true;
  const breakers = new Map<string, BreakerReplay>();
  const families = new Map<string, FamilyGroup>();
  /** Breakers and families in order of first call. */
  const groups: (BreakerReplay | FamilyGroup)[] = [];
  const otherBreakers = new Set<string>();
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;

  const onCall = (call: ReplayCall): void => {
    // `--breaker shards:k1` replays that one key as a breaker of its own.
    const familyName = wanted === call.b ? undefined : familyOf(call.b);
    let trace: Timeline<TraceSeries> | undefined;
    if (familyName !== undefined) {
      let family = families.get(familyName);
      if (family === undefined) {
        family = { kind: 'family', name: familyName, replay: new FamilyReplay(familyName), trace: timeline ? new Timeline(call.t, TRACE_SERIES) : undefined, checked: new Set() };
        families.set(familyName, family);
        groups.push(family);
      }
      if (!family.checked.has(call.b)) {
        // Checked as the call arrives, as a plain breaker's name is: a bad name fails on its line.
        startBreaker(call, configs.slice(0, 1), source, false).runs[0]!.finish();
        family.checked.add(call.b);
      }
      family.replay.push(call);
      trace = family.trace;
    } else {
      let breaker = breakers.get(call.b);
      if (breaker === undefined) {
        breaker = startBreaker(call, configs, source, timeline);
        breakers.set(call.b, breaker);
        groups.push(breaker);
      }
      breaker.calls++;
      trace = breaker.trace;
      for (const run of breaker.runs) run.push(call);
    }
    if (trace !== undefined) {
      trace.add(call.o === 'success' ? 'success' : call.o === 'ignored' ? 'ignored' : 'failure', call.t);
      if (call.inferred) trace.add('inferred', call.t);
    }
  };
  const inference = new RejectedCallInference(onCall);
  const summary = await readTrace(
    input,
    (record) => {
      if (wanted !== undefined && record.b !== wanted && familyOf(record.b) !== wanted) {
        if (otherBreakers.size < 20) otherBreakers.add(familyOf(record.b) ?? record.b);
        return;
      }
      if (record.t < startMs) startMs = record.t;
      if (record.t > endMs) endMs = record.t;
      inference.push(record);
    },
    { ...options, source },
  );
  inference.end();

  if (groups.length === 0) {
    const problem =
      wanted === undefined
        ? 'the trace holds no calls'
        : `the trace holds no call of breaker "${wanted}"${otherBreakers.size === 0 ? '' : `; it has calls of ${[...otherBreakers].map((b) => `"${b}"`).join(', ')}`}`;
    throw new TraceError(source, undefined, problem);
  }
  const counts = inference.counts();
  const results: ReplayResult[] = [];
  const charts: BreakerCharts[] = [];
  const breakerSummaries: TraceBreakerSummary[] = [];
  for (const group of groups) {
    if (group.kind === 'breaker') {
      const { rejected, ...inferred } = counts.get(group.name)!;
      breakerSummaries.push({ name: group.name, calls: group.calls, recordedRejected: rejected, inferred });
      for (const run of group.runs) results.push(run.finish());
      if (group.trace !== undefined) charts.push({ breaker: group.name, trace: group.trace, runs: group.runs.map((run) => run.timelineData()!) });
      continue;
    }
    const family = group.replay;
    const total = { rejected: 0, successes: 0, failures: 0, timeouts: 0, withoutNeighbour: 0 };
    for (let key = 0; key < family.keyCount; key++) {
      const c = counts.get(family.keyName(key))!;
      total.rejected += c.rejected;
      total.successes += c.successes;
      total.failures += c.failures;
      total.timeouts += c.timeouts;
      total.withoutNeighbour += c.withoutNeighbour;
    }
    const { rejected, ...inferred } = total;
    breakerSummaries.push({ name: group.name, calls: family.calls, recordedRejected: rejected, inferred, keys: family.keyCount });
    const runs: RunTimeline[] = [];
    for (const config of configs) {
      const replayed = family.replay(config, timeline, group.trace?.originMs ?? startMs);
      results.push(replayed.result);
      if (replayed.timeline !== undefined) runs.push(replayed.timeline);
    }
    if (group.trace !== undefined) charts.push({ breaker: group.name, trace: group.trace, runs });
  }
  const trace: TraceSummary = {
    source,
    lines: summary.lines,
    calls: breakerSummaries.reduce((sum, b) => sum + b.calls, 0),
    outOfOrder: summary.outOfOrder,
    incompleteLastLine: summary.incompleteLastLine ?? null,
    startMs,
    endMs,
    breakers: breakerSummaries,
    inferenceRule: REJECTED_INFERENCE_RULE,
  };
  return { report: { trace, results }, charts };
}

function startBreaker(first: ReplayCall, configs: readonly CandidateConfig[], source: string, timeline: boolean): BreakerReplay {
  const runs: ReplayRun[] = [];
  try {
    for (const config of configs) runs.push(new ReplayRun(config, first.b, first.t, { timeline }));
  } catch (error) {
    // Configurations were checked before the trace was read: what is left is the breaker's name.
    if (error instanceof CircuitBreakerConfigError && error.option === 'name') {
      throw new TraceError(source, first.line, `"b" is not a breaker name the engine accepts: ${error.message}`);
    }
    throw error;
  }
  return { kind: 'breaker', name: first.b, runs, trace: timeline ? new Timeline(first.t, TRACE_SERIES) : undefined, calls: 0 };
}
