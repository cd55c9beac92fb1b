// Cascading failure: the payments dependency turns slow (2 s per answer). What does the sample app
// still serve, and how fast, with its breaker and without it?
//
//   npm run bench:cascade  (= npm run build && tsc -p sample-app && node bench/cascading-failure.bench.mjs)
//
// The BUILT sample app (dist-sample) runs in a child process (real clock); this process drives
// autocannon against it on 127.0.0.1 (GET /orders/42/quote and POST /orders/7/pay alternating per
// connection; order 42's price is cached first, so the quote fallback has something to serve) and
// probes an unrelated route (GET /chaos/payments, 4 times a second) to see whether the rest of the
// app suffers. Variants, each from a clean breaker (reset) and with payments `slow`, 2000 ms:
//
//   breaker       the sample's "payments" breaker as configured: timeoutMs 1000, count window 20,
//                 minimumCalls 5, 50 %, open 10 s (backoff x2).
//   timeout-only  registry.get('payments').disable(). NOT "no breaker": in lib/core/circuit-breaker.ts
//                 a disabled breaker admits every call and records nothing, but run() still takes
//                 the timed path whenever timeoutMs is set (runTimed), so every call is still cut at
//                 1 s (504 / the quote fallback) and its fetch aborted; it just never opens.
//   none          disable() AND registry.reconfigure('payments', { timeoutMs: undefined }): the
//                 decorated methods call straight through (no admission control, no timeout, no
//                 signal; a fallback would still run on a thrown error, but a slow answer throws
//                 none). This is the app without a breaker; what remains of the decorator is a
//                 pass-through wrapper, microseconds against a 2 s call.
//
// Rounds: every variant once per round, order rotating; the breaker is restored (timeoutMs 1000,
// reset) before each run, and in-flight calls are given time to drain between runs.
//
// Knobs: BENCH_ROUNDS (2), BENCH_SECONDS (20), BENCH_CONNECTIONS (50), SLOW_MS (2000).
import { loadavg } from 'node:os';
import { AppProcess, runAsDriverOrChild, fmtInt, machineInfo, percentile, sleep } from './harness.mjs';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------ app side

