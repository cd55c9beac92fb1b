// Benchmark of the framework-free engine against opossum, cockatiel and a bare `await fn()`.
//
//   npm run bench            (= npm run build && node --expose-gc bench/core.bench.mjs)
//
// It imports the BUILT package (dist/esm), so it measures what users run. Every contender runs in
// this one process, round-robin within each round (the order rotates from round to round), and the
// table reports the median ops/s over the rounds. Ratios are the claims; absolute numbers depend on
// the machine. See bench/README.md for what each scenario measures.
//
// Environment knobs: BENCH_ROUNDS (default 7), BENCH_SAMPLE_MS (target duration of one sample,
// default 150), BENCH_ONLY (comma-separated scenario ids, e.g. "closed,open"), BENCH_CLOCK=wall
// (time samples by wall clock instead of the process's CPU time).
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { CircuitBreaker } from '../dist/esm/index.js';
import { recordCalls } from '../dist/esm/tuning/index.js';
import Opossum from 'opossum';

// cockatiel's timeout adds an abort listener per in-flight call to a signal it creates at import time;
// with 1000 calls in flight Node would print a MaxListenersExceededWarning. It is not a leak: silence it.
EventEmitter.defaultMaxListeners = 0;
const { CountBreaker, SamplingBreaker, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap } = await import('cockatiel');

if (typeof globalThis.gc !== 'function') {
  console.error('Run with --expose-gc (npm run bench does).');
  process.exit(1);
}
const gc = globalThis.gc;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 150);
const WALL_CLOCK = process.env.BENCH_CLOCK === 'wall';
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const CONCURRENCY = 1000;
const TIMEOUT_MS = 1000;
/** Long enough that nothing recovers during the run. */
const LONG_MS = 3_600_000;

// ------------------------------------------------------------------------------------ workloads

const VALUE = { ok: true };
/** Pre-made: the failing workload must not measure stack capture of its own errors. */
const FAILURE = new Error('dependency failed');

/** (1) the protected call: an async function that succeeds. */
const succeed = async () => VALUE;

/** (3) 10% failures: every 10th call rejects (deterministic; the counter is reset per sample). */
let flakyCount = 0;
const flaky = async () => {
  if (++flakyCount === 10) {
    flakyCount = 0;
    throw FAILURE;
  }
  return VALUE;
};

/** (4) 1000 calls in flight at once: each waits for a gate that opens on the next setImmediate. */
let gate = Promise.resolve();
const gated = async () => {
  await gate;
  return VALUE;
};
const openGate = (resolve) => setImmediate(resolve);
const newGate = () => {
  gate = new Promise(openGate);
};

/** (2) the baseline of an open circuit: awaiting a rejected promise made once, up front. */
const REJECTED = Promise.reject(new Error('pre-made rejection'));
REJECTED.catch(() => {});

// ------------------------------------------------------------------------------------ contenders
// Configured alike: a count window of 100 calls, 50% failure threshold, 10 calls minimum, 30 s open.
// opossum: rolling percentiles and snapshots off (documented performance options), `timeout: false`
// unless the scenario has a timeout (opossum's default is a 10 s timeout with a timer per call).

function ours(extra = {}) {
  return new CircuitBreaker({ name: 'bench', ...extra });
}

function opossum(action, extra = {}) {
  const breaker = new Opossum(action, {
    timeout: false,
    errorThresholdPercentage: 50,
    volumeThreshold: 10,
    resetTimeout: 30_000,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    ...extra,
  });
  opossumBreakers.push(breaker);
  return breaker;
}
const opossumBreakers = [];

function cockatiel(extra = {}) {
  return circuitBreaker(handleAll, {
    halfOpenAfter: 30_000,
    breaker: new CountBreaker({ threshold: 0.5, size: 100, minimumNumberOfCalls: 10 }),
    ...extra,
  });
}

// Each loop is its own function so that V8 keeps separate type feedback per contender and scenario
// (a shared loop taking a callback would be megamorphic and penalise whoever runs second).

