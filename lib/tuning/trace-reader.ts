/**
 * Reads a trace as a stream and hands its records on in start order (`t`, then line), without
 * holding the whole file. A recorder writes a call when it ends, so records arrive sorted by end
 * time, not by start: a long call's line comes after the lines of shorter calls that started after
 * it. The reader keeps the records of the last `reorderWindowMs` of start times in a heap and
 * releases a record once no later line may start before it; a line that would have to be replayed
 * before a call already released is refused, naming its line and the option to raise.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { MinHeap } from './min-heap.js';
import { TraceError, parseTraceRecord } from './trace-record.js';
import type { NumberedTraceRecord } from './trace-record.js';

/** Out-of-order tolerance by default: 5 minutes of start time (longer than any call should last). */
export const DEFAULT_REORDER_WINDOW_MS = 300_000;

export interface TraceReaderOptions {
  /**
   * How far back in start time a line may reach behind the latest start seen so far, in ms: a call
   * lasting longer than this, written when it ended, may arrive too late to be replayed in order
   * (it is then refused with its line number). Default {@link DEFAULT_REORDER_WINDOW_MS}; 0
   * requires lines sorted by `t`.
   */
  reorderWindowMs?: number;
  /** The trace's name in errors and warnings (the file name). Default `trace`. */
  source?: string;
}

/** What reading a trace found besides its records. */
export interface TraceReadSummary {
  /** Lines read, blank ones included. */
  readonly lines: number;
  /** Records handed on. */
  readonly records: number;
  /** Records that arrived after a record starting later than they did (put back in order). */
  readonly outOfOrder: number;
  /**
   * The last line, when it had no newline and could not be parsed: a recorder cut off while
   * writing it. It is skipped (and reported), not an error. Undefined when there was none.
   */
  readonly incompleteLastLine: number | undefined;
}

const byStart = (a: NumberedTraceRecord, b: NumberedTraceRecord): boolean => a.t < b.t || (a.t === b.t && a.line < b.line);

/** The push side of the reader: text in (any chunking), records out in start order. */
export class TraceReader {
  /** Records in start order as they came, from `head` on; the others wait in `heap`. */
  private readonly inOrder: NumberedTraceRecord[] = [];
  private head = 0;
  private readonly heap = new MinHeap<NumberedTraceRecord>(byStart);
  private readonly windowMs: number;
  private readonly source: string;
  private rest = '';
  private line = 0;
  private records = 0;
  private outOfOrder = 0;
  private latestStart = Number.NEGATIVE_INFINITY;
  private released: NumberedTraceRecord | undefined = undefined;
  private ended = false;
  private summary: TraceReadSummary | undefined;

  constructor(
    private readonly onRecord: (record: NumberedTraceRecord) => void,
    options: TraceReaderOptions = {},
  ) {
    const windowMs = options.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
    if (typeof windowMs !== 'number' || !(windowMs >= 0) || !Number.isFinite(windowMs)) {
      throw new RangeError(`reorderWindowMs must be a finite number of ms >= 0, got ${String(windowMs)}`);
    }
    this.windowMs = windowMs;
    this.source = options.source ?? 'trace';
  }

