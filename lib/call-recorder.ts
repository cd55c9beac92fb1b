/**
 * recordCalls: writes a running application's calls as a trace (the format of
 * lib/tuning/trace-record.ts), one NDJSON line per completed or rejected call, for
 * `nestjs-breaker replay` and `suggest`. Published by nestjs-breaker/tuning; it lives here, in the
 * root layer, because the module's `recordCalls` option needs it and an application that only uses
 * breakers must not load the tuning code (replay, suggest, the trace reader).
 *
 * Never on a call's critical path: a line is formatted in the call event and appended to an
 * in-memory batch, written to the stream on the next turn of the event loop (or at 64 KiB). A
 * stream that cannot keep up (backpressure beyond 1 MiB waiting) drops records, a stream that
 * errors (a full disk, a missing folder) stops the recording; either says so once, and no call is
 * ever delayed or failed. At `maxBytes` the recording stops. Off by default, and no cost when off:
 * nothing listens to a breaker until recordCalls is called for it.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { CircuitBreaker } from './core/circuit-breaker.js';
import type { CallEvent } from './core/events.js';
import { CircuitBreakerConfigError } from './core/errors.js';
import { timeCalls } from './core/observers.js';
import type { CircuitBreakerRegistry } from './circuit-breaker.registry.js';

/** Where and how much to record. Give `file` or `stream`, not both. */
export interface RecordCallsOptions {
  /** A file to append the trace to (created if missing; the recorder closes it when stopped). */
  file?: string;
  /** A stream to write the trace to (left open when the recorder stops: it is yours). */
  stream?: Writable;
  /** The fraction of calls recorded, in (0, 1], each call drawn at random. Default 1 (every call). */
  sampleRate?: number;
  /** Stop recording once this many bytes are written. Default 104_857_600 (100 MiB). */
  maxBytes?: number;
  /** Where the recorder's warnings go (each kind said once). Default: `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** Why a recording ended. */
export type RecordingEnd = 'stopped' | 'max_bytes' | 'stream_error';

export const DEFAULT_RECORD_MAX_BYTES = 104_857_600;
/** A batch is written at this size, or on the next turn of the event loop. */
const BATCH_BYTES = 65_536;
/** Records waiting on a stream under backpressure beyond this are dropped. */
const MAX_WAITING_BYTES = 1_048_576;

/** The trace's outcome for each call event (the `"o"` values of lib/tuning/trace-record.ts). */
const TRACE_OUTCOME_OF: Readonly<Record<CallEvent['kind'], 'success' | 'failure' | 'ignored' | 'timeout' | 'rejected'>> = {
  success: 'success',
  failure: 'failure',
  ignored: 'ignored',
  timeout: 'timeout',
  not_permitted: 'rejected',
};

/** A running recording: its counters, and `stop()`. */
export class CallRecorder {
  /**
   * Records written, or on their way (handed to the stream, or waiting in the batch to be): a write
   * the stream fails (a file that never opened, a full disk) moves its records to `dropped`.
   */
  recorded = 0;
  /** Records dropped: backpressure, a failed write or stream error, or calls after `maxBytes`. */
  dropped = 0;
  /** Bytes of trace produced so far. */
  bytes = 0;
  /** Why the recording ended; undefined while it runs. */
  ended: RecordingEnd | undefined = undefined;

  private batch: string[] = [];
  private batchBytes = 0;
  private waitingForDrain = false;
  private flushScheduled: NodeJS.Immediate | undefined = undefined;
  private readonly detachers = new Map<CircuitBreaker, () => void>();
  private readonly stopWatching: () => void;
  private readonly warned = new Set<string>();
  private readonly errorParts = new Map<string, JsonPart>();
  /** The file's stream is opened with the first batch: a recording that sees no call (or an app whose bootstrap fails) opens nothing. */
  private stream: Writable | undefined;
  private readonly file: string | undefined;
  private readonly where: string;
  private readonly sampleRate: number;
  private readonly maxBytes: number;
  private readonly onWarning: (message: string) => void;

  /** @internal (use {@link recordCalls}) */
  constructor(target: CircuitBreaker | CircuitBreakerRegistry, options: RecordCallsOptions) {
    const checked = checkOptions(options);
    this.sampleRate = checked.sampleRate;
    this.maxBytes = checked.maxBytes;
    this.onWarning = checked.onWarning;
    this.file = checked.file;
    this.where = checked.file ?? 'the stream given';
    if (checked.stream !== undefined) {
      this.stream = checked.stream;
      this.stream.on('error', this.onStreamError);
    }
    if (target instanceof CircuitBreaker) {
      this.attach(target);
      this.stopWatching = noop;
    } else {
      this.stopWatching = target.eachBreaker((breaker) => this.attach(breaker), (breaker) => this.detach(breaker));
    }
  }

