/**
 * A redis-server of the test's own: on a free port of 127.0.0.1, nothing on disk (`--save ''
 * --appendonly no`), stopped by the test after its suite. The Redis tests (test/redis, test/fleet)
 * need the `redis-server` binary on PATH and nothing else: no server has to be running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const REDIS_SERVER_NOT_FOUND =
  'redis-server not found on PATH: install it (Debian: apt-get install redis-server) to run the Redis tests in test/redis and test/fleet';

/** The `redis-server` executable on PATH; throws one sentence saying how to get it when there is none. */
export function redisServerBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  const error = new Error(REDIS_SERVER_NOT_FOUND);
  error.stack = REDIS_SERVER_NOT_FOUND; // the sentence is the whole story: no stack trace under it
  throw error;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The process id of the Redis server answering on `port` (INFO server), `undefined` when none
 * answers. Compared with our child's pid, so that a server another test started on the same port
 * (it won the race for the port) is never taken for ours.
 */
function answeringPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let answer = '';
    const done = (pid: number | undefined): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(500, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write('INFO server\r\n'));
    socket.on('data', (data) => {
      answer += data.toString();
      const match = /process_id:(\d+)\r\n/.exec(answer);
      if (match) done(Number(match[1]));
      else if (answer.startsWith('-')) done(undefined); // an error reply: not a server of ours
    });
  });
}

/** A redis-server on a free port with nothing on disk; `stop()` kills it and waits for its exit. */
export class RedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    private readonly binary: string,
    readonly port: number,
  ) {}

  /**
   * Starts a server on a free port. Another process may take the port between the probe and the
   * server's bind, so a server that exits at start is retried on another port.
   */
  static async start(): Promise<RedisServer> {
    const binary = redisServerBinary();
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(binary, await freePort());
      try {
        await server.start();
        return server;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** (Re)starts the server on its port and waits until it answers. */
  async start(): Promise<void> {
    if (this.child !== null) throw new Error('redis-server already running');
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'];
    // cwd: a server that wrote anything (it should not) writes it outside the repository.
    const child = spawn(this.binary, args, { cwd: tmpdir(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 5_000;
    while ((await answeringPid(this.port)) !== child.pid) {
      if (this.child !== child) throw new Error(`redis-server on port ${this.port} exited at start: ${stderr}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`redis-server on port ${this.port} did not answer within 5 s: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Kills the server (SIGKILL by default: a crash, nothing flushed) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill(signal);
    await this.exited;
    this.child = null;
  }
}