// (1) closed, success, no timeout
const c1 = { ours: ours(), opossum: opossum(succeed), cockatiel: cockatiel() };
async function s1Bare(n) {
  for (let i = 0; i < n; i++) await succeed();
}
async function s1Ours(n) {
  const b = c1.ours;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1Opossum(n) {
  const b = c1.opossum;
  for (let i = 0; i < n; i++) await b.fire();
}
async function s1Cockatiel(n) {
  const b = c1.cockatiel;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}

// (1e) events: a breaker whose onCall listener came and went must cost what one that never had one
// costs (docs/performance.md, budget: events cost nothing when nobody listens); (1l) with a listener, for reference.
const eventsOff = ours();
eventsOff.onStateChange(() => {});
eventsOff.onCall(() => {})();
const eventsOn = ours();
let callEvents = 0;
eventsOn.onCall(() => {
  callEvents++;
});
async function s1eNever(n) {
  const b = c1.ours;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1eUnsubscribed(n) {
  const b = eventsOff;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1eListening(n) {
  const b = eventsOn;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}

// (1s) shadows: one and three shadow configurations (docs/tuning.md): each call's event, then one
// more permit and window update per shadow. (1r) recording every call (recordCalls) to a stream
// that discards what it gets: a clock read per call, the event, one NDJSON line formatted and batched.
// Informational: what turning them on costs, against a breaker without them.
const oneShadow = ours({ shadows: { strict: { failureRateThreshold: 25 } } });
const threeShadows = ours({
  shadows: { strict: { failureRateThreshold: 25 }, patient: { minimumCalls: 50 }, quick: { openDurationMs: 5_000 } },
});
const recorded = ours();
recordCalls(recorded, {
  stream: new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  }),
  maxBytes: Number.MAX_SAFE_INTEGER,
});
async function s1sOne(n) {
  const b = oneShadow;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1sThree(n) {
  const b = threeShadows;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1rRecording(n) {
  const b = recorded;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}

// (1w) closed, success, a time window of 60 s in 10 slices (opossum's window is always time-based:
// 60 s in 10 buckets; cockatiel's time-based breaker is the SamplingBreaker over 60 s)
const TIME_WINDOW = { type: 'time', durationMs: 60_000, buckets: 10 };
const c1w = {
  ours: ours({ slidingWindow: TIME_WINDOW }),
  opossum: opossum(succeed, { rollingCountTimeout: 60_000, rollingCountBuckets: 10 }),
  cockatiel: cockatiel({ breaker: new SamplingBreaker({ threshold: 0.5, duration: 60_000 }) }),
};
async function s1wOurs(n) {
  const b = c1w.ours;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1wOpossum(n) {
  const b = c1w.opossum;
  for (let i = 0; i < n; i++) await b.fire();
}
async function s1wCockatiel(n) {
  const b = c1w.cockatiel;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}

// (1t) closed, success, per-call timeout 1000 ms
const c1t = {
  ours: ours({ timeoutMs: TIMEOUT_MS }),
  opossum: opossum(succeed, { timeout: TIMEOUT_MS }),
  cockatiel: wrap(cockatiel(), timeout(TIMEOUT_MS, TimeoutStrategy.Cooperative)),
};
async function s1tOurs(n) {
  const b = c1t.ours;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}
async function s1tOpossum(n) {
  const b = c1t.opossum;
  for (let i = 0; i < n; i++) await b.fire();
}
async function s1tCockatiel(n) {
  const b = c1t.cockatiel;
  for (let i = 0; i < n; i++) await b.execute(succeed);
}

// (2) open fast-fail: each breaker tripped once (by real failures), then called while open
const c2 = {
  ours: ours({ openDurationMs: LONG_MS }),
  opossum: opossum(flaky, { resetTimeout: LONG_MS }),
  cockatiel: cockatiel({ halfOpenAfter: LONG_MS }),
};
const fail = async () => {
  throw FAILURE;
};
async function trip() {
  for (let i = 0; i < 20; i++) {
    await c2.ours.execute(fail).catch(() => {});
    await c2.cockatiel.execute(fail).catch(() => {});
  }
  c2.opossum.open(); // opossum's own trip needs its rolling window; open() is the same state
}
async function s2Premade(n) {
  const r = REJECTED;
  for (let i = 0; i < n; i++) {
    try {
      await r;
    } catch {}
  }
}
async function s2Ours(n) {
  const b = c2.ours;
  for (let i = 0; i < n; i++) {
    try {
      await b.execute(succeed);
    } catch {}
  }
}
async function s2Opossum(n) {
  const b = c2.opossum;
  for (let i = 0; i < n; i++) {
    try {
      await b.fire();
    } catch {}
  }
}
async function s2Cockatiel(n) {
  const b = c2.cockatiel;
  for (let i = 0; i < n; i++) {
    try {
      await b.execute(succeed);
    } catch {}
  }
}

// (3) 10% failures, thresholds high enough that nothing trips
const c3 = {
  ours: ours({ failureRateThreshold: 90 }),
  opossum: opossum(flaky, { errorThresholdPercentage: 90 }),
  cockatiel: cockatiel({ breaker: new CountBreaker({ threshold: 0.9, size: 100, minimumNumberOfCalls: 10 }) }),
};
async function s3Bare(n) {
  flakyCount = 0;
  for (let i = 0; i < n; i++) {
    try {
      await flaky();
    } catch {}
  }
}
async function s3Ours(n) {
  flakyCount = 0;
  const b = c3.ours;
  for (let i = 0; i < n; i++) {
    try {
      await b.execute(flaky);
    } catch {}
  }
}
async function s3Opossum(n) {
  flakyCount = 0;
  const b = c3.opossum;
  for (let i = 0; i < n; i++) {
    try {
      await b.fire();
    } catch {}
  }
}
async function s3Cockatiel(n) {
  flakyCount = 0;
  const b = c3.cockatiel;
  for (let i = 0; i < n; i++) {
    try {
      await b.execute(flaky);
    } catch {}
  }
}

// (3t) 10% failures with a per-call timeout
const c3t = {
  ours: ours({ failureRateThreshold: 90, timeoutMs: TIMEOUT_MS }),
  opossum: opossum(flaky, { errorThresholdPercentage: 90, timeout: TIMEOUT_MS }),
  cockatiel: wrap(
    cockatiel({ breaker: new CountBreaker({ threshold: 0.9, size: 100, minimumNumberOfCalls: 10 }) }),
    timeout(TIMEOUT_MS, TimeoutStrategy.Cooperative),
  ),
};
async function s3tOurs(n) {
  flakyCount = 0;
  const b = c3t.ours;
  for (let i = 0; i < n; i++) {
    try {
      await b.execute(flaky);
    } catch {}
  }
}
async function s3tOpossum(n) {
  flakyCount = 0;
  const b = c3t.opossum;
  for (let i = 0; i < n; i++) {
    try {
      await b.fire();
    } catch {}
  }
}
async function s3tCockatiel(n) {
  flakyCount = 0;
  const b = c3t.cockatiel;
  for (let i = 0; i < n; i++) {
    try {
      await b.execute(flaky);
    } catch {}
  }
}

// (4) 1000 concurrent calls: n / 1000 batches of Promise.all over 1000 in-flight calls
const c4 = { ours: ours(), opossum: opossum(gated), cockatiel: cockatiel() };
async function s4Bare(n) {
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = gated();
    await Promise.all(calls);
  }
}
async function s4Ours(n) {
  const b = c4.ours;
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = b.execute(gated);
    await Promise.all(calls);
  }
}
async function s4Opossum(n) {
  const b = c4.opossum;
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = b.fire();
    await Promise.all(calls);
  }
}
async function s4Cockatiel(n) {
  const b = c4.cockatiel;
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = b.execute(gated);
    await Promise.all(calls);
  }
}