  /**
   * Stops recording: detaches from every breaker, writes what is batched, and closes the file it
   * opened (a stream you gave stays open). Resolves once the data is handed over; never rejects.
   */
  async stop(): Promise<void> {
    this.end('stopped');
    this.flush();
    const stream = this.stream;
    if (this.file === undefined || stream === undefined || stream.destroyed || stream.writableFinished) return;
    await new Promise<void>((resolve) => {
      stream.once('close', resolve);
      stream.end();
    });
  }

  private attach(breaker: CircuitBreaker): void {
    if (this.ended !== undefined || this.detachers.has(breaker)) return;
    const stopTiming = timeCalls(breaker);
    // The breaker's name as the trace writes it, escaped once (a keyed breaker's name never changes).
    const name = jsonPart(breaker.name);
    const stopListening = breaker.onCall((event) => this.record(breaker, name, event));
    this.detachers.set(breaker, () => {
      stopListening();
      stopTiming();
    });
  }

  private detach(breaker: CircuitBreaker): void {
    this.detachers.get(breaker)?.();
    this.detachers.delete(breaker);
  }

  /**
   * One call's line: the bytes formatTraceRecord would write for it (same keys, same order; the
   * round trip is tested), built from parts escaped once instead of validated per call.
   */
  private record(breaker: CircuitBreaker, name: JsonPart, event: CallEvent): void {
    if (this.ended !== undefined) return;
    if (this.sampleRate < 1 && Math.random() >= this.sampleRate) return;
    // Times to the microsecond: finer digits are float noise, and every byte counts toward maxBytes.
    const durationMs = event.durationMs === undefined || !(event.durationMs >= 0) ? 0 : round(event.durationMs);
    const startMs = Math.max(0, round(breaker.now() - durationMs));
    if (!Number.isFinite(startMs) || !Number.isFinite(durationMs)) {
      this.dropped++; // a clock that answered no usable time
      return;
    }
    const error = event.kind === 'success' ? undefined : this.errorPart(event.error);
    const line =
      error === undefined
        ? `{"t":${startMs},"d":${durationMs},"o":"${TRACE_OUTCOME_OF[event.kind]}","b":${name.json}}\n`
        : `{"t":${startMs},"d":${durationMs},"o":"${TRACE_OUTCOME_OF[event.kind]}","b":${name.json},"e":${error.json}}\n`;
    const size = name.ascii && (error === undefined || error.ascii) ? line.length : Buffer.byteLength(line);
    if (this.bytes + size > this.maxBytes) {
      this.dropped++;
      this.warnOnce('max_bytes', `recordCalls: ${this.where} reached maxBytes (${this.maxBytes} bytes, ${this.recorded} calls recorded); recording stopped`);
      this.end('max_bytes');
      this.flush();
      return;
    }
    this.bytes += size;
    this.recorded++;
    this.batch.push(line);
    this.batchBytes += size;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
    else this.flushScheduled ??= setImmediate(this.flushSoon).unref();
  }

  /** An error's class name as the trace writes it; escaped once per class name (there are few). */
  private errorPart(error: unknown): JsonPart | undefined {
    const className = errorClassName(error);
    if (className === undefined) return undefined;
    let part = this.errorParts.get(className);
    if (part === undefined) {
      part = jsonPart(className);
      if (this.errorParts.size < 1000) this.errorParts.set(className, part);
    }
    return part;
  }

  private readonly flushSoon = (): void => {
    this.flushScheduled = undefined;
    this.flush();
  };

  /** Hands the batch to the stream, unless it is under backpressure (then the batch waits, up to a limit). */
  private flush(): void {
    if (this.flushScheduled !== undefined) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = undefined;
    }
    if (this.batch.length === 0) return;
    const stream = this.openStream();
    if (this.ended === 'stream_error' || stream.destroyed || stream.writableEnded) {
      this.dropBatch();
      return;
    }
    if (this.waitingForDrain) {
      if (this.batchBytes > MAX_WAITING_BYTES) {
        this.warnOnce('backpressure', `recordCalls: ${this.where} does not keep up with the calls; records are being dropped (counted in recorder.dropped)`);
        this.dropBatch();
      }
      return;
    }
    const text = this.batch.length === 1 ? this.batch[0]! : this.batch.join('');
    const lines = this.batch.length;
    this.batch = [];
    this.batchBytes = 0;
    if (!stream.write(text, (error) => error && this.lost(lines))) {
      this.waitingForDrain = true;
      stream.once('drain', this.onDrain);
    }
  }

