// Load test of the sample app through a payments outage: trip, fail fast while open (no call may
// reach payments), memory over ~1M fast-failed requests, recovery.
//
//   npm run bench:load     (= npm run build && tsc -p sample-app && node bench/load-open-recover.bench.mjs)
//
// The BUILT sample app (dist-sample, importing the package's dist/) runs in a child process started
// with --expose-gc and the real clock; this process drives autocannon against it on 127.0.0.1 and
// talks to the app over IPC (switch the payments mode, read `downstream.received`, breaker
// snapshots and memory; state changes are pushed as they happen). The app's own log goes to a
// file in the OS temp folder (its path is printed).
//
// Every request pair is GET /orders/42/quote (a decorated provider with a fallback: order 42's
// price is cached first, so an open circuit answers 200 from the cache) and POST /orders/7/pay (a
// decorated route: an open circuit answers 503 + Retry-After). autocannon cycles through the pair.
//
// Phases:
//   0  payments ok: one quote for order 42 (caches its price).
//   1  payments fail: load until the breaker opens (autocannon is stopped at the state change).
//   2  open (the breaker's own config, 10 s open): a load run that ends before the open duration
//      does; `downstream.received` must not move.
//   2m memory: open, until MEM_REQUESTS requests or MEM_BUDGET_S seconds, in chunks; after each
//      chunk the app runs gc() twice and reports heapUsed / RSS. For this phase the breaker's
//      backoff is removed (registry.reconfigure) so that the half-open trial recurs every 10 s and
//      the recovery wait stays bounded; each trial reaches payments once (fails, re-opens), and
//      the check is `received growth == number of half_open transitions`.
//   3  payments ok: wait out the open duration, load again: the first call is the trial, the
//      circuit closes, throughput of the healthy path is reported.
//
// Knobs: BENCH_CONNECTIONS (50), MEM_REQUESTS (1000000), MEM_BUDGET_S (140), MEM_CHUNK (25000),
// RECOVER_SECONDS (10).
import { loadavg } from 'node:os';
import { AppProcess, runAsDriverOrChild, fmtInt, machineInfo, median, sleep } from './harness.mjs';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------ app side

async function runApp() {
  await import('reflect-metadata');
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('../dist-sample/app.module.js');
  const { PaymentsDownstream } = await import('../dist-sample/payments/payments-downstream.js');
  const { CircuitBreakerRegistry } = await import('nestjs-breaker');
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('the app process needs --expose-gc');

  const app = await NestFactory.create(AppModule.forRoot({ paymentsPort: 0 }));
  await app.listen(0, '127.0.0.1');
  const port = Number(new URL(await app.getUrl()).port);
  const downstream = app.get(PaymentsDownstream);
  const registry = app.get(CircuitBreakerRegistry);
  const breaker = registry.get('payments');

  const memory = () => {
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  // Optional probe (phases 1 and 2 only): counts the calls the breaker admitted, i.e. the times it
  // invoked the decorated method, by wrapping `run` on this one instance. Removed again before
  // the memory phase (the prototype's `run` is back, untouched).
  let admitted = 0;
  registry.stateChanges$.subscribe((e) => process.send({ event: 'transition', ...e, received: downstream.received, admitted }));
  const probe = (on) => {
    if (!on) return void delete breaker.run;
    const run = Object.getPrototypeOf(breaker).run;
    breaker.run = function (fn, rejectAs) {
      const counted = fn.length > 0 ? (signal) => (admitted++, fn(signal)) : () => (admitted++, fn());
      return run.call(this, counted, rejectAs);
    };
  };
  const handlers = {
    probe: (m) => probe(m.on),
    stats: () => ({ received: downstream.received, admitted, mode: downstream.current.mode, snapshot: breaker.snapshot(), totals: breaker.totals(), memory: memory() }),
    set: (m) => downstream.set(m.behaviour),
    reconfigure: (m) => {
      // IPC drops undefined values: `unset` lists the options to remove (back to their default).
      const settings = { ...m.settings };
      for (const key of m.unset ?? []) settings[key] = undefined;
      registry.reconfigure('payments', settings);
      return breaker.options.openDurationBackoff ?? null;
    },
    gc: async () => {
      // Twice, with a turn of the event loop between, so finalizers and weak callbacks have run.
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      return memory();
    },
    close: async () => {
      await app.close();
      return true;
    },
  };
  process.on('message', async (m) => {
    const result = await handlers[m.cmd](m);
    process.send({ id: m.id, result });
    if (m.cmd === 'close') process.disconnect();
  });
  process.send({ event: 'ready', port });
}

// ------------------------------------------------------------------------------------ driver side

const MB = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

const PAIR = [
  { method: 'GET', path: '/orders/42/quote' },
  { method: 'POST', path: '/orders/7/pay', headers: { 'content-type': 'application/json' }, body: '{}' },
];

/** One autocannon run; `stopWhen(instance)` may stop it early. */
function cannon(autocannon, port, options, stopWhen) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url: `http://127.0.0.1:${port}`, requests: PAIR, connections: 50, ...options }, (error, result) =>
      error ? reject(error) : resolve(summarize(result)),
    );
    stopWhen?.(instance);
  });
}