  /** Feeds text; complete lines are parsed at once, a partial last line waits for the next chunk. */
  push(chunk: string): void {
    if (this.ended) throw new Error('TraceReader.push() after end()');
    const text = this.rest.length === 0 ? chunk : this.rest + chunk;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const record = this.parseLine(text, start, newline);
      if (record !== undefined) this.accept(record);
      start = newline + 1;
    }
    this.rest = start === 0 ? text : text.slice(start);
  }

  /** No more text: reads the last line (one cut off mid-write is skipped) and releases every record held. */
  end(): TraceReadSummary {
    if (this.summary !== undefined) return this.summary;
    this.ended = true;
    let incompleteLastLine: number | undefined;
    const rest = this.rest;
    this.rest = '';
    if (rest.length > 0) {
      // A last line without a newline that parses is complete (an editor may leave the newline out);
      // one that does not is a writer cut off mid-line, the usual end of a recording that was killed.
      let record: NumberedTraceRecord | undefined;
      try {
        record = this.parseLine(rest, 0, rest.length);
      } catch (error) {
        if (!(error instanceof TraceError)) throw error;
        incompleteLastLine = this.line;
      }
      if (record !== undefined) this.accept(record);
    }
    this.releaseUpTo(Number.POSITIVE_INFINITY);
    this.summary = { lines: this.line, records: this.records, outOfOrder: this.outOfOrder, incompleteLastLine };
    return this.summary;
  }

  /** The record on text[from, to), or undefined for a blank line. */
  private parseLine(text: string, from: number, to: number): NumberedTraceRecord | undefined {
    this.line++;
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end--; // CRLF
    let first = from;
    while (first < end && (text.charCodeAt(first) === 32 || text.charCodeAt(first) === 9)) first++;
    if (first === end) return undefined;
    return parseTraceRecord(from === 0 && end === text.length ? text : text.slice(from, end), this.line, this.source);
  }

  private accept(record: NumberedTraceRecord): void {
    const released = this.released;
    if (released !== undefined && record.t < released.t) {
      throw new TraceError(
        this.source,
        record.line,
        `the call starts at t = ${record.t}, ${released.t - record.t} ms before the call of line ${released.line} (t = ${released.t}), ` +
          `which was replayed already: lines may come at most reorderWindowMs = ${this.windowMs} ms out of start order ` +
          `(a recorder writes a call when it ends, so a call lasting longer than that arrives too late). ` +
          `Raise the window (--reorder-window-ms) or sort the trace by "t"`,
      );
    }
    // Most lines come in start order: they queue in O(1); only the others need the heap.
    if (record.t < this.latestStart) {
      this.outOfOrder++;
      this.heap.push(record);
    } else {
      this.latestStart = record.t;
      this.inOrder.push(record);
    }
    this.releaseUpTo(this.latestStart - this.windowMs);
  }

  /** Hands on, in start order, every held record that starts by `t`. */
  private releaseUpTo(t: number): void {
    const heap = this.heap;
    const queue = this.inOrder;
    for (;;) {
      const fromQueue = this.head < queue.length ? queue[this.head]! : undefined;
      const fromHeap = heap.peek();
      const next = fromHeap === undefined || (fromQueue !== undefined && byStart(fromQueue, fromHeap)) ? fromQueue : fromHeap;
      if (next === undefined || next.t > t) break;
      if (next === fromQueue) {
        queue[this.head++] = undefined!;
        if (this.head === queue.length) {
          queue.length = 0;
          this.head = 0;
        } else if (this.head >= 4_096 && this.head * 2 >= queue.length) {
          queue.splice(0, this.head);
          this.head = 0;
        }
      } else {
        heap.pop();
      }
      this.release(next);
    }
  }

  private release(record: NumberedTraceRecord): void {
    this.released = record;
    this.records++;
    this.onRecord(record);
  }
}

/** Where a trace comes from: a file path, a readable stream, or any source of text or bytes in chunks. */
export type TraceInput = string | Readable | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/**
 * Reads a whole trace, calling `onRecord` for each record in start order. A file that cannot be
 * read, or a bad line, rejects with {@link TraceError}.
 */
export async function readTrace(input: TraceInput, onRecord: (record: NumberedTraceRecord) => void, options: TraceReaderOptions = {}): Promise<TraceReadSummary> {
  const source = options.source ?? (typeof input === 'string' ? input : 'trace');
  const reader = new TraceReader(onRecord, { ...options, source });
  const stream: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> =
    typeof input === 'string' ? createReadStream(input, { encoding: 'utf8', highWaterMark: 1 << 20 }) : input;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const chunks = Symbol.asyncIterator in stream ? stream[Symbol.asyncIterator]() : stream[Symbol.iterator]();
  try {
    for (;;) {
      let step: IteratorResult<string | Uint8Array>;
      try {
        step = await chunks.next();
      } catch (error) {
        // Only the source's own errors are about reading; a bad line or a consumer's error passes as it is.
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
        throw new TraceError(source, undefined, `cannot read the trace: ${why}`);
      }
      if (step.done === true) break;
      const chunk = step.value;
      reader.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    }
  } finally {
    await chunks.return?.(); // closes a file left half read (a bad line stops the reading)
  }
  const tail = decoder.decode();
  if (tail.length > 0) reader.push(tail);
  return reader.end();
}