  private openStream(): Writable {
    if (this.stream === undefined) {
      this.stream = createWriteStream(this.file!, { flags: 'a' });
      this.stream.on('error', this.onStreamError);
    }
    return this.stream;
  }

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    this.flush();
  };

  private readonly onStreamError = (error: Error): void => {
    this.warnOnce('stream_error', `recordCalls: writing to ${this.where} failed (${error.message}); recording stopped, no call was affected`);
    this.end('stream_error');
    this.dropBatch();
  };

  /** A write failed: its records were never recorded. */
  private lost(lines: number): void {
    this.recorded -= lines;
    this.dropped += lines;
  }

  private dropBatch(): void {
    this.recorded -= this.batch.length;
    this.dropped += this.batch.length;
    this.batch = [];
    this.batchBytes = 0;
  }

  private end(reason: RecordingEnd): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    this.stopWatching();
    for (const detach of this.detachers.values()) detach();
    this.detachers.clear();
  }

  private warnOnce(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    try {
      this.onWarning(message);
    } catch {
      // a warning sink that throws must not reach a call
    }
  }
}

/**
 * Records every call of `target` (one breaker, or every breaker of a registry, including those it
 * creates later: keyed breakers are recorded under their `family:key` name) as a trace for
 * `nestjs-breaker replay`. Throws {@link CircuitBreakerConfigError} for bad options; never fails
 * or delays a call afterwards. Call `stop()` on the result to end it.
 *
 * ```ts
 * const recorder = recordCalls(breaker, { file: 'calls.ndjson', maxBytes: 10_000_000 });
 * ```
 */
export function recordCalls(target: CircuitBreaker | CircuitBreakerRegistry, options: RecordCallsOptions): CallRecorder {
  return new CallRecorder(target, options);
}

interface CheckedOptions {
  readonly file: string | undefined;
  readonly stream: Writable | undefined;
  readonly sampleRate: number;
  readonly maxBytes: number;
  readonly onWarning: (message: string) => void;
}

const KNOWN = ['file', 'stream', 'sampleRate', 'maxBytes', 'onWarning'];

function checkOptions(options: RecordCallsOptions): CheckedOptions {
  const fail = (option: string, value: unknown, allowed: string): never => {
    throw CircuitBreakerConfigError.forComponent('recordCalls', option, value, allowed);
  };
  if (options === null || typeof options !== 'object') return fail('options', options, 'an object { file } or { stream }, with sampleRate? and maxBytes?');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) fail(key, (options as Record<string, unknown>)[key], `absent (known options: ${KNOWN.join(', ')})`);
  }
  const { file, stream, sampleRate = 1, maxBytes = DEFAULT_RECORD_MAX_BYTES, onWarning = defaultWarning } = options;
  if ((file === undefined) === (stream === undefined)) fail('file', file, 'given, or else stream (exactly one of the two)');
  if (file !== undefined && (typeof file !== 'string' || file.length === 0)) fail('file', file, 'a non-empty path');
  if (stream !== undefined && (stream === null || typeof (stream as Partial<Writable>).write !== 'function' || typeof (stream as Partial<Writable>).on !== 'function')) {
    fail('stream', stream, 'a writable stream (with write() and on())');
  }
  if (typeof sampleRate !== 'number' || !(sampleRate > 0 && sampleRate <= 1)) fail('sampleRate', sampleRate, 'a fraction in (0, 1]');
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1) fail('maxBytes', maxBytes, 'an integer number of bytes >= 1');
  if (typeof onWarning !== 'function') fail('onWarning', onWarning, 'a function');
  return { file, stream, sampleRate, maxBytes, onWarning };
}

function defaultWarning(message: string): void {
  process.emitWarning(message, { code: 'CIRCUIT_BREAKER_RECORDING' });
}

function errorClassName(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  try {
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name.length > 0 && name !== 'Object' ? name : undefined;
  } catch {
    return undefined; // a proxy or getter that throws: no class name
  }
}

/** A string as JSON, and whether it is all printable ASCII (then its length is its size in bytes). */
interface JsonPart {
  readonly json: string;
  readonly ascii: boolean;
}

function jsonPart(text: string): JsonPart {
  const json = JSON.stringify(text);
  return { json, ascii: /^[\x20-\x7e]*$/.test(json) };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function noop(): void {}
