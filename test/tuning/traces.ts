/**
 * Helpers for the tuning tests: traces built call by call (regular arrivals, so that answers can be
 * worked out by hand), and replays of in-memory text.
 */
import { candidateConfig, formatTraceRecord, replayTrace } from '../../lib/tuning/index.js';
import type { ReplayOutcome, ReplayResult, ReplaySettings, TraceOutcome, TraceRecord } from '../../lib/tuning/index.js';

/** 2026-01-01T00:00:00Z: traces start here, and expectations are written as offsets from it. */
export const START = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;

export interface CallShape {
  readonly o: TraceOutcome;
  readonly d: number;
}

/** A call every `everyMs` from START for `minutes`, shaped by `shape(offsetMs)`. */
export function regularTrace(minutes: number, everyMs: number, shape: (offsetMs: number) => CallShape, breaker = 'payments'): TraceRecord[] {
  const records: TraceRecord[] = [];
  for (let at = 0; at < minutes * MINUTE; at += everyMs) {
    const { o, d } = shape(at);
    records.push(o === 'success' ? { t: START + at, d, o, b: breaker } : { t: START + at, d, o, b: breaker, e: o === 'timeout' ? 'CircuitBreakerTimeoutError' : 'Error' });
  }
  return records;
}

export function ndjson(records: readonly TraceRecord[]): string {
  return records.map((record) => `${formatTraceRecord(record)}\n`).join('');
}

/** Replays `text` through `configs` (label -> options), the labels in the order given. */
export function replay(text: string, configs: Record<string, ReplaySettings>, options: { breaker?: string; timeline?: boolean; reorderWindowMs?: number } = {}): Promise<ReplayOutcome> {
  return replayTrace([text], { ...options, configs: Object.entries(configs).map(([label, settings]) => candidateConfig(label, settings)), source: 'test.ndjson' });
}

/** The result of the one configuration (and breaker) replayed. */
export async function replayOne(text: string, settings: ReplaySettings): Promise<ReplayResult> {
  const { report } = await replay(text, { config: settings });
  return report.results[0]!;
}
