// What the dashboard costs the application that serves it: heap with 0 and 100 viewers of its
// event stream (half of them, in a second run, not reading at all), bytes and events each viewer
// gets, and the closed-path cost of a breaker while 100 pages watch it.
//
//   npm run bench:dashboard    (= npm run build && node --expose-gc bench/dashboard-viewers.bench.mjs)
//
// The app (NestJS 12, Express, the BUILT package from dist/esm, 20 breakers, dashboard defaults)
// runs in this process; the viewers run in a child process (`--viewers`), so their buffers are not
// in the heap measured here. Traffic: 400 calls/s over the 20 breakers (10 % failures), and one
// breaker forced open / reset every 100 ms, so the stream always has something to send.
// Heap is measured after global.gc(); each phase lasts BENCH_PHASE_MS (default 20 000).
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CircuitBreakerModule, CircuitBreakerRegistry } from '../dist/esm/index.js';
import { CircuitBreakerDashboardModule } from '../dist/esm/dashboard/index.js';
import { DashboardHub } from '../dist/esm/dashboard/dashboard-hub.js';
import { fmtInt, machineInfo, median, sleep } from './harness.mjs';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 20_000);
const BREAKERS = 20;
const VIEWERS = 100;

// ------------------------------------------------------------------------------ viewer process

if (process.argv.includes('--viewers')) {
  const [url, count, paused] = process.argv.slice(process.argv.indexOf('--viewers') + 1);
  const stats = Array.from({ length: Number(count) }, () => ({ bytes: 0, events: 0 }));
  await Promise.all(
    stats.map(
      (stat, i) =>
        new Promise((resolve, reject) => {
          const req = request(url, (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
              stat.bytes += Buffer.byteLength(chunk);
              stat.events += chunk.split('\n\n').length - 1;
              if (i < Number(paused) && stat.bytes > 0) res.pause(); // takes the snapshot, then stops reading
              resolve();
            });
          });
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  process.send({ connected: stats.length });
  process.on('message', (message) => {
    if (message === 'report') process.send({ stats });
    if (message === 'exit') process.exit(0);
  });
} else {
  await main();
}

// ------------------------------------------------------------------------------ app and driver

async function main() {
  if (typeof globalThis.gc !== 'function') {
    console.error('Run with --expose-gc (npm run bench:dashboard does).');
    process.exit(1);
  }
  const names = Array.from({ length: BREAKERS }, (_, i) => `dep-${i}`);

  class BenchModule {}
  Module({
    imports: [
      CircuitBreakerModule.forRoot({ logger: false, breakers: Object.fromEntries(names.map((n) => [n, {}])) }),
      CircuitBreakerDashboardModule.register({ readOnly: true, maxViewers: VIEWERS }),
    ],
  })(BenchModule);

  const app = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/circuit-breakers/events`;
  const registry = app.get(CircuitBreakerRegistry);
  const hub = app.get(DashboardHub);
  const breakers = names.map((n) => registry.get(n));
  const fail = new Error('down');

  /** Calls and transitions for `ms`; samples the heap (after gc) every 2 s. */
  async function churn(ms) {
    const heap = [];
    const cpuStart = process.cpuUsage();
    const until = Date.now() + ms;
    let tick = 0;
    while (Date.now() < until) {
      for (let i = 0; i < 40; i++) {
        const b = breakers[(tick * 40 + i) % BREAKERS];
        b.execute(() => (Math.random() < 0.1 ? Promise.reject(fail) : Promise.resolve(1))).catch(() => undefined);
      }
      const flapping = breakers[tick % BREAKERS];
      if (flapping.state === 'forced_open') flapping.reset();
      else flapping.forceOpen();
      tick++;
      if (tick % 20 === 0) {
        globalThis.gc();
        heap.push(process.memoryUsage().heapUsed);
      }
      await sleep(100);
    }
    const cpu = process.cpuUsage(cpuStart);
    for (const b of breakers) b.reset();
    return { heap, cpuMsPerS: (cpu.user + cpu.system) / 1_000 / (ms / 1_000) };
  }

  async function settledHeap() {
    await sleep(200);
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  }

  function viewers(count, paused) {
    const child = fork(fileURLToPath(import.meta.url), ['--viewers', url, String(count), String(paused)], { stdio: 'inherit' });
    const ask = () => new Promise((resolve) => child.once('message', resolve));
    return {
      ready: ask(),
      report: async () => {
        const reply = ask();
        child.send('report');
        return (await reply).stats;
      },
      exit: () => new Promise((resolve) => child.once('exit', resolve) && child.send('exit')),
    };
  }

  const rows = [];
  const baseHeap = await settledHeap();
  const idle = await churn(PHASE_MS);
  rows.push({ phase: '0 viewers', heap: await settledHeap(), peak: Math.max(...idle.heap), cpu: idle.cpuMsPerS, stats: hub.stats() });

  for (const [label, paused] of [
    [`${VIEWERS} viewers reading`, 0],
    [`${VIEWERS} viewers, ${VIEWERS / 2} not reading`, VIEWERS / 2],
  ]) {
    const group = viewers(VIEWERS, paused);
    await group.ready;
    const before = await group.report();
    const run = await churn(PHASE_MS);
    const after = await group.report();
    const stats = hub.stats();
    const heap = await settledHeap();
    const reading = after.slice(paused).map((s, i) => s.bytes - before[paused + i].bytes);
    const events = after.slice(paused).map((s, i) => s.events - before[paused + i].events);
    rows.push({
      phase: label,
      heap,
      peak: Math.max(...run.heap),
      growth: run.heap.at(-1) - run.heap[0],
      cpu: run.cpuMsPerS,
      stats,
      bytesPerViewerPerS: median(reading) / (PHASE_MS / 1_000),
      eventsPerViewerPerS: median(events) / (PHASE_MS / 1_000),
    });
    await group.exit();
    await sleep(500);
  }
  await app.close();

  const m = machineInfo();
  console.log(`\nDashboard with ${BREAKERS} breakers, ${PHASE_MS / 1_000} s per phase; ${m.date}; ${m.nproc} x ${m.cpu}; Node ${m.node}; commit ${m.commit}`);
  console.log(`heap of the app before any traffic: ${(baseHeap / 2 ** 20).toFixed(1)} MB\n`);
  console.log('| phase | heap after (MB) | peak during (MB) | growth during (KB) | server CPU (ms/s) | buffered in server (KB) | per reading viewer |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const per = r.bytesPerViewerPerS === undefined ? '' : `${fmtInt(r.bytesPerViewerPerS)} B/s, ${r.eventsPerViewerPerS.toFixed(1)} events/s`;
    console.log(
      `| ${r.phase} | ${(r.heap / 2 ** 20).toFixed(2)} | ${(r.peak / 2 ** 20).toFixed(2)} | ${r.growth === undefined ? '' : fmtInt(r.growth / 1024)} | ${r.cpu.toFixed(1)} | ${(r.stats.bufferedBytes / 1024).toFixed(1)} (${r.stats.congestedViewers} congested) | ${per} |`,
    );
  }
  const perViewer = (rows[1].heap - rows[0].heap) / VIEWERS;
  console.log(`\nheap per connected viewer: ${fmtInt(perViewer)} B (100 reading viewers vs none, after gc)`);
}
