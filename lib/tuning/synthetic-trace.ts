/**
 * Realistic traces without a recording, from a seeded generator: the examples of docs/tuning.md,
 * the tests' known answers and the benchmark. Calls arrive at random (a Poisson process), last a
 * random time around 40 ms, and a scenario decides when the dependency fails or slows down. The
 * trace is then "recorded" the way a live breaker would record it: run through a recording
 * configuration (its rejections become `rejected` lines, its timeouts `timeout` ones) and written
 * in the order the calls end. Same options, same trace.
 */
import type { CandidateConfig } from './candidate-config.js';
import { ReplayRun } from './replay-run.js';
import type { TraceRecord } from './trace-record.js';

/**
 * - `steady`: a healthy dependency (0.5 % failures, 1 % ignored client errors).
 * - `outage`: steady, except that every call fails fast from 30 % to 50 % of the trace (minutes 3 to 5 of 10).
 * - `flaky`: 20 % of calls fail all along, 45 % from 60 % to 70 % of the trace.
 * - `slow`: steady, except that calls take about 2.5 s from 30 % to 50 % of the trace.
 */
export type SyntheticScenario = 'steady' | 'outage' | 'flaky' | 'slow';
export const SYNTHETIC_SCENARIOS: readonly SyntheticScenario[] = ['steady', 'outage', 'flaky', 'slow'];

export interface SyntheticTraceOptions {
  readonly scenario: SyntheticScenario;
  /** Length of the trace, ms. Default 600_000 (10 minutes). */
  readonly durationMs?: number;
  /** Mean arrival rate. Default 20 calls per second. */
  readonly callsPerSecond?: number;
  /** Seed of the generator. Default 1. */
  readonly seed?: number;
  /** Default `payments`. */
  readonly breaker?: string;
  /** Start of the trace, epoch ms. Default 2026-01-05T09:00:00Z. */
  readonly startMs?: number;
  /**
   * The configuration of the breaker that recorded the trace. Undefined: the calls as they were,
   * nothing rejected (a recording from a breaker that never opened, or from metricsOnly).
   */
  readonly recordedBy?: CandidateConfig;
}

export const SYNTHETIC_START_MS = Date.UTC(2026, 0, 5, 9, 0, 0);

/** The error class names the generator writes. */
const FAILURE_ERROR = 'ServiceUnavailableException';
const IGNORED_ERROR = 'BadRequestException';
const TIMEOUT_ERROR = 'CircuitBreakerTimeoutError';
const REJECTED_ERROR = 'CircuitOpenError';

/** The calls as the dependency served them, in start order (nothing rejected). */
export function syntheticCalls(options: SyntheticTraceOptions): TraceRecord[] {
  const durationMs = options.durationMs ?? 600_000;
  const rate = options.callsPerSecond ?? 20;
  const breaker = options.breaker ?? 'payments';
  const startMs = options.startMs ?? SYNTHETIC_START_MS;
  const random = mulberry32(options.seed ?? 1);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const typicalMs = (): number => Math.round(40 * Math.exp(0.35 * gaussian()) * 10) / 10;
  const calls: TraceRecord[] = [];
  const meanGapMs = 1000 / rate;
  let previous = Number.NEGATIVE_INFINITY;
  for (let at = -Math.log(1 - random()) * meanGapMs; at < durationMs; at += -Math.log(1 - random()) * meanGapMs) {
    // Starts to the microsecond, as a recorder reading a monotonic clock writes them, and never two
    // alike: calls starting at the same instant would replay in the order their lines come, which
    // for a recorder writing calls as they end is not the order they started in.
    const t = Math.max(startMs + Math.round(at * 1000) / 1000, previous + 0.001);
    previous = t;
    const phase = at / durationMs;
    const roll = random();
    const scenario = options.scenario;
    if (scenario === 'outage' && phase >= 0.3 && phase < 0.5) {
      calls.push({ t, d: Math.round(8 * Math.exp(0.3 * gaussian()) * 10) / 10, o: 'failure', b: breaker, e: FAILURE_ERROR });
      continue;
    }
    if (scenario === 'slow' && phase >= 0.3 && phase < 0.5) {
      calls.push({ t, d: Math.round(2_500 * Math.exp(0.3 * gaussian())), o: 'success', b: breaker });
      continue;
    }
    const failureShare = scenario === 'flaky' ? (phase >= 0.6 && phase < 0.7 ? 0.45 : 0.2) : 0.005;
    if (roll < failureShare) calls.push({ t, d: typicalMs(), o: 'failure', b: breaker, e: FAILURE_ERROR });
    else if (roll < failureShare + 0.01) calls.push({ t, d: typicalMs(), o: 'ignored', b: breaker, e: IGNORED_ERROR });
    else calls.push({ t, d: typicalMs(), o: 'success', b: breaker });
  }
  return calls;
}

/**
 * The trace a live breaker configured as `recordedBy` would have written for these calls: rejected
 * calls as `rejected` (0 ms), calls past its timeout as `timeout`, in the order the calls ended.
 */
export function syntheticTrace(options: SyntheticTraceOptions): TraceRecord[] {
  const calls = syntheticCalls(options);
  const recorder = options.recordedBy;
  let recorded: TraceRecord[];
  if (recorder === undefined || calls.length === 0) {
    recorded = calls;
  } else {
    recorded = [];
    const run = new ReplayRun(recorder, calls[0]!.b, calls[0]!.t, {
      onDecision(call, decision) {
        if (!decision.admitted) recorded.push({ t: call.t, d: 0, o: 'rejected', b: call.b, e: REJECTED_ERROR });
        else if (decision.outcome === 'timeout' && call.o !== 'timeout') recorded.push({ t: call.t, d: decision.durationMs!, o: 'timeout', b: call.b, e: TIMEOUT_ERROR });
        else recorded.push(call.e === undefined ? { t: call.t, d: call.d, o: call.o, b: call.b } : { t: call.t, d: call.d, o: call.o, b: call.b, e: call.e });
      },
    });
    let line = 0;
    for (const call of calls) run.push({ ...call, o: call.o as Exclude<typeof call.o, 'rejected'>, line: ++line, inferred: false });
    run.finish();
  }
  // A recorder writes a call when it ends. Array.prototype.sort is stable: equal ends keep start order.
  return recorded.map((record, index) => ({ record, index })).sort((a, b) => a.record.t + a.record.d - (b.record.t + b.record.d) || a.index - b.index).map(({ record }) => record);
}

/** A small seeded generator (mulberry32): the same seed gives the same numbers on every platform. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}