// (4t) 1000 concurrent calls with a per-call timeout
const c4t = {
  ours: ours({ timeoutMs: TIMEOUT_MS }),
  opossum: opossum(gated, { timeout: TIMEOUT_MS }),
  cockatiel: wrap(cockatiel(), timeout(TIMEOUT_MS, TimeoutStrategy.Cooperative)),
};
async function s4tOurs(n) {
  const b = c4t.ours;
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = b.execute(gated);
    await Promise.all(calls);
  }
}
async function s4tOpossum(n) {
  const b = c4t.opossum;
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = b.fire();
    await Promise.all(calls);
  }
}
async function s4tCockatiel(n) {
  const b = c4t.cockatiel;
  const calls = new Array(CONCURRENCY);
  for (let done = 0; done < n; done += CONCURRENCY) {
    newGate();
    for (let i = 0; i < CONCURRENCY; i++) calls[i] = b.execute(gated);
    await Promise.all(calls);
  }
}

// ------------------------------------------------------------------------------------ scenarios
// budget: how the "ours vs baseline" time ratio and the peers are judged (docs/performance.md, The budget)

const SCENARIOS = [
  {
    id: 'closed',
    title: '(1) closed, success, no timeout',
    baselineName: 'bare await fn()',
    run: { baseline: s1Bare, ours: s1Ours, opossum: s1Opossum, cockatiel: s1Cockatiel },
    budget: { maxRatio: 2, beatPeers: true },
  },
  {
    id: 'events-off',
    title: '(1e) closed, onCall listener unsubscribed',
    baselineName: 'ours, never had a listener',
    run: { baseline: s1eNever, ours: s1eUnsubscribed, opossum: s1Opossum, cockatiel: s1Cockatiel },
    budget: { maxRatio: 1.15 },
  },
  {
    id: 'events-on',
    title: '(1l) closed, one onCall listener',
    baselineName: 'ours, never had a listener',
    run: { baseline: s1eNever, ours: s1eListening, opossum: s1Opossum, cockatiel: s1Cockatiel },
    budget: null,
  },
  {
    id: 'shadow-1',
    title: '(1s) closed, one shadow configuration',
    baselineName: 'ours, never had a listener',
    run: { baseline: s1eNever, ours: s1sOne, opossum: s1Opossum, cockatiel: s1Cockatiel },
    budget: null,
  },
  {
    id: 'shadow-3',
    title: '(1s3) closed, three shadow configurations',
    baselineName: 'ours, never had a listener',
    run: { baseline: s1eNever, ours: s1sThree, opossum: s1Opossum, cockatiel: s1Cockatiel },
    budget: null,
  },
  {
    id: 'recording',
    title: '(1r) closed, recordCalls on',
    baselineName: 'ours, never had a listener',
    run: { baseline: s1eNever, ours: s1rRecording, opossum: s1Opossum, cockatiel: s1Cockatiel },
    budget: null,
  },
  {
    id: 'closed-time-window',
    title: '(1w) closed, success, time window 60 s',
    baselineName: 'bare await fn()',
    run: { baseline: s1Bare, ours: s1wOurs, opossum: s1wOpossum, cockatiel: s1wCockatiel },
    budget: { maxRatio: 2.5 },
  },
  {
    id: 'closed-timeout',
    title: '(1t) closed, success, timeout 1000 ms',
    baselineName: 'bare await fn()',
    run: { baseline: s1Bare, ours: s1tOurs, opossum: s1tOpossum, cockatiel: s1tCockatiel },
    budget: { maxRatio: 5 },
  },
  {
    id: 'open',
    title: '(2) open, fast-fail',
    baselineName: 'await pre-made rejected promise',
    run: { baseline: s2Premade, ours: s2Ours, opossum: s2Opossum, cockatiel: s2Cockatiel },
    budget: { maxRatio: 1.5 },
  },
  {
    id: 'failures',
    title: '(3) 10% failures, no timeout',
    baselineName: 'bare await fn()',
    run: { baseline: s3Bare, ours: s3Ours, opossum: s3Opossum, cockatiel: s3Cockatiel },
    budget: null,
  },
  {
    id: 'failures-timeout',
    title: '(3t) 10% failures, timeout 1000 ms',
    baselineName: 'bare await fn()',
    run: { baseline: s3Bare, ours: s3tOurs, opossum: s3tOpossum, cockatiel: s3tCockatiel },
    budget: { maxRatio: 5 },
  },
  {
    id: 'concurrent',
    title: '(4) 1000 concurrent, no timeout',
    baselineName: 'bare await fn()',
    run: { baseline: s4Bare, ours: s4Ours, opossum: s4Opossum, cockatiel: s4Cockatiel },
    budget: { maxRatio: 2 },
    step: CONCURRENCY,
  },
  {
    id: 'concurrent-timeout',
    title: '(4t) 1000 concurrent, timeout 1000 ms',
    baselineName: 'bare await fn()',
    run: { baseline: s4Bare, ours: s4tOurs, opossum: s4tOpossum, cockatiel: s4tCockatiel },
    budget: { maxRatio: 5 },
    step: CONCURRENCY,
  },
].filter((s) => ONLY === null || ONLY.has(s.id));

