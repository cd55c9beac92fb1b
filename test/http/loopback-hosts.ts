/**
 * Real HTTP servers on loopback (node:http) standing in for the hosts a service calls: each counts
 * the connections it accepted and the requests it saw, answers as told, and notes when a request's
 * connection closes (a client that aborted). Waits are bounded polls of real I/O, never sleeps.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Never answers: the client has to give up. */
  | { kind: 'hang' };

export class LoopbackHost {
  behaviour: Behaviour = { kind: 'ok' };
  connections = 0;
  requests = 0;
  /** Requests whose connection closed before an answer was sent. */
  abandoned = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<LoopbackHost> {
    let host: LoopbackHost | undefined;
    const server = createServer((req, res) => host!.handle(req, res));
    server.on('connection', (socket: Socket) => {
      host!.connections++;
      host!.sockets.add(socket);
      socket.on('close', () => host!.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = new LoopbackHost(server, (server.address() as AddressInfo).port);
    return host;
  }

  /** `127.0.0.1:<port>`: the key a per-host breaker gets. */
  get hostKey(): string {
    return `127.0.0.1:${this.port}`;
  }

  url(path = '/'): string {
    return `http://${this.hostKey}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const behaviour = this.behaviour;
    if (behaviour.kind === 'hang') {
      res.on('close', () => {
        if (!res.writableEnded) this.abandoned++;
      });
      return;
    }
    const status = behaviour.kind === 'ok' ? 200 : behaviour.status;
    res.writeHead(status, { 'content-type': 'application/json', ...(behaviour.kind === 'status' ? behaviour.headers : {}) });
    res.end(JSON.stringify({ port: this.port, status }));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `condition` (real I/O settles on its own time) for at most `ms`. */
export async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
