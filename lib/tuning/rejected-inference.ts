/**
 * Calls the recording breaker rejected (`"o": "rejected"`) never reached the dependency, so the
 * trace cannot say how they would have ended; a candidate configuration may admit them all the
 * same. Their outcome is inferred from the calls around them:
 *
 * THE RULE. A rejected call takes the outcome, duration and error of the nearest call of the same
 * breaker, by start time, that reached the dependency and says something about it (recorded as
 * success, failure or timeout; ignored calls say nothing about the dependency's health). A tie
 * goes to the earlier call. With no such call in the whole trace, it counts as a failure lasting
 * 0 ms.
 *
 * Why nearest: a recorder rejects while it believes the dependency down, between a failure (or a
 * failed trial) and the next trial. The dependency recovered somewhere between the last failed
 * call and the first successful one; nearest-neighbour splits that gap in the middle, which is the
 * best guess without other knowledge, and never invents a flip where both sides agree.
 */
import type { NumberedTraceRecord, TraceOutcome } from './trace-record.js';

/** An outcome a replay can give a call: every trace outcome except `rejected`. */
export type CallOutcome = Exclude<TraceOutcome, 'rejected'>;

/** The rule above, in one sentence for reports. */
export const REJECTED_INFERENCE_RULE =
  'a call the recording breaker rejected takes the outcome and duration of the nearest call of the same breaker (by start time) that reached the dependency as a success, failure or timeout; a tie goes to the earlier call; with none in the trace, it is a failure lasting 0 ms';

/** A call ready to replay: its recorded outcome, or an inferred one. */
export interface ReplayCall {
  /** Start, epoch ms. */
  readonly t: number;
  /** Duration, ms. */
  readonly d: number;
  readonly o: CallOutcome;
  readonly b: string;
  readonly e?: string;
  /** Its line in the trace. */
  readonly line: number;
  /** The recorder rejected it: `o`, `d` and `e` are inferred. */
  readonly inferred: boolean;
}

/** How the rejected calls of one breaker were inferred. */
export interface InferenceCounts {
  /** Calls recorded as rejected. */
  rejected: number;
  /** ... inferred as successes, failures, timeouts. */
  successes: number;
  failures: number;
  timeouts: number;
  /** ... with no informative call in the trace to go by (counted as failures too). */
  withoutNeighbour: number;
}

interface Neighbour {
  readonly t: number;
  readonly d: number;
  readonly o: CallOutcome;
  readonly e: string | undefined;
}

/** One breaker's calls: rejected ones (and the calls after them) wait for the next informative call. */
class BreakerInference {
  readonly counts: InferenceCounts = { rejected: 0, successes: 0, failures: 0, timeouts: 0, withoutNeighbour: 0 };
  private previous: Neighbour | undefined = undefined;
  private waiting: NumberedTraceRecord[] = [];

  constructor(private readonly emit: (call: ReplayCall) => void) {}

  push(record: NumberedTraceRecord): void {
    const o = record.o;
    const informative = o === 'success' || o === 'failure' || o === 'timeout';
    if (!informative && (o === 'rejected' || this.waiting.length > 0)) {
      if (o === 'rejected') this.counts.rejected++;
      this.waiting.push(record); // an ignored call waits too: calls are handed on in start order
      return;
    }
    if (this.waiting.length > 0) this.flush(record.t, record);
    if (informative) this.previous = { t: record.t, d: record.d, o, e: record.e };
    this.emit(recorded(record, o as CallOutcome));
  }

  /** End of the trace: the waiting calls have no later neighbour. */
  end(): void {
    if (this.waiting.length > 0) this.flush(Number.POSITIVE_INFINITY, undefined);
  }

  private flush(nextT: number, next: NumberedTraceRecord | undefined): void {
    const waiting = this.waiting;
    this.waiting = [];
    const previous = this.previous;
    for (const record of waiting) {
      if (record.o !== 'rejected') {
        this.emit(recorded(record, record.o));
        continue;
      }
      const fromPrevious = previous !== undefined && (next === undefined || record.t - previous.t <= nextT - record.t);
      const neighbour: Neighbour | undefined = fromPrevious ? previous : next === undefined ? undefined : { t: next.t, d: next.d, o: next.o as CallOutcome, e: next.e };
      const counts = this.counts;
      if (neighbour === undefined) {
        counts.withoutNeighbour++;
        counts.failures++;
        this.emit({ t: record.t, d: 0, o: 'failure', b: record.b, line: record.line, inferred: true });
        continue;
      }
      if (neighbour.o === 'success') counts.successes++;
      else if (neighbour.o === 'failure') counts.failures++;
      else counts.timeouts++;
      const call: ReplayCall =
        neighbour.e === undefined
          ? { t: record.t, d: neighbour.d, o: neighbour.o, b: record.b, line: record.line, inferred: true }
          : { t: record.t, d: neighbour.d, o: neighbour.o, b: record.b, e: neighbour.e, line: record.line, inferred: true };
      this.emit(call);
    }
  }
}

function recorded(record: NumberedTraceRecord, o: CallOutcome): ReplayCall {
  return record.e === undefined
    ? { t: record.t, d: record.d, o, b: record.b, line: record.line, inferred: false }
    : { t: record.t, d: record.d, o, b: record.b, e: record.e, line: record.line, inferred: false };
}

/**
 * Applies the rule to a trace's records (in start order, any breakers mixed) and hands each breaker's
 * calls on in start order. A breaker's calls after a rejected one are held until the next
 * informative call of that breaker arrives (or the trace ends).
 */
export class RejectedCallInference {
  private readonly breakers = new Map<string, BreakerInference>();

  constructor(private readonly emit: (call: ReplayCall) => void) {}

  push(record: NumberedTraceRecord): void {
    let breaker = this.breakers.get(record.b);
    if (breaker === undefined) this.breakers.set(record.b, (breaker = new BreakerInference(this.emit)));
    breaker.push(record);
  }

  /** The trace ended: every held call is handed on. */
  end(): void {
    for (const breaker of this.breakers.values()) breaker.end();
  }

  /** Per breaker (in order of first appearance), how rejected calls were inferred. */
  counts(): ReadonlyMap<string, InferenceCounts> {
    return new Map([...this.breakers].map(([name, breaker]) => [name, { ...breaker.counts }]));
  }
}
