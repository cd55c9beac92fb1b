// What nestjs-breaker/opentelemetry costs on the closed success path, side by side in one process.
//
//   npm run bench:otel       (= npm run build && node --expose-gc bench/otel.bench.mjs)
//
// Each scenario is a pair: a breaker without the instrumentation (baseline) and the same breaker
// instrumented, both `await breaker.execute(async () => VALUE)` in a loop. Same method as
// core.bench.mjs (see bench/README.md): interleaved rounds whose order rotates, CPU time per sample,
// gc before every sample, ratios paired per round, median and range reported.
//
// Phase 1 runs without any OpenTelemetry context manager (as an app without the SDK does); phase 2
// registers the SDK's AsyncLocalStorage context manager and runs both contenders inside an active,
// recording span (its promise-hook cost is then in the baseline too).
//
// Knobs: BENCH_ROUNDS (default 7), BENCH_SAMPLE_MS (default 150), BENCH_CLOCK=wall.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CircuitBreaker, CircuitBreakerRegistry } from '../dist/esm/index.js';
import { instrumentOpenTelemetry } from '../dist/esm/opentelemetry/index.js';
import { machineInfo } from './harness.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('Run with --expose-gc (npm run bench:otel does).');
  process.exit(1);
}
const gc = globalThis.gc;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 150);
const WALL_CLOCK = process.env.BENCH_CLOCK === 'wall';

const VALUE = { ok: true };
const succeed = async () => VALUE;

// ------------------------------------------------------------------------------------ the SDK
// Real SDK providers, given explicitly (OpenTelemetry's globals stay the no-op ones, which the
// "no SDK" scenarios need in the same process). Metrics accumulate; a reader is attached but the
// bench never collects (collection is periodic and off the call path).
class IdleReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
const withSdk = { meterProvider, tracerProvider };
const metricsOnly = { meterProvider, tracerProvider: false };

const breaker = (name, extra = {}) => new CircuitBreaker({ name, ...extra });
/** A registry (the Nest integration's) with one breaker, instrumented through its streams. */
function registryBreaker(name, options) {
  const registry = new CircuitBreakerRegistry({ logger: false, breakers: { [name]: {} } });
  if (options !== undefined) instrumentOpenTelemetry(registry, options);
  return registry.get(name);
}

// One breaker per contender and scenario (separate type feedback, separate windows).
const plain = breaker('plain');
const noSdk = breaker('no-sdk');
instrumentOpenTelemetry([noSdk]);
const registryPlain = registryBreaker('registry-plain');
const registryNoSdk = registryBreaker('registry-no-sdk', {});
// Trace signals forced on (a real tracer provider) with no context manager: every call gets an
// event and looks for an active span that never exists. What skipping the no-op check would cost.
const listening = breaker('listening');
instrumentOpenTelemetry([listening], { meterProvider: false, tracerProvider });
const sdkMetrics = breaker('sdk-metrics');
instrumentOpenTelemetry([sdkMetrics], metricsOnly);
const registrySdkMetrics = registryBreaker('registry-sdk-metrics', metricsOnly);
const timedPlain = breaker('timed-plain', { timeoutMs: 1_000 });
const timedSdkMetrics = breaker('timed-sdk-metrics', { timeoutMs: 1_000 });
instrumentOpenTelemetry([timedSdkMetrics], metricsOnly);
const spanPlain = breaker('span-plain');
const spanSdk = breaker('span-sdk');
instrumentOpenTelemetry([spanSdk], withSdk);
const registrySpanPlain = registryBreaker('registry-span-plain');
const registrySpanSdk = registryBreaker('registry-span-sdk', withSdk);

function check() {
  const flags = (b) => b.listening;
  if (flags(noSdk) || flags(registryNoSdk)) throw new Error('the no-SDK instrumentation attached a listener');
  if (!flags(listening) || !flags(sdkMetrics) || !flags(registrySdkMetrics) || !flags(spanSdk) || !flags(registrySpanSdk)) {
    throw new Error('an SDK instrumentation attached no listener');
  }
}

// Each loop is its own function: V8 keeps separate type feedback per contender.
const loop = (b) =>
  new Function('b', 'succeed', 'return async function (n) { for (let i = 0; i < n; i++) await b.execute(succeed); }')(b, succeed);

// Phase 2: the loops run inside an active, recording span (context.with around the whole loop:
// every call sees it through the AsyncLocalStorage context manager).
const contextManager = new AsyncLocalStorageContextManager();
const span = tracerProvider.getTracer('bench').startSpan('request');
const inSpan = (run) => (n) => context.with(trace.setSpan(context.active(), span), () => run(n));

