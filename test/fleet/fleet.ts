/**
 * Helpers for the fleet tests: the built sample app (dist-sample/, importing the package's dist/ by
 * its public name, as a user's app would) run as several child processes, and polling helpers.
 * Time is never asserted on: the helpers wait for a condition and give up only after a generous
 * deadline, with the instance's log in the error.
 */
import { execFile, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import request from 'supertest';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const SAMPLE_MAIN = join(root, 'dist-sample/main.js');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------------------ build

function* files(dir: string, ext: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path, ext);
    else if (entry.name.endsWith(ext)) yield path;
  }
}

/** Newest mtime of the inputs; -Infinity when there are none. */
function newest(paths: Iterable<string>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const path of paths) if (existsSync(path)) max = Math.max(max, statSync(path).mtimeMs);
  return max;
}

/** Oldest mtime of the outputs; -Infinity when one is missing (or there are none). */
function oldest(paths: string[]): number {
  if (paths.length === 0 || !paths.every((path) => existsSync(path))) return Number.NEGATIVE_INFINITY;
  return Math.min(...paths.map((path) => statSync(path).mtimeMs));
}

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`node ${args.join(' ')} failed (${error.message}):\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/** Serialises builds of this checkout across processes (two test runs at once must not both rebuild dist/). */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `nestjs-breaker-build-${createHash('sha1').update(root).digest('hex').slice(0, 12)}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than a build can take was left by a killed process.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held !== undefined && Date.now() - held.mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      else if (attempt > 1_200) throw new Error(`another build of ${root} has held ${lock} for too long`);
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Makes sure dist/ (the package) and dist-sample/ (the sample app compiled against it) are at least
 * as new as their sources, building what is stale like `npm run build && tsc -p sample-app/tsconfig.json`
 * would. Returns what was built (for the test log): nothing when both are current (CI builds dist/
 * before the tests).
 */
export async function ensureSampleBuilt(): Promise<string[]> {
  return withBuildLock(async () => {
    const built: string[] = [];
    const libInputs = [...files(join(root, 'lib'), '.ts'), ...['tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs'].map((f) => join(root, f))];
    // build.mjs writes dist/cjs/package.json last: its absence means an unfinished build.
    const libOutputs = [...files(join(root, 'dist/esm'), '.js'), join(root, 'dist/cjs/package.json')];
    if (oldest(libOutputs) < newest(libInputs)) {
      await run([join(root, 'scripts/build.mjs')]);
      built.push('dist/ (scripts/build.mjs)');
    }
    const sampleInputs = [...files(join(root, 'sample-app'), '.ts'), join(root, 'sample-app/tsconfig.json'), join(root, 'tsconfig.json')];
    const sampleOutputs = [...files(join(root, 'dist-sample'), '.js')];
    if (!sampleOutputs.includes(SAMPLE_MAIN) || oldest(sampleOutputs) < newest(sampleInputs)) {
      await run([join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'sample-app/tsconfig.json')]);
      built.push('dist-sample/ (tsc -p sample-app/tsconfig.json)');
    }
    return built;
  });
}

// ------------------------------------------------------------------------------------- instances

const EXIT_WITH_PARENT = pathToFileURL(join(root, 'test/fleet/exit-with-parent.mjs')).href;

/** One sample-app process (dist-sample/main.js) on a port of its own. */
export class SampleInstance {
  readonly child: ChildProcess;
  port = 0;
  private output = '';
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    const base = { ...process.env };
    // Nothing of the test's own environment decides how the instance runs, except what is given.
    for (const key of ['PORT', 'PAYMENTS_PORT', 'PAYMENTS_URL', 'PAYMENTS_OPEN_DURATION_MS', 'REDIS_URL', 'REDIS_COMMAND_TIMEOUT_MS', 'CIRCUIT_BREAKER_KEY_PREFIX', 'ADMIN_API_KEY', 'NODE_OPTIONS']) {
      delete base[key];
    }
    this.child = fork(SAMPLE_MAIN, [], {
      cwd: root,
      env: { ...base, NO_COLOR: '1', PORT: '0', ...env },
      execArgv: ['--import', EXIT_WITH_PARENT],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Everything the instance printed so far. */
  get log(): string {
    return this.output;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves once the startup banner is printed (the app listens); rejects if the process ends first. */
  async ready(): Promise<this> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const match = /Sample app listening on http:\/\/localhost:(\d+)/.exec(this.output);
      // The banner is one write: once its first line is there, so is the rest.
      if (match) {
        this.port = Number(match[1]);
        return this;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before listening:\n${this.output}`);
      }
      if (Date.now() > deadline) throw new Error(`${this.name} did not print its banner within 30 s:\n${this.output}`);
      await sleep(25);
    }
  }

  http(): ReturnType<typeof request> {
    return request(this.url);
  }

  /** SIGTERM (Nest's shutdown hooks close the app and the store), SIGKILL if it lingers; waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(timer);
    }
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }
}

/**
 * Polls `probe` until it returns a value that is not `undefined`; throws `describe()` (called then,
 * so it can report the latest state) when `timeoutMs` passes first. A probe that throws is retried.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, describe: () => string, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting after ${timeoutMs} ms: ${describe()}${lastError ? `\nlast error: ${String(lastError)}` : ''}`);
    }
    await sleep(everyMs);
  }
}