const CONTENDERS = ['baseline', 'ours', 'opossum', 'cockatiel'];

// ------------------------------------------------------------------------------------ harness

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One sample: gc first (no contender pays for another's garbage), then time n ops. Returns ns of the
 * chosen clock: CPU time of the process by default (user + system, all threads, so GC helper threads
 * count), which does not run while the process is descheduled on a shared machine; BENCH_CLOCK=wall
 * for wall-clock time.
 */
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

/** Ops per sample so that one sample lasts about SAMPLE_MS (median of 3 warm-up samples). */
async function calibrate(fn, step = 1) {
  const n = Math.max(step, Math.round(10_000 / step) * step);
  const perOp = [];
  await sample(fn, n);
  for (let i = 0; i < 3; i++) perOp.push((await sample(fn, n)) / n);
  const wanted = Math.round((SAMPLE_MS * 1e6) / median(perOp));
  const clamped = Math.min(Math.max(wanted, 2_000), 2_000_000);
  return Math.max(step, Math.round(clamped / step) * step);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function assertState() {
  // The closed scenarios must stay closed and the open one open, or the numbers mean nothing.
  if (eventsOff.state !== 'closed' || eventsOn.state !== 'closed') throw new Error('events breakers left closed');
  const closed = [c1, c1w, c1t, c3, c3t, c4, c4t];
  for (const c of closed) {
    if (c.ours.state !== 'closed') throw new Error(`ours left closed: ${c.ours.state}`);
    if (!c.opossum.closed) throw new Error('opossum left closed');
  }
  for (const c of [c1, c1w, c3, c4]) if (c.cockatiel.state !== 0) throw new Error(`cockatiel left closed: ${c.cockatiel.state}`);
  if (c2.ours.state !== 'open' || !c2.opossum.opened || c2.cockatiel.state !== 1) throw new Error('an open-scenario breaker is not open');
}

async function throughput() {
  await trip();
  assertState();
  const plan = [];
  process.stderr.write(`calibrating (target ${SAMPLE_MS} ms per sample)`);
  // Warm every contender of every scenario before any measured round, so the measured code has seen
  // all the scenarios' shapes (as a real process would) whichever order they run in.
  for (const scenario of SCENARIOS) {
    const ops = {};
    for (const c of CONTENDERS) ops[c] = await calibrate(scenario.run[c], scenario.step ?? 1);
    plan.push({ scenario, ops, ns: Object.fromEntries(CONTENDERS.map((c) => [c, []])) });
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    for (const entry of plan) {
      for (let k = 0; k < CONTENDERS.length; k++) {
        const c = CONTENDERS[(k + round) % CONTENDERS.length];
        const n = entry.ops[c];
        entry.ns[c].push((await sample(entry.scenario.run[c], n)) / n);
      }
    }
    assertState();
  }
  return plan.map(({ scenario, ops, ns }) => {
    const perOp = Object.fromEntries(CONTENDERS.map((c) => [c, median(ns[c])]));
    // Ratios are paired per round (the contenders of one round ran back to back), then the median is
    // taken: slow drifts of a shared machine cancel out better than in a ratio of two medians.
    const paired = (num, den) => ns[num].map((v, r) => v / ns[den][r]);
    const ratios = {
      ours: paired('ours', 'baseline'),
      opossum: paired('opossum', 'ours'),
      cockatiel: paired('cockatiel', 'ours'),
    };
    return { scenario, ops, perOp, ratios };
  });
}

// ------------------------------------------------------------------------------------ memory

function heapUsed() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const BREAKERS = 10_000;

function bytesPerBreaker(make, cleanup) {
  const keep = new Array(BREAKERS);
  const names = Array.from({ length: BREAKERS }, (_, i) => `breaker-${i}`);
  // warm the constructor (first-use code and hidden classes are not per-breaker memory)
  for (let i = 0; i < 100; i++) cleanup(make(`warm-${i}`));
  const before = heapUsed();
  for (let i = 0; i < BREAKERS; i++) keep[i] = make(names[i]);
  const after = heapUsed();
  for (const b of keep) cleanup(b);
  return (after - before) / BREAKERS;
}

async function memory() {
  const noop = async () => VALUE;
  const perBreaker = {
    ours: bytesPerBreaker((name) => new CircuitBreaker({ name }), (b) => b.dispose()),
    // opossum with its defaults (rolling stats, percentiles and snapshot intervals on): a user's `new CircuitBreaker(fn)`
    opossum: bytesPerBreaker((name) => new Opossum(noop, { name }), (b) => b.shutdown()),
    // cockatiel has no default breaker: a count window of 100, as ours
    cockatiel: bytesPerBreaker(
      () => circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new CountBreaker({ threshold: 0.5, size: 100 }) }),
      () => {},
    ),
  };

  // Heap growth over 1M closed success calls: one breaker (default options), a bare loop and
  // cockatiel in the same process, each warmed up first (optimised code is not growth).
  const CALLS = 1_000_000;
  const growthOf = async (loop) => {
    await loop(100_000);
    await tick();
    const before = heapUsed();
    await loop(CALLS);
    return heapUsed() - before;
  };
  const breaker = new CircuitBreaker({ name: 'growth' });
  const growth = await growthOf(async (n) => {
    for (let i = 0; i < n; i++) await breaker.execute(succeed);
  });
  const bareGrowth = await growthOf(async (n) => {
    for (let i = 0; i < n; i++) await succeed();
  });
  const cockatielPolicy = cockatiel();
  const cockatielGrowth = await growthOf(async (n) => {
    for (let i = 0; i < n; i++) await cockatielPolicy.execute(succeed);
  });

  // The same with timeoutMs: what is still held right after the calls (before the deadline timer runs).
  const timed = new CircuitBreaker({ name: 'growth-timeout', timeoutMs: TIMEOUT_MS });
  const timedLoop = async (n) => {
    for (let i = 0; i < n; i++) await timed.execute(succeed);
  };
  await timedLoop(100_000);
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 50)); // let the deadline queue drain
  const timedBefore = heapUsed();
  await timedLoop(CALLS);
  const timedAfter = heapUsed();
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 50));
  const timedDrained = heapUsed();
  timed.dispose();

  return {
    perBreaker,
    growth,
    bareGrowth,
    cockatielGrowth,
    timedHeld: timedAfter - timedBefore,
    timedDrained: timedDrained - timedBefore,
  };
}