const PHASES = [
  {
    name: 'phase 1: no context manager',
    setup: () => undefined,
    scenarios: [
      { id: 'no-sdk', title: '(o1) no SDK: instrumentOpenTelemetry([breaker])', baseline: loop(plain), ours: loop(noSdk), maxRatio: 1.1 },
      { id: 'no-sdk-registry', title: '(o2) no SDK: CircuitBreakerOpenTelemetryModule (registry)', baseline: loop(registryPlain), ours: loop(registryNoSdk), maxRatio: 1.1 },
      { id: 'listener', title: '(o3) trace signals forced on, no span ever active', baseline: loop(plain), ours: loop(listening), maxRatio: null },
      { id: 'sdk-metrics', title: '(o4) SDK metrics, breaker without timeout', baseline: loop(plain), ours: loop(sdkMetrics), maxRatio: null },
      { id: 'sdk-metrics-registry', title: '(o5) SDK metrics, registry', baseline: loop(registryPlain), ours: loop(registrySdkMetrics), maxRatio: null },
      { id: 'sdk-metrics-timed', title: '(o6) SDK metrics, timeoutMs 1000 (duration histogram)', baseline: loop(timedPlain), ours: loop(timedSdkMetrics), maxRatio: null },
    ],
  },
  {
    name: 'phase 2: AsyncLocalStorage context manager, calls inside a recording span',
    setup: () => context.setGlobalContextManager(contextManager.enable()),
    scenarios: [
      { id: 'sdk-span', title: '(o7) SDK metrics + traces, active span', baseline: inSpan(loop(spanPlain)), ours: inSpan(loop(spanSdk)), maxRatio: null },
      { id: 'sdk-span-registry', title: '(o8) SDK metrics + traces, active span, registry', baseline: inSpan(loop(registrySpanPlain)), ours: inSpan(loop(registrySpanSdk)), maxRatio: null },
    ],
  },
];
const CONTENDERS = ['baseline', 'ours'];

// ------------------------------------------------------------------------------------ harness (as core.bench.mjs)

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function sample(fn, n) {
  gc();
  await tick();
  if (WALL_CLOCK) {
    const start = process.hrtime.bigint();
    await fn(n);
    return Number(process.hrtime.bigint() - start);
  }
  const start = process.cpuUsage();
  await fn(n);
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
}

async function calibrate(fn) {
  const n = 10_000;
  const perOp = [];
  await sample(fn, n);
  for (let i = 0; i < 3; i++) perOp.push((await sample(fn, n)) / n);
  return Math.min(Math.max(Math.round((SAMPLE_MS * 1e6) / median(perOp)), 2_000), 2_000_000);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function runPhase(phase) {
  phase.setup();
  const plan = [];
  process.stderr.write(`${phase.name}: calibrating`);
  for (const scenario of phase.scenarios) {
    const ops = {};
    for (const c of CONTENDERS) ops[c] = await calibrate(scenario[c]);
    plan.push({ scenario, ops, ns: { baseline: [], ours: [] } });
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`  round ${round + 1}/${ROUNDS}\n`);
    for (const entry of plan) {
      for (let k = 0; k < CONTENDERS.length; k++) {
        const c = CONTENDERS[(k + round) % CONTENDERS.length];
        entry.ns[c].push((await sample(entry.scenario[c], entry.ops[c])) / entry.ops[c]);
      }
    }
    check();
  }
  return plan.map(({ scenario, ops, ns }) => ({
    scenario,
    ops,
    perOp: { baseline: median(ns.baseline), ours: median(ns.ours) },
    ratios: ns.ours.map((v, r) => v / ns.baseline[r]),
  }));
}

// ------------------------------------------------------------------------------------ report

const fmtOps = (nsPerOp) => {
  const ops = 1e9 / nsPerOp;
  return ops >= 1e6 ? `${(ops / 1e6).toFixed(2)}M` : `${(ops / 1e3).toFixed(0)}k`;
};

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main() {
  const started = Date.now();
  check();
  const results = [];
  for (const phase of PHASES) results.push(...(await runPhase(phase)));
  span.end();
  let failed = false;
  const rows = results.map(({ scenario, perOp, ratios }) => {
    const ratio = median(ratios);
    const verdict = scenario.maxRatio === null ? 'info' : ratio <= scenario.maxRatio ? 'PASS' : 'FAIL';
    if (verdict === 'FAIL') failed = true;
    return [
      scenario.title,
      fmtOps(perOp.ours),
      fmtOps(perOp.baseline),
      `${ratio.toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
      scenario.maxRatio === null ? '—' : `<= ${scenario.maxRatio}x`,
      verdict,
    ];
  });
  const m = machineInfo();
  console.log(`\n${m.date}: ${m.nproc} cores (${m.cpu}), ${m.memGB} GB, Node ${m.node}, commit ${m.commit}`);
  console.log(
    `Closed success path, median ops per ${WALL_CLOCK ? 'wall-clock' : 'CPU'} second over ${ROUNDS} interleaved rounds; ` +
      'instrumented / baseline = time per op, median of per-round ratios (range)\n',
  );
  console.log(table(['scenario', 'instrumented ops/s', 'baseline ops/s', 'instrumented / baseline', 'budget', 'result'], rows));
  console.log(`\nSample sizes: ${results.map((r) => `${r.scenario.id}: ${r.ops.baseline}/${r.ops.ours}`).join('; ')}`);
  console.log(`Total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  contextManager.disable();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  if (failed) process.exitCode = 1;
}

await main();
