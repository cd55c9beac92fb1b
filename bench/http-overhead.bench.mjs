// HTTP overhead of @UseCircuitBreaker on a real NestJS (Express) app, measured with autocannon.
//
//   npm run bench:http     (= npm run build && node bench/http-overhead.bench.mjs)
//
// It imports the BUILT package (dist/esm). Every variant is the same Nest app (built below in plain
// JavaScript, decorators applied programmatically) serving the same work; each variant runs in its
// OWN server process, and this process only drives autocannon (loopback, 127.0.0.1). Separate
// processes matter: the decorator runs each call inside an AsyncLocalStorage, and once a process
// has used one, Node's promise hooks stay on for every promise of that process, so an undecorated
// route in a process that has served decorated calls is not a clean baseline (variant
// `plain, ALS active` measures exactly that).
//
// Method: a warm-up run per server, then ROUNDS rounds; in each round every variant is measured for
// SECONDS with CONNECTIONS connections, back to back, the order rotating from round to round.
// Reported: median req/s and p99 latency over the rounds, and the ratio to `plain` computed per
// round (paired) with its range.
//
// Knobs: BENCH_ROUNDS (6), BENCH_SECONDS (5), BENCH_CONNECTIONS (50), BENCH_WARMUP_SECONDS (3),
// BENCH_ONLY=plain,decorated,... (variant ids).
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { fmtInt, machineInfo, median, runAsDriverOrChild } from './harness.mjs';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------ variants

/**
 * id -> how its server is built and which route is measured.
 * breaker `x`: module defaults (count window 100, no timeout); breaker `x-timeout`: timeoutMs 1000.
 */
const VARIANTS = [
  { id: 'plain', label: 'undecorated provider (baseline)', route: '/plain', app: {} },
  {
    id: 'no-module',
    label: 'the same app without CircuitBreakerModule (undecorated provider)',
    route: '/plain',
    app: { withoutModule: true },
    /** The module must cost nothing on a route it does not protect: plain >= 99% of this. */
    moduleTarget: true,
  },
  { id: 'decorated', label: '@UseCircuitBreaker provider, closed, no timeout', route: '/decorated', app: {}, target: true },
  { id: 'decorated-timeout', label: '@UseCircuitBreaker provider, closed, timeoutMs 1000', route: '/decorated-timeout', app: {} },
  { id: 'plain-als', label: 'undecorated provider, in a process that has served decorated calls', route: '/plain', app: { primeDecorated: true } },
];

// ------------------------------------------------------------------------------------ server side

async function runServer(options) {
  await import('reflect-metadata');
  const { Controller, Get, Injectable, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { CircuitBreakerModule, CircuitBreakerRegistry, UseCircuitBreaker } = await import('../dist/esm/index.js');

  /** The work every route serves: an async provider method building a small JSON answer. */
  function priceOf(orderId) {
    let hash = 0;
    for (const char of orderId) hash = (hash * 31 + char.charCodeAt(0)) % 10_000;
    return Math.round((10 + hash / 100) * 100) / 100;
  }
  // Three methods with identical bodies (separate functions: separate type feedback for V8).
  class WorkService {
    async plain(orderId) {
      return { orderId, price: priceOf(orderId), currency: 'EUR', source: 'live' };
    }
    async decorated(orderId) {
      return { orderId, price: priceOf(orderId), currency: 'EUR', source: 'live' };
    }
    async decoratedTimeout(orderId) {
      return { orderId, price: priceOf(orderId), currency: 'EUR', source: 'live' };
    }
  }
  const decorate = (proto, key, ...decorators) => {
    let descriptor = Object.getOwnPropertyDescriptor(proto, key);
    for (const decorator of decorators.reverse()) descriptor = decorator(proto, key, descriptor) ?? descriptor;
    Object.defineProperty(proto, key, descriptor);
  };
  if (!options.withoutModule) {
    decorate(WorkService.prototype, 'decorated', UseCircuitBreaker('x'));
    decorate(WorkService.prototype, 'decoratedTimeout', UseCircuitBreaker('x-timeout'));
  }
  Injectable()(WorkService);

  class BenchController {
    constructor(work) {
      this.work = work;
    }
    plain() {
      return this.work.plain('42');
    }
    decorated() {
      return this.work.decorated('42');
    }
    decoratedTimeout() {
      return this.work.decoratedTimeout('42');
    }
  }
  decorate(BenchController.prototype, 'plain', Get('plain'));
  decorate(BenchController.prototype, 'decorated', Get('decorated'));
  decorate(BenchController.prototype, 'decoratedTimeout', Get('decorated-timeout'));
  Reflect.defineMetadata('design:paramtypes', [WorkService], BenchController);
  Controller()(BenchController);

  class AppModule {}
  Module({
    imports: options.withoutModule ? [] : [CircuitBreakerModule.forRoot({ breakers: { x: {}, 'x-timeout': { timeoutMs: 1_000 } } })],
    controllers: [BenchController],
    providers: [WorkService],
  })(AppModule);

  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const port = new URL(await app.getUrl()).port;
  const registry = options.withoutModule ? null : app.get(CircuitBreakerRegistry);
  if (options.primeDecorated) {
    // Serve decorated calls once, as a real app would: this process now has AsyncLocalStorage on.
    const work = app.get(WorkService);
    for (let i = 0; i < 1000; i++) await work.decorated('42');
  }
  process.on('message', async (message) => {
    if (message?.cmd === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ cmd: 'cpu', us: user + system });
    } else if (message?.cmd === 'stats') {
      process.send({
        cmd: 'stats',
        breakers: registry === null ? [] : registry.getAll().map((b) => ({ name: b.name, state: b.state, totals: b.totals() })),
      });
    } else if (message?.cmd === 'close') {
      await app.close();
      process.disconnect();
    }
  });
  process.send({ cmd: 'ready', port: Number(port) });
}