// ------------------------------------------------------------------------------------ report

const fmtOps = (nsPerOp) => {
  const ops = 1e9 / nsPerOp;
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)}M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(0)}k`;
  return ops.toFixed(0);
};
const fmtX = (x) => `${x.toFixed(2)}x`;
const fmtRange = (values) => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function judge({ scenario, ratios }) {
  const ratio = median(ratios.ours); // time per op: ours / baseline
  const vsOpossum = median(ratios.opossum); // how many times faster we are
  const vsCockatiel = median(ratios.cockatiel);
  const b = scenario.budget;
  let verdict = 'info';
  let target = '—';
  if (b !== null) {
    const parts = [`<= ${b.maxRatio}x baseline`];
    let ok = ratio <= b.maxRatio;
    if (b.beatPeers) {
      parts.push('faster than both peers');
      ok = ok && vsOpossum > 1 && vsCockatiel > 1;
    }
    target = parts.join(', ');
    verdict = ok ? 'PASS' : 'FAIL';
  }
  return { ratio, vsOpossum, vsCockatiel, target, verdict };
}

async function main() {
  const started = Date.now();
  const results = await throughput();
  const mem = await memory();
  for (const b of opossumBreakers) b.shutdown();

  const rows = results.map((r) => {
    const j = judge(r);
    return [
      r.scenario.title,
      fmtOps(r.perOp.ours),
      `${fmtOps(r.perOp.baseline)} (${r.scenario.baselineName})`,
      fmtOps(r.perOp.opossum),
      fmtOps(r.perOp.cockatiel),
      `${fmtX(j.ratio)} (${fmtRange(r.ratios.ours)})`,
      fmtX(j.vsOpossum),
      fmtX(j.vsCockatiel),
      j.target,
      j.verdict,
    ];
  });
  console.log(
    `\nThroughput: median ops per ${WALL_CLOCK ? 'wall-clock' : 'CPU'} second over ${ROUNDS} interleaved rounds. ` +
      'ours / baseline = time per op ratio, median of the per-round ratios (range over the rounds); ' +
      'vs peer = how many times faster ours is (median of per-round ratios)\n',
  );
  console.log(
    table(['scenario', 'ours ops/s', 'baseline ops/s', 'opossum ops/s', 'cockatiel ops/s', 'ours / baseline', 'vs opossum', 'vs cockatiel', 'budget', 'result'], rows),
  );

  const growthLimit = 256 * 1024;
  const memRows = [
    ['bytes per breaker, default options', kb(mem.perBreaker.ours), kb(mem.perBreaker.opossum), kb(mem.perBreaker.cockatiel), '<= 1.5 KB', mem.perBreaker.ours <= 1536 ? 'PASS' : 'FAIL'],
    [
      'heap growth over 1M closed success calls',
      `${kb(mem.growth)} (${(mem.growth / 1e6).toFixed(3)} B/call)`,
      '',
      kb(mem.cockatielGrowth),
      `< 256 KB (bare loop: ${kb(mem.bareGrowth)})`,
      mem.growth < growthLimit ? 'PASS' : 'FAIL',
    ],
    ['held right after 1M calls with timeoutMs 1000', kb(mem.timedHeld), '', '', 'info', 'info'],
    ['  ... after the deadline timer ran', kb(mem.timedDrained), '', '', '< 256 KB', mem.timedDrained < growthLimit ? 'PASS' : 'FAIL'],
  ];
  console.log('\nMemory (global.gc() before each reading; heapUsed deltas)\n');
  console.log(table(['measure', 'ours', 'opossum', 'cockatiel', 'budget', 'result'], memRows));
  console.log(`\nSample sizes (ops per sample): ${results.map((r) => `${r.scenario.id}: ${Object.entries(r.ops).map(([c, n]) => `${c}=${n}`).join(' ')}`).join('; ')}`);
  console.log(`Total time ${((Date.now() - started) / 1000).toFixed(1)} s, node ${process.version}`);
}

await main();
