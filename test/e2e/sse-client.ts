/**
 * A minimal event-stream client for tests: a real HTTP request, the response parsed as the
 * EventSource specification says (fields per line, an event per blank line, comments kept apart),
 * and polling waits bounded by a deadline (the bytes travel over a real socket).
 */
import { request } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface StreamEvent {
  type: string;
  data: string;
  /** The data parsed as JSON. */
  json: unknown;
}

export interface SseClientOptions {
  headers?: Record<string, string>;
  /** false: count events and keep the last of each type only (many clients in one test process). Default true. */
  keepEvents?: boolean;
}

export class SseClient {
  /** Every event, unless opened with `keepEvents: false`. */
  readonly events: StreamEvent[] = [];
  readonly counts = new Map<string, number>();
  readonly last = new Map<string, StreamEvent>();
  readonly comments: string[] = [];
  retryMs: number | undefined;
  ended = false;
  bytes = 0;
  /** The first malformed part of the stream (reported by the waits). */
  malformed: Error | undefined;
  private buffer = '';

  private constructor(
    readonly response: IncomingMessage,
    private readonly req: ClientRequest,
    private readonly keepEvents: boolean,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.bytes += Buffer.byteLength(chunk);
      this.buffer += chunk;
      try {
        this.parse();
      } catch (error) {
        this.malformed ??= error as Error;
      }
    });
    response.on('end', () => (this.ended = true));
    response.on('close', () => (this.ended = true));
    response.on('error', () => (this.ended = true));
  }

  static open(url: string, options: SseClientOptions = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...options.headers } }, (res) => resolve(new SseClient(res, req, options.keepEvents ?? true)));
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.response.headers;
  }

  ofType(type: string): StreamEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  /** Waits until `count` events of `type` have arrived in total; returns the latest of them. */
  async waitFor(type: string, count = 1, timeoutMs = 5_000): Promise<StreamEvent> {
    await until(() => this.assertWellFormed() || (this.counts.get(type) ?? 0) >= count, () => `${count} "${type}" event(s); got ${JSON.stringify([...this.counts])}`, timeoutMs);
    return this.last.get(type)!;
  }

  async waitForEnd(timeoutMs = 5_000): Promise<void> {
    await until(() => this.ended, () => 'the stream to end', timeoutMs);
  }

  private assertWellFormed(): false {
    if (this.malformed !== undefined) throw this.malformed;
    return false;
  }

  /** Stops reading: the socket's buffers fill and the server's writes back up. */
  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.req.destroy();
    this.response.destroy();
  }

  private parse(): void {
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('retry: ')) this.retryMs = Number(line.slice(7));
        else throw new Error(`unexpected line in the stream: ${JSON.stringify(line)}`);
      }
      if (data.length > 0) {
        const text = data.join('\n');
        const event = { type, data: text, json: JSON.parse(text) as unknown };
        if (this.keepEvents) this.events.push(event);
        this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
        this.last.set(type, event);
      }
    }
  }
}

/** Polls `condition` every 5 ms; throws naming what was awaited once `timeoutMs` passes. */
export async function until(condition: () => boolean, what: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
