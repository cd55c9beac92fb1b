/**
 * One open event stream. It holds no queue: it remembers which version of each piece of state it
 * last wrote, and the hub writes whatever is newer when the client has read what came before. A
 * client that reads slowly therefore gets fewer, newer messages instead of an ever longer backlog;
 * what waits for it is at most one batch, in the socket's own buffer.
 */
import type { ServerResponse } from 'node:http';

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

  constructor(
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