// ------------------------------------------------------------------------------------ driver side

const fmtMs = (n) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const pct = (x) => `${(x * 100).toFixed(1)}%`;

function startServer(variant) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ['--server', JSON.stringify(variant.app)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const fail = (error) => reject(error);
    child.once('error', fail);
    child.once('exit', (code) => reject(new Error(`server for ${variant.id} exited early (${code})`)));
    child.once('message', (message) => {
      if (message?.cmd !== 'ready') return reject(new Error(`unexpected message ${JSON.stringify(message)}`));
      child.removeAllListeners('exit');
      child.off('error', fail);
      resolve({ child, port: message.port });
    });
  });
}

function ask(child, cmd) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ cmd });
  });
}

function stopServer(server) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.child.kill('SIGKILL');
    }, 10_000);
    server.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    server.child.send({ cmd: 'close' });
  });
}

async function cannon(autocannon, server, route, seconds, connections) {
  const cpu0 = (await ask(server.child, 'cpu')).us;
  const result = await autocannon({ url: `http://127.0.0.1:${server.port}${route}`, connections, duration: seconds });
  const cpu1 = (await ask(server.child, 'cpu')).us;
  const ok = result['2xx'];
  const bad = result.non2xx + result.errors + result.timeouts;
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    total: result.requests.total,
    /** Server CPU time (user + system, all threads) per request, in microseconds. */
    cpuUs: (cpu1 - cpu0) / result.requests.total,
    ok,
    bad,
  };
}

