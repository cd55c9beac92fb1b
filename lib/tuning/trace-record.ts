/**
 * The trace format: NDJSON, one object per line for each call through a breaker,
 * `{"t": 1733472000123, "d": 42.5, "o": "success", "b": "payments"}` (plus `"e": "ErrorClass"` for
 * a call that threw). This file is the one definition both sides share: the replay reads lines with
 * {@link parseTraceRecord}, and a recorder writes them with {@link formatTraceRecord}.
 */

/** How a recorded call ended. `rejected`: the recording breaker did not admit it (no outcome known). */
export type TraceOutcome = 'success' | 'failure' | 'ignored' | 'timeout' | 'rejected';

/** Every outcome, in the order the documentation lists them. */
export const TRACE_OUTCOMES: readonly TraceOutcome[] = ['success', 'failure', 'ignored', 'timeout', 'rejected'];

/** One call through a breaker, as a trace line holds it. */
export interface TraceRecord {
  /** When the call started: epoch milliseconds. */
  readonly t: number;
  /** How long it took, in ms (a rejected call: the time the rejection took, usually 0). */
  readonly d: number;
  /** How it ended. */
  readonly o: TraceOutcome;
  /** The breaker's name. */
  readonly b: string;
  /** The class name of the error it ended with (failure, ignored, timeout, rejected), if any. */
  readonly e?: string;
}

/** A record and the line of the trace it came from (1-based, blank lines counted). */
export interface NumberedTraceRecord extends TraceRecord {
  readonly line: number;
}

/** A trace that cannot be read (a missing file, a bad line) or replayed as asked (no call of the breaker named). */
export class TraceError extends Error {
  override readonly name = 'TraceError';

  constructor(
    /** Where: a file name, or a description of the source. */
    readonly source: string,
    /** The line at fault (1-based), or undefined for the trace as a whole. */
    readonly line: number | undefined,
    /** What is wrong with it. */
    readonly problem: string,
  ) {
    super(`${source}${line === undefined ? '' : `, line ${line}`}: ${problem}`);
  }
}

/**
 * The line for one record, without its newline. Keys in a fixed order, `e` only when given: the
 * same record always gives the same bytes. Throws a TypeError for a record the reader would refuse,
 * so a writer can never produce a trace the replay cannot read.
 */
export function formatTraceRecord(record: TraceRecord): string {
  const problem = recordProblem(record);
  if (problem !== undefined) throw new TypeError(`Not a valid trace record: ${problem}`);
  const base = `{"t":${record.t},"d":${record.d},"o":"${record.o}","b":${JSON.stringify(record.b)}`;
  return record.e === undefined ? `${base}}` : `${base},"e":${JSON.stringify(record.e)}}`;
}

/**
 * Reads one trace line. Fields other than `t`, `d`, `o`, `b` and `e` are ignored, so that a later
 * writer may add some. Throws {@link TraceError} naming the line and what is wrong.
 */
export function parseTraceRecord(text: string, line: number, source = 'trace'): NumberedTraceRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TraceError(source, line, `not valid JSON (${(error as Error).message}): ${excerpt(text)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TraceError(source, line, `expected a JSON object {"t", "d", "o", "b", "e"?}, got ${excerpt(text)}`);
  }
  const problem = recordProblem(value as Partial<Record<keyof TraceRecord, unknown>>);
  if (problem !== undefined) throw new TraceError(source, line, problem);
  const { t, d, o, b, e } = value as TraceRecord;
  return e === undefined ? { t, d, o, b, line } : { t, d, o, b, e, line };
}

/** What makes `record` invalid, in words, or undefined when it is valid. */
function recordProblem(record: Partial<Record<keyof TraceRecord, unknown>>): string | undefined {
  const { t, d, o, b, e } = record;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) return `"t" (the call's start, epoch ms) must be a finite number >= 0, got ${show(t)}`;
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) return `"d" (the call's duration, ms) must be a finite number >= 0, got ${show(d)}`;
  if (typeof o !== 'string' || !(TRACE_OUTCOMES as readonly string[]).includes(o)) {
    return `"o" (the outcome) must be one of ${TRACE_OUTCOMES.map((x) => `"${x}"`).join(', ')}, got ${show(o)}`;
  }
  if (typeof b !== 'string' || b.length === 0) return `"b" (the breaker's name) must be a non-empty string, got ${show(b)}`;
  if (e !== undefined && typeof e !== 'string') return `"e" (the error's class name) must be a string when present, got ${show(e)}`;
  return undefined;
}

function show(value: unknown): string {
  // JSON reads 1e400 as Infinity, which JSON.stringify would write as "null".
  if (typeof value === 'number' && !Number.isFinite(value)) return `${String(value)} (not a finite number)`;
  return value === undefined ? 'nothing (the field is missing)' : excerpt(JSON.stringify(value) ?? String(value));
}

function excerpt(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
