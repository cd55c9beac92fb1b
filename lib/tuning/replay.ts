/**
 * `replay`: reads a trace once and replays each breaker's calls through every candidate
 * configuration side by side (trace reader -> rejected-call inference -> one ReplayRun per
 * breaker and configuration). Nothing in a report depends on the wall clock or on chance: the
 * same trace and configurations give the same report, byte for byte once serialised.
 */
import { CircuitBreakerConfigError } from '../core/index.js';
import type { CandidateConfig } from './candidate-config.js';
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
  /** Replay only this breaker's calls. Default: every breaker of the trace, each on its own. */
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
  readonly name: string;
  readonly runs: ReplayRun[];
  readonly trace: Timeline<TraceSeries> | undefined;
  calls: number;
}

/** Replays `input` (a file path, a stream, or chunks of text) through each configuration. */
export async function replayTrace(input: TraceInput, options: ReplayOptions): Promise<ReplayOutcome> {
  const configs = options.configs;
  if (configs.length === 0) throw new RangeError('replayTrace needs at least one configuration');
  const source = options.source ?? (typeof input === 'string' ? input : 'trace');
  const wanted = options.breaker;
  const timeline = options.timeline === true;
  const breakers = new Map<string, BreakerReplay>();
  const otherBreakers = new Set<string>();
  let startMs = Number.POSITIVE_INFINITY;
  let endMs = Number.NEGATIVE_INFINITY;

  const onCall = (call: ReplayCall): void => {
    let breaker = breakers.get(call.b);
    if (breaker === undefined) {
      breaker = startBreaker(call, configs, source, timeline);
      breakers.set(call.b, breaker);
    }
    breaker.calls++;
    const trace = breaker.trace;
    if (trace !== undefined) {
      trace.add(call.o === 'success' ? 'success' : call.o === 'ignored' ? 'ignored' : 'failure', call.t);
      if (call.inferred) trace.add('inferred', call.t);
    }
    for (const run of breaker.runs) run.push(call);
  };
  const inference = new RejectedCallInference(onCall);
  const summary = await readTrace(
    input,
    (record) => {
      if (wanted !== undefined && record.b !== wanted) {
        if (otherBreakers.size < 20) otherBreakers.add(record.b);
        return;
      }
      if (record.t < startMs) startMs = record.t;
      if (record.t > endMs) endMs = record.t;
      inference.push(record);
    },
    { ...options, source },
  );
  inference.end();

  if (breakers.size === 0) {
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
  for (const breaker of breakers.values()) {
    const { rejected, ...inferred } = counts.get(breaker.name)!;
    breakerSummaries.push({ name: breaker.name, calls: breaker.calls, recordedRejected: rejected, inferred });
    for (const run of breaker.runs) results.push(run.finish());
    if (breaker.trace !== undefined) charts.push({ breaker: breaker.name, trace: breaker.trace, runs: breaker.runs.map((run) => run.timelineData()!) });
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
  return { name: first.b, runs, trace: timeline ? new Timeline(first.t, TRACE_SERIES) : undefined, calls: 0 };
}
