// Shared by the load benches: the app under test in a child process (so the driver's own work does
// not compete inside it), the machine facts a result table needs, and small number helpers.
import { execFileSync, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

export const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Date, cores, CPU, memory, Node and commit: what every recorded result states. */
export function machineInfo() {
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: new URL('..', import.meta.url), encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    date: new Date().toUTCString(),
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    commit: git(['rev-parse', '--short', 'HEAD']) + (dirty && dirty !== 'unknown' ? ' (+ uncommitted changes)' : ''),
  };
}

/**
 * The app in a child process (`script --app`), with a small request/response protocol over IPC:
 * the child sends `{ event: 'ready', port }`, `{ event: 'transition', ... }`, and answers
 * `{ id, cmd }` with `{ id, result }`; `close` ends it.
 */
export class AppProcess {
  constructor(script, name, { execArgv = [] } = {}) {
    this.script = script;
    this.execArgv = execArgv;
    this.logPath = join(tmpdir(), `bench-${name}-${process.pid}.log`);
    this.transitions = [];
    this.pending = new Map();
    this.nextId = 1;
    this.onTransition = null;
  }

  start() {
    const log = openSync(this.logPath, 'w');
    this.child = fork(this.script, ['--app'], { execArgv: this.execArgv, stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    return new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`app exited early (${code}); see ${this.logPath}`)));
      this.child.on('message', (m) => {
        if (m.event === 'ready') {
          this.child.removeAllListeners('exit');
          this.port = m.port;
          resolve(this);
        } else if (m.event === 'transition') {
          this.transitions.push(m);
          this.onTransition?.(m);
        } else if (m.id !== undefined) {
          this.pending.get(m.id)?.(m.result);
          this.pending.delete(m.id);
        }
      });
    });
  }

  call(cmd, extra = {}) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, cmd, ...extra });
    });
  }

  /** One line on what the app logged (its errors are the first thing to check after a run). */
  logSummary() {
    const log = readFileSync(this.logPath, 'utf8').split('\n');
    return `app log: ${log.length - 1} lines, ${log.filter((l) => l.includes('ERROR')).length} with ERROR (${this.logPath})`;
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await Promise.race([this.call('close'), exited]);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The same script is the driver and, started with `flag`, the child: run the one that applies; a
 * child that fails exits at once, a driver that fails sets the exit code.
 */
export function runAsDriverOrChild(flag, child, driver) {
  if (process.argv[2] === flag) {
    child().catch((error) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    driver().catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
  }
}
