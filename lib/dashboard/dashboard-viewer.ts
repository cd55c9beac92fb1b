/**
 * One open event stream. It holds no queue: it remembers which version of each piece of state it
 * last wrote, and the hub writes whatever is newer when the client has read what came before. A
 * client that reads slowly therefore gets fewer, newer messages instead of an ever longer backlog;
 * what waits for it is at most one batch, in the socket's own buffer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform: compression middleware leaves the stream alone instead of buffering it
  'Cache-Control': 'no-cache, no-transform',
  // nginx: pass events through as they come
  'X-Accel-Buffering': 'no',
  // The stream is the connection's only use: when it ends, so does the socket (no idle keep-alive to wait for at shutdown).
  Connection: 'close',
};

export class DashboardViewer {
  /** Per breaker name, the sequence number of the `breaker` event last written. */
  readonly sent = new Map<string, number>();
  lastTransitionId = 0;
  sampleNo = -1;
  instancesSeq = -1;
  /** The next write is a full snapshot (first write, or the client missed transitions no longer kept). */
  needsSnapshot = true;
  /** When a write was last refused by the socket (`write()` returned false); undefined once drained. */
  congestedSince: number | undefined;
  private closed = false;

  /**
   * Starts the stream: its headers are written at once. Undefined when there is no stream to keep:
   * a HEAD request (headers only), or a client that left while the guards ran (its 'close' event has
   * passed, so nothing would ever remove it).
   */
  static accept(request: IncomingMessage, response: ServerResponse, onDrain: () => void, onClose: () => void): DashboardViewer | undefined {
    if (request.socket.destroyed || response.destroyed) {
      response.destroy();
      return undefined;
    }
    response.writeHead(200, STREAM_HEADERS);
    if (request.method === 'HEAD') {
      response.end();
      return undefined;
    }
    request.socket.setNoDelay(true);
    return new DashboardViewer(response, onDrain, onClose);
  }

  /** 503 with Retry-After: an EventSource gives up on it, and the page retries by itself. */
  static refuse(response: ServerResponse, message: string): void {
    response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5', Connection: 'close' }).end(`${message}\n`);
  }

  private constructor(
    private readonly response: ServerResponse,
    onDrain: () => void,
    onClose: () => void,
  ) {
    response.on('drain', () => {
      this.congestedSince = undefined;
      onDrain();
    });
    response.on('close', () => {
      this.closed = true;
      onClose();
    });
    // A write after the client left errors the response; 'close' follows and removes the viewer.
    response.on('error', () => undefined);
  }

  get congested(): boolean {
    return this.congestedSince !== undefined;
  }

  /** Bytes written and not yet taken by the client (response and socket buffers). */
  get bufferedBytes(): number {
    return this.response.writableLength;
  }

  write(chunk: string, now: number): void {
    if (this.closed || chunk === '') return;
    if (!this.response.write(chunk)) this.congestedSince ??= now;
  }

  /** Ends the stream; a client that is not reading is cut off instead of waited for. */
  end(): void {
    if (this.closed) return;
    if (this.congested) this.response.destroy();
    else this.response.end();
  }

  destroy(): void {
    this.response.destroy();
  }
}