async function runApp() {
  await import('reflect-metadata');
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('../dist-sample/app.module.js');
  const { PaymentsDownstream } = await import('../dist-sample/payments/payments-downstream.js');
  const { CircuitBreakerRegistry } = await import('nestjs-breaker');

  const app = await NestFactory.create(AppModule.forRoot({ paymentsPort: 0 }));
  await app.listen(0, '127.0.0.1');
  const port = Number(new URL(await app.getUrl()).port);
  const downstream = app.get(PaymentsDownstream);
  const registry = app.get(CircuitBreakerRegistry);
  const breaker = registry.get('payments');
  registry.stateChanges$.subscribe((e) => process.send({ event: 'transition', ...e, received: downstream.received }));

  // Requests payments is working on right now (the load the app puts on its sick dependency).
  let inFlight = 0;
  let maxInFlight = 0;
  downstream.server.on('request', (_req, res) => {
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    res.once('close', () => inFlight--);
  });

  const handlers = {
    stats: () => ({ received: downstream.received, inFlight, maxInFlight, snapshot: breaker.snapshot(), totals: breaker.totals(), options: { timeoutMs: breaker.options.timeoutMs ?? null } }),
    set: (m) => downstream.set(m.behaviour),
    variant: (m) => {
      // back to the sample's configuration, empty window, then the variant's change
      registry.reconfigure('payments', { timeoutMs: 1_000 });
      breaker.reset();
      if (m.variant === 'timeout-only') breaker.disable();
      if (m.variant === 'none') {
        breaker.disable();
        registry.reconfigure('payments', { timeoutMs: undefined });
      }
      maxInFlight = inFlight;
      return { state: breaker.state, timeoutMs: breaker.options.timeoutMs ?? null };
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

const PAIR = [
  { method: 'GET', path: '/orders/42/quote' },
  { method: 'POST', path: '/orders/7/pay', headers: { 'content-type': 'application/json' }, body: '{}' },
];

/** An unrelated route, probed sequentially every 250 ms while the load runs. */
function probe(port) {
  const latencies = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/chaos/payments`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
      } catch {
        latencies.push(Infinity);
      }
      await sleep(250);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return latencies;
  };
}

async function runVariant(autocannon, app, variant, seconds, connections) {
  const setup = await app.call('variant', { variant });
  const before = await app.call('stats');
  const transitionsBefore = app.transitions.length;
  const stopProbe = probe(app.port);
  const result = await autocannon({ url: `http://127.0.0.1:${app.port}`, requests: PAIR, connections, duration: seconds });
  const probeLatencies = await stopProbe();
  const after = await app.call('stats');
  const transitions = app.transitions.slice(transitionsBefore);
  const codes = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) codes[code] = count;
  return {
    variant,
    setup,
    total: result.requests.total,
    rps: result.requests.total / result.duration,
    ok: result['2xx'],
    okRps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    codes,
    errors: result.errors + result.timeouts,
    received: after.received - before.received,
    maxInFlight: after.maxInFlight,
    probeP50: percentile(probeLatencies, 50),
    probeMax: Math.max(...probeLatencies),
    probeN: probeLatencies.length,
    transitions: transitions.map((e) => `${e.from}->${e.to}`).join(', '),
    openings: transitions.filter((e) => e.to === 'open').length,
  };
}

async function main() {
  const { default: autocannon } = await import('autocannon');
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
  const SLOW_MS = Number(process.env.SLOW_MS ?? 2_000);
  const DRAIN_MS = SLOW_MS + 1_000;
  const machine = machineInfo();
  const t0 = Date.now();
  const load0 = loadavg();
  console.log(`# Cascading failure: payments slow (${SLOW_MS} ms per answer); ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds`);
  console.log(`${machine.date} | nproc ${machine.nproc} | ${machine.cpu} | ${machine.memGB} GB | node ${machine.node} | commit ${machine.commit}`);

  const app = await new AppProcess(SELF, 'cascading-failure').start();
  console.log(`app on 127.0.0.1:${app.port} (log: ${app.logPath})`);
  const variants = ['breaker', 'timeout-only', 'none'];
  const runs = [];
  try {
    await app.call('set', { behaviour: { mode: 'ok' } });
    const primed = await fetch(`http://127.0.0.1:${app.port}/orders/42/quote`).then((r) => r.json());
    if (primed.source !== 'live') throw new Error(`priming failed: ${JSON.stringify(primed)}`);
    await app.call('set', { behaviour: { mode: 'slow', slowMs: SLOW_MS } });
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + round) % variants.length];
        const r = await runVariant(autocannon, app, variant, SECONDS, CONNECTIONS);
        r.round = round + 1;
        runs.push(r);
        console.log(
          `round ${r.round} ${variant.padEnd(12)} ${fmtInt(r.rps)} req/s (2xx ${fmtInt(r.okRps)}/s), p50 ${r.p50} ms, p99 ${r.p99} ms, payments received ${fmtInt(r.received)}, state changes: ${r.transitions || 'none'} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
        );
        // calls still waiting on payments (variant none: up to SLOW_MS) settle before the next run
        await sleep(DRAIN_MS);
      }
    }
    await app.call('set', { behaviour: { mode: 'ok' } });
    await app.call('variant', { variant: 'breaker' }); // the sample's configuration again
    const stats = await app.call('stats');

    const label = {
      breaker: 'with the breaker (timeout 1 s, opens)',
      'timeout-only': 'breaker disabled (timeout 1 s still applies)',
      none: 'no breaker (disabled, no timeout)',
    };
    console.log('');
    console.log(
      `| variant | round | requests | req/s | 2xx/s | p50 | p99 | max | status codes | payments received (max in flight) | unrelated route p50 / max | state changes |`,
    );
    console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
    for (const v of variants) {
      for (const r of runs.filter((x) => x.variant === v)) {
        const codes = Object.entries(r.codes)
          .map(([c, n]) => `${c}: ${fmtInt(n)}`)
          .join(', ');
        console.log(
          `| ${label[v]} | ${r.round} | ${fmtInt(r.total)} | ${fmtInt(r.rps)} | ${fmtInt(r.okRps)} | ${r.p50} ms | ${r.p99} ms | ${r.max} ms | ${codes}${r.errors ? `, errors: ${r.errors}` : ''} | ${fmtInt(r.received)} (${r.maxInFlight}) | ${r.probeP50.toFixed(1)} / ${r.probeMax.toFixed(0)} ms | ${r.transitions || 'none'} |`,
        );
      }
    }
    console.log('');
    const mean = (v, key) => {
      const xs = runs.filter((x) => x.variant === v).map((x) => x[key]);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    for (const v of variants.slice(1)) {
      console.log(
        `breaker vs ${v}: ${(mean('breaker', 'rps') / mean(v, 'rps')).toFixed(1)}x the requests per second, ${(mean('breaker', 'okRps') / mean(v, 'okRps')).toFixed(1)}x the 2xx per second, p99 ${fmtInt(mean('breaker', 'p99'))} ms vs ${fmtInt(mean(v, 'p99'))} ms, payments received ${fmtInt(mean('breaker', 'received'))} vs ${fmtInt(mean(v, 'received'))} per run (means over the rounds)`,
      );
    }
    console.log(`after the runs: breaker state ${stats.snapshot.state}, timeoutMs ${stats.options.timeoutMs}`);
    const load1 = loadavg();
    console.log(`load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}; total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await app.stop();
    console.log(app.logSummary());
  }
}

runAsDriverOrChild('--app', runApp, main);