async function main() {
  const { default: autocannon } = await import('autocannon');
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
  const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
  const variants = VARIANTS.filter((v) => v.id === 'plain' || !only || only.has(v.id));
  const machine = machineInfo();
  const started = Date.now();
  const load0 = loadavg();
  console.log(`# HTTP overhead of @UseCircuitBreaker (Nest 12 + Express, autocannon ${CONNECTIONS} connections, ${SECONDS} s samples, ${ROUNDS} rounds)`);
  console.log(`${machine.date} | nproc ${machine.nproc} | ${machine.cpu} | ${machine.memGB} GB | node ${machine.node} | commit ${machine.commit}`);

  const servers = new Map();
  try {
    for (const v of variants) servers.set(v.id, await startServer(v));
    for (const v of variants) {
      const r = await cannon(autocannon, servers.get(v.id), v.route, WARMUP, CONNECTIONS);
      console.log(`warm-up ${v.id.padEnd(18)} ${fmtInt(r.rps)} req/s`);
    }
    const samples = new Map(variants.map((v) => [v.id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      const line = [];
      for (const v of order) {
        const r = await cannon(autocannon, servers.get(v.id), v.route, SECONDS, CONNECTIONS);
        if (r.bad > 0 || r.ok === 0) throw new Error(`${v.id}: ${r.bad} failed requests of ${r.total}`);
        samples.get(v.id)[round] = r;
        line.push(`${v.id} ${fmtInt(r.rps)} req/s p99 ${r.p99} ms ${r.cpuUs.toFixed(0)} µs/req`);
      }
      console.log(`round ${round + 1}: ${line.join(' | ')}`);
    }
    // Sanity: the decorated routes really went through their (closed) breakers.
    for (const v of variants) {
      const stats = await ask(servers.get(v.id).child, 'stats');
      const calls = stats.breakers.map((b) => `${b.name}=${b.state}/${b.totals.successfulCalls}`).join(' ');
      v.breakers = calls;
      if (v.id.startsWith('decorated')) {
        const b = stats.breakers.find((x) => x.name === (v.id === 'decorated' ? 'x' : 'x-timeout'));
        if (!b || b.state !== 'closed' || b.totals.successfulCalls < 1000) throw new Error(`${v.id}: breaker not used as expected: ${calls}`);
      }
    }

    const base = samples.get('plain');
    console.log('');
    console.log(
      `| variant | median req/s (range) | median p50 | median p99 (range) | server CPU per request | req/s vs plain, paired (range) | p99 vs plain, paired (range) | CPU/request vs plain, paired (range) | target | result |`,
    );
    console.log(`|---|---|---|---|---|---|---|---|---|---|`);
    const verdicts = [];
    const range = (xs, f) => `${f(Math.min(...xs))} to ${f(Math.max(...xs))}`;
    const signedMs = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} ms`;
    for (const v of variants) {
      const s = samples.get(v.id);
      const rps = s.map((r) => r.rps);
      const p99 = s.map((r) => r.p99);
      const cpu = s.map((r) => r.cpuUs);
      const ratio = s.map((r, i) => r.rps / base[i].rps);
      const dp99 = s.map((r, i) => r.p99 - base[i].p99);
      const cpuRatio = s.map((r, i) => r.cpuUs / base[i].cpuUs);
      const isBase = v.id === 'plain';
      const target = v.target ? '>= 95% req/s, p99 unchanged' : v.moduleTarget ? 'plain >= 99% of this' : isBase ? '—' : 'info';
      let verdict = isBase ? '—' : 'info';
      if (v.moduleTarget) {
        // Read the other way round: plain (app with the module) against this app without it.
        const withModule = s.map((r, i) => base[i].rps / r.rps);
        const cpuWithModule = s.map((r, i) => base[i].cpuUs / r.cpuUs);
        verdict = median(withModule) >= 0.99 ? 'PASS' : 'FAIL';
        verdicts.push(
          `module on an undecorated route: ${pct(median(withModule))} of the same app without the module (${verdict}, target >= 99%; per-round range ${range(withModule, pct)}), server CPU per request x${median(cpuWithModule).toFixed(3)}`,
        );
      }
      if (v.target) {
        verdict = median(ratio) >= 0.95 ? 'PASS' : 'FAIL';
        verdicts.push(
          `${v.id}: ${pct(median(ratio))} of plain throughput (${verdict}; per-round range ${range(ratio, pct)}), p99 ${signedMs(median(dp99))}, server CPU per request x${median(cpuRatio).toFixed(3)}`,
        );
      }
      console.log(
        `| ${v.label} | ${fmtInt(median(rps))} (${range(rps, fmtInt)}) | ${median(s.map((r) => r.p50))} ms | ${median(p99)} ms (${range(p99, String)}) | ${median(cpu).toFixed(0)} µs | ${
          isBase ? '1' : `${pct(median(ratio))} (${range(ratio, pct)})`
        } | ${isBase ? '0' : `${signedMs(median(dp99))} (${range(dp99, (x) => x.toFixed(0))})`} | ${isBase ? '1' : `x${median(cpuRatio).toFixed(3)} (${range(cpuRatio, (x) => x.toFixed(2))})`} | ${target} | ${verdict} |`,
      );
    }
    console.log('');
    for (const v of variants) console.log(`breakers in ${v.id} server: ${v.breakers || '(none)'}`);
    for (const line of verdicts) console.log(line);
    const load1 = loadavg();
    console.log(
      `load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  } finally {
    await Promise.all([...servers.values()].map(stopServer));
  }
}

runAsDriverOrChild('--server', () => runServer(JSON.parse(process.argv[3] ?? '{}')), main);