function summarize(result) {
  const codes = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) codes[code] = count;
  return {
    total: result.requests.total,
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    codes,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

const codesText = (codes) =>
  Object.entries(codes)
    .map(([code, count]) => `${code}: ${fmtInt(count)}`)
    .join(', ');

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main() {
  const { default: autocannon } = await import('autocannon');
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const MEM_REQUESTS = Number(process.env.MEM_REQUESTS ?? 1_000_000);
  const MEM_BUDGET_S = Number(process.env.MEM_BUDGET_S ?? 140);
  const MEM_CHUNK = Number(process.env.MEM_CHUNK ?? 25_000);
  const RECOVER_SECONDS = Number(process.env.RECOVER_SECONDS ?? 10);
  const DRAIN_MS = 1_500;
  const machine = machineInfo();
  const t0 = Date.now();
  const load0 = loadavg();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  console.log(`# Sample app under load: payments outage -> open -> recovery (autocannon, ${CONNECTIONS} connections, GET quote + POST pay alternating)`);
  console.log(`${machine.date} | nproc ${machine.nproc} | ${machine.cpu} | ${machine.memGB} GB | node ${machine.node} | commit ${machine.commit}`);

  const app = await new AppProcess(SELF, 'load-open-recover', { execArgv: ['--expose-gc'] }).start();
  console.log(`app on 127.0.0.1:${app.port} (log: ${app.logPath})`);
  const rows = [];
  const checks = [];
  const check = (ok, text) => {
    checks.push(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
  };
  try {
    // ---------------------------------------------------------------- phase 0: cache order 42
    await app.call('set', { behaviour: { mode: 'ok' } });
    const primed = await fetch(`http://127.0.0.1:${app.port}/orders/42/quote`).then((r) => r.json());
    if (primed.source !== 'live') throw new Error(`priming failed: ${JSON.stringify(primed)}`);

    await app.call('probe', { on: true });

    // ---------------------------------------------------------------- phase 1: trip
    await app.call('set', { behaviour: { mode: 'fail' } });
    const before1 = await app.call('stats');
    const trip = await cannon(autocannon, app.port, { connections: CONNECTIONS, duration: 10 }, (instance) => {
      app.onTransition = (e) => {
        if (e.to === 'open') instance.stop();
      };
    });
    app.onTransition = null;
    const stopped1 = await app.call('stats');
    // Calls admitted while the circuit was still closed may still be on their way to payments
    // (autocannon had CONNECTIONS requests in flight when it tripped). Let them drain: after
    // timeoutMs (1 s) each has settled or timed out (and a timed-out call's fetch is aborted).
    await sleep(DRAIN_MS);
    const after1 = await app.call('stats');
    const opened = app.transitions.find((e) => e.to === 'open');
    check(after1.snapshot.state === 'open', `phase 1: breaker open after ${fmtInt(trip.total)} requests (${trip.seconds.toFixed(2)} s); state ${after1.snapshot.state}`);
    check(
      after1.admitted === opened.admitted && after1.received - before1.received <= after1.admitted - before1.admitted,
      `phase 1: calls admitted ${after1.admitted - before1.admitted}, all before the trip (admitted after it: ${after1.admitted - opened.admitted}); payments received ${after1.received - before1.received} (<= admitted)`,
    );
    rows.push({
      phase: '1 trip (payments fail)',
      run: trip,
      received: after1.received - before1.received,
      note: `opened (${opened?.reason}) when ${opened ? opened.received - before1.received : '?'} calls had reached payments (window ${after1.snapshot.calls} calls, ${after1.snapshot.failures} failures); the rest were admitted before the trip and still in flight: ${fmtInt(stopped1.received - opened.received)} arrived before autocannon stopped, ${fmtInt(after1.received - stopped1.received)} during a ${DRAIN_MS} ms drain with no load`,
    });

    // ---------------------------------------------------------------- phase 2: open, no trial
    const retryAfter = after1.snapshot.retryAfterMs ?? 0;
    const openSeconds = Math.max(1, Math.min(10, Math.floor((retryAfter - 1_500) / 1000)));
    const transitionsBefore2 = app.transitions.length;
    const before2 = await app.call('stats');
    const open = await cannon(autocannon, app.port, { connections: CONNECTIONS, duration: openSeconds });
    const after2 = await app.call('stats');
    const grew = after2.received - before2.received;
    check(
      grew === 0 && after2.admitted === before2.admitted && app.transitions.length === transitionsBefore2,
      `phase 2: ${fmtInt(open.total)} requests in ${open.seconds.toFixed(1)} s while open (open duration left at start ${retryAfter} ms): calls admitted ${after2.admitted - before2.admitted}, payments received ${grew} (both must be 0), state changes ${app.transitions.length - transitionsBefore2}`,
    );
    await app.call('probe', { on: false });
    rows.push({
      phase: `2 open (${openSeconds} s, inside the 10 s open duration)`,
      run: open,
      received: grew,
      note: `not permitted +${fmtInt(after2.snapshot.notPermittedCalls - before2.snapshot.notPermittedCalls)}, admitted +${after2.admitted - before2.admitted}`,
    });

    // ---------------------------------------------------------------- phase 2m: memory over ~1M
    const backoffBefore = await app.call('reconfigure', { settings: {}, unset: ['openDurationBackoff'] });
    const memBase = await app.call('gc');
    const before2m = await app.call('stats');
    const transitionsBefore2m = app.transitions.length;
    const samples = [{ requests: 0, ...memBase }];
    const chunks = [];
    let done = 0;
    const memStart = Date.now();
    let lastRps = open.rps;
    while (done < MEM_REQUESTS) {
      const left = MEM_BUDGET_S - (Date.now() - memStart) / 1000;
      // bounded by amount (autocannon ignores `duration` when `amount` is set): what the last
      // measured rate fits in the time budget left
      const amount = Math.min(MEM_CHUNK, MEM_REQUESTS - done, Math.floor(lastRps * left));
      if (amount < Math.min(MEM_CHUNK, MEM_REQUESTS - done) / 4) break;
      const run = await cannon(autocannon, app.port, { connections: CONNECTIONS, amount });
      lastRps = run.rps;
      done += run.total;
      chunks.push(run);
      const m = await app.call('gc');
      samples.push({ requests: done, ...m });
      console.log(`  memory phase ${fmtInt(done)} requests, ${fmtInt(run.rps)} req/s, heapUsed ${MB(m.heapUsed)}, rss ${MB(m.rss)} (${elapsed()})`);
    }
    const after2m = await app.call('stats');
    const memSeconds = (Date.now() - memStart) / 1000;
    const trials2m = app.transitions.slice(transitionsBefore2m).filter((e) => e.to === 'half_open').length;
    const reopened2m = app.transitions.slice(transitionsBefore2m).filter((e) => e.from === 'half_open' && e.to === 'open').length;
    const grew2m = after2m.received - before2m.received;
    check(grew2m === trials2m, `phase 2m: payments received ${grew2m} during ${fmtInt(done)} requests; half-open trials ${trials2m} (re-opened ${reopened2m}): received == trials`);
    const codes2m = {};
    for (const c of chunks) for (const [code, count] of Object.entries(c.codes)) codes2m[code] = (codes2m[code] ?? 0) + count;
    const memRun = {
      total: done,
      seconds: chunks.reduce((a, c) => a + c.seconds, 0),
      rps: done / chunks.reduce((a, c) => a + c.seconds, 0),
      p50: median(chunks.map((c) => c.p50)),
      p90: median(chunks.map((c) => c.p90)),
      p99: median(chunks.map((c) => c.p99)),
      max: Math.max(...chunks.map((c) => c.max)),
      codes: codes2m,
      errors: chunks.reduce((a, c) => a + c.errors, 0),
      timeouts: chunks.reduce((a, c) => a + c.timeouts, 0),
    };
    rows.push({ phase: `2m open, memory (${fmtInt(done)} requests, ${chunks.length} chunks)`, run: memRun, received: grew2m, note: `${trials2m} half-open trials (each re-opened); latency = median of chunk percentiles` });

    // memory verdict: slope over the samples after the first chunk (the first one includes warm-up)
    const tail = samples.slice(1);
    const heapSlope = slope(
      tail.map((s) => s.requests),
      tail.map((s) => s.heapUsed),
    );
    const rssSlope = slope(
      tail.map((s) => s.requests),
      tail.map((s) => s.rss),
    );
    const heapGrowth = tail.at(-1).heapUsed - tail[0].heapUsed;
    const span = tail.at(-1).requests - tail[0].requests;
    check(
      Math.abs(heapSlope) < 1,
      `phase 2m: heapUsed slope ${heapSlope.toFixed(3)} B/request over ${fmtInt(span)} requests (after the first chunk): ${heapGrowth >= 0 ? '+' : ''}${(heapGrowth / 1024).toFixed(0)} KB (budget: |slope| < 1 B/request, i.e. < 1 MB per 1M requests)`,
    );

    // ---------------------------------------------------------------- phase 3: recovery
    await app.call('set', { behaviour: { mode: 'ok' } });
    const before3 = await app.call('stats');
    const wait = before3.snapshot.state === 'open' ? (before3.snapshot.retryAfterMs ?? 0) + 200 : 0;
    console.log(`  payments ok; waiting ${wait} ms for the open duration to end (${elapsed()})`);
    await sleep(wait);
    const transitionsBefore3 = app.transitions.length;
    const recover = await cannon(autocannon, app.port, { connections: CONNECTIONS, duration: RECOVER_SECONDS });
    const after3 = await app.call('stats');
    const t3 = app.transitions.slice(transitionsBefore3);
    const closedAt = t3.find((e) => e.to === 'closed');
    check(
      after3.snapshot.state === 'closed' && closedAt !== undefined,
      `phase 3: state ${after3.snapshot.state}; transitions ${t3.map((e) => `${e.from}->${e.to} (${e.reason})`).join(', ') || 'none'}`,
    );
    rows.push({
      phase: `3 recovery (payments ok, ${RECOVER_SECONDS} s)`,
      run: recover,
      received: after3.received - before3.received,
      note: `closed by ${closedAt?.reason ?? '—'}; window ${after3.snapshot.calls} calls, ${after3.snapshot.failures} failures`,
    });

    // ---------------------------------------------------------------- report
    console.log('');
    console.log(`| phase | requests | req/s | p50 | p99 | max | status codes | errors | payments received | notes |`);
    console.log(`|---|---|---|---|---|---|---|---|---|---|`);
    for (const { phase, run, received, note } of rows) {
      console.log(
        `| ${phase} | ${fmtInt(run.total)} | ${fmtInt(run.rps)} | ${run.p50} ms | ${run.p99} ms | ${run.max} ms | ${codesText(run.codes)} | ${run.errors + run.timeouts} | ${fmtInt(received)} | ${note} |`,
      );
    }
    console.log('');
    console.log(`Memory of the app process while open (after gc() twice; backoff during this phase: ${JSON.stringify(backoffBefore)} -> removed):`);
    console.log('');
    console.log(`| requests while open | heapUsed | heapTotal | RSS | external |`);
    console.log(`|---|---|---|---|---|`);
    for (const s of samples) console.log(`| ${fmtInt(s.requests)} | ${MB(s.heapUsed)} | ${MB(s.heapTotal)} | ${MB(s.rss)} | ${MB(s.external)} |`);
    console.log('');
    console.log(
      `heapUsed slope ${heapSlope.toFixed(3)} B/request (${((heapSlope * 1e6) / 1024).toFixed(0)} KB per 1M requests), RSS slope ${rssSlope.toFixed(3)} B/request, fitted over the ${tail.length} samples after the first chunk; memory phase ${memSeconds.toFixed(0)} s`,
    );
    console.log('');
    console.log('State changes (app clock, ms since the first one):');
    const first = app.transitions[0]?.at ?? 0;
    for (const e of app.transitions) console.log(`  +${(e.at - first).toFixed(0).padStart(7)} ms  ${e.from} -> ${e.to} (${e.reason}), payments received so far ${e.received}`);
    console.log('');
    for (const line of checks) console.log(line);
    const load1 = loadavg();
    console.log(`load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}; total ${elapsed()}`);
    if (checks.some((line) => line.startsWith('FAIL'))) process.exitCode = 1;
  } finally {
    await app.stop();
    console.log(app.logSummary());
  }
}

runAsDriverOrChild('--app', runApp, main);
