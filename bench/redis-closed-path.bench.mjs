// What a store costs on the closed success path: a breaker without a store, with the in-memory
// store and with the Redis store (real Redis, real sync ticker), against a bare `await fn()`.
//
//   npm run bench:redis      (= npm run build && node --expose-gc bench/redis-closed-path.bench.mjs)
//
// It imports the BUILT package (dist/esm). Method as in core.bench.mjs: interleaved rounds (the order
// of the contenders rotates), gc before every sample, CPU time per sample, ratios paired per round
// and their median reported with the range. Every loop yields to the event loop (setImmediate) every
// 4096 calls, the same in every contender, so that the stores' sync tickers (default 200 ms) and the
// Redis replies run DURING the measured samples and their CPU is counted in the samples.
//
// Redis commands are counted over the measured rounds: the store operations the breakers asked for
// (the store instance's methods, wrapped), the commands the store's connections wrote (client side,
// Redis.prototype.sendCommand wrapped), and the server's EVALSHA calls and commands processed (INFO
// commandstats / stats deltas: server-wide, and commands inside a script count there too). No MONITOR.
//
// Environment knobs: BENCH_ROUNDS (default 20, a multiple of the 4 contenders so that each runs in
// each position equally often), BENCH_SAMPLE_MS (default 250), BENCH_CLOCK=wall, REDIS_URL (default
// redis://127.0.0.1:6379).
//
// Needs a Redis server at REDIS_URL: unlike the tests, this bench starts none.
import { Redis } from 'ioredis';
import { CircuitBreaker, InMemoryCircuitBreakerStore } from '../dist/esm/index.js';
import { RedisCircuitBreakerStore } from '../dist/esm/redis/index.js';
import { fmtInt, machineInfo, median, percentile } from './harness.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('Run with --expose-gc (npm run bench:redis does).');
  process.exit(1);
}
const gc = globalThis.gc;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 250);
const WALL_CLOCK = process.env.BENCH_CLOCK === 'wall';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY_PREFIX = `bench-closed-${process.pid}-${Date.now()}:`;
/** Yield to the event loop every YIELD_MASK + 1 calls (timers and socket replies run then). */
const YIELD_MASK = 4095;
const TARGET = 1.2;

// ------------------------------------------------------------------------------------ workload

const VALUE = { ok: true };
const succeed = async () => VALUE;
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

// ------------------------------------------------------------------------------------ contenders
// All default options (count window of 100 calls, 50%, 10 calls minimum, 30 s open), one name each.

/** Counts the operations a store is asked for (sync, transition, ...) and the calls sync carried. */
function counted(store) {
  const counts = { sync: 0, syncInSample: 0, syncRequests: 0, deltaCalls: 0, transition: 0, acquireTrial: 0, completeTrial: 0, ping: 0 };
  for (const method of ['sync', 'transition', 'acquireTrial', 'completeTrial', 'ping']) {
    const original = store[method].bind(store);
    store[method] = (...args) => {
      counts[method]++;
      if (method === 'sync') {
        counts.syncRequests += args[0].length;
        for (const request of args[0]) counts.deltaCalls += request.delta.calls;
        if (sampling) counts.syncInSample++;
      }
      return original(...args);
    };
  }
  return counts;
}

let sampling = false;
const memoryStore = new InMemoryCircuitBreakerStore();
const redisStore = RedisCircuitBreakerStore.fromUrl(REDIS_URL, { keyPrefix: KEY_PREFIX });
const memoryOps = counted(memoryStore);
const redisOps = counted(redisStore);

const breakers = {
  none: new CircuitBreaker({ name: 'closed-none' }),
  memory: new CircuitBreaker({ name: 'closed-memory', store: memoryStore }),
  redis: new CircuitBreaker({ name: 'closed-redis', store: redisStore }),
};

// One loop per contender (separate type feedback), identical but for the breaker.
async function loopBare(n) {
  for (let i = 0; i < n; i++) {
    await succeed();
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldToLoop();
  }
}
async function loopNone(n) {
  const b = breakers.none;
  for (let i = 0; i < n; i++) {
    await b.execute(succeed);
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldToLoop();
  }
}
async function loopMemory(n) {
  const b = breakers.memory;
  for (let i = 0; i < n; i++) {
    await b.execute(succeed);
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldToLoop();
  }
}
async function loopRedis(n) {
  const b = breakers.redis;
  for (let i = 0; i < n; i++) {
    await b.execute(succeed);
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldToLoop();
  }
}

const CONTENDERS = [
  { id: 'bare', title: 'bare `await fn()`', run: loopBare },
  { id: 'none', title: 'breaker, no store', run: loopNone },
  { id: 'memory', title: 'breaker + InMemoryCircuitBreakerStore', run: loopMemory },
  { id: 'redis', title: 'breaker + RedisCircuitBreakerStore (real Redis)', run: loopRedis },
];

// ------------------------------------------------------------------------------------ harness (as core.bench.mjs)

async function sample(fn, n) {
  gc();
  await yieldToLoop();
  sampling = true;
  try {
    if (WALL_CLOCK) {
      const start = process.hrtime.bigint();
      await fn(n);
      return Number(process.hrtime.bigint() - start);
    }
    const start = process.cpuUsage();
    await fn(n);
    const used = process.cpuUsage(start);
    return (used.user + used.system) * 1000;
  } finally {
    sampling = false;
  }
}

async function calibrate(fn) {
  const n = 20_000;
  const perOp = [];
  await sample(fn, n);
  for (let i = 0; i < 5; i++) perOp.push((await sample(fn, n)) / n);
  const wanted = Math.round((SAMPLE_MS * 1e6) / median(perOp));
  return Math.min(Math.max(wanted, 20_000), 4_000_000);
}

function assertClosed() {
  for (const [id, b] of Object.entries(breakers)) if (b.state !== 'closed') throw new Error(`breaker ${id} left closed: ${b.state}`);
  const snap = breakers.redis.snapshot();
  if (snap.store !== 'shared') throw new Error(`the Redis breaker is not sharing (store: ${snap.store}): is Redis up at ${REDIS_URL}?`);
}

// ------------------------------------------------------------------------------------ Redis counters

const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });

// Client side, exact: every command any ioredis client of this process writes (pipelined ones
// included) goes through Redis.prototype.sendCommand; the store's two connections are counted, this
// script's own `admin` connection is not.
const sent = new Map();
let countingSent = false;
const originalSendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, stream) {
  if (countingSent && this !== admin) sent.set(command.name, (sent.get(command.name) ?? 0) + 1);
  return originalSendCommand.call(this, command, stream);
};

async function serverCounters() {
  const stats = await admin.info('stats');
  const commandstats = await admin.info('commandstats');
  const total = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1]);
  const evalsha = Number(/cmdstat_evalsha:calls=(\d+)/.exec(commandstats)?.[1] ?? 0);
  const publish = Number(/cmdstat_publish:calls=(\d+)/.exec(commandstats)?.[1] ?? 0);
  return { total, evalsha, publish };
}

async function cleanup() {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await admin.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

// ------------------------------------------------------------------------------------ main

const fmtNs = (ns) => `${ns.toFixed(1)} ns`;
const fmtX = (x) => `${x.toFixed(2)}x`;
const fmtRange = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
const fmtQuartiles = (xs) => `${percentile(xs, 25).toFixed(2)}-${percentile(xs, 75).toFixed(2)}`;

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main() {
  const started = Date.now();
  const machine = machineInfo();
  await admin.connect().catch((error) => {
    admin.disconnect();
    throw new Error(`bench:redis needs a Redis server at REDIS_URL (${REDIS_URL}); it starts none: ${error.message}`);
  });
  // Let the Redis store connect and answer its first syncs before anything is measured.
  for (let i = 0; i < 1000; i++) await breakers.redis.execute(succeed);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assertClosed();
  if (redisOps.sync === 0) throw new Error('the Redis store never synced during warm-up');

  process.stderr.write(`calibrating (target ${SAMPLE_MS} ms per sample)`);
  const ops = {};
  for (const c of CONTENDERS) {
    ops[c.id] = await calibrate(c.run);
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  assertClosed();

  const ns = Object.fromEntries(CONTENDERS.map((c) => [c.id, []]));
  let redisCalls = 0;
  const opsBefore = { ...redisOps };
  const memBefore = { ...memoryOps };
  const before = await serverCounters();
  countingSent = true;
  const measureStart = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    for (let k = 0; k < CONTENDERS.length; k++) {
      const c = CONTENDERS[(k + round) % CONTENDERS.length];
      const n = ops[c.id];
      ns[c.id].push((await sample(c.run, n)) / n);
      if (c.id === 'redis') redisCalls += n;
    }
    assertClosed();
  }
  const measureMs = Date.now() - measureStart;
  countingSent = false;
  const after = await serverCounters();
  const measured = Object.fromEntries(Object.keys(redisOps).map((key) => [key, redisOps[key] - opsBefore[key]]));
  const delta = (key) => measured[key];
  const sentTotal = [...sent.values()].reduce((a, b) => a + b, 0);
  const sentByName = [...sent.entries()].map(([name, count]) => `${name} ${count}`).join(', ') || 'none';
  const serverTotal = after.total - before.total - 2; // the two INFO commands of the "before" reading
  const evalsha = after.evalsha - before.evalsha;

  // Every call the Redis breaker completed must have reached the store as a delta.
  await new Promise((resolve) => setTimeout(resolve, 2 * redisStore.syncIntervalMs + 100));
  const totals = breakers.redis.totals();

  const perOp = Object.fromEntries(CONTENDERS.map((c) => [c.id, median(ns[c.id])]));
  const paired = (num, den) => ns[num].map((v, r) => v / ns[den][r]);
  const ratios = [
    ['Redis store / no store', paired('redis', 'none'), `<= ${TARGET}x`],
    ['Redis store / in-memory store', paired('redis', 'memory'), 'info'],
    ['in-memory store / no store', paired('memory', 'none'), 'info'],
    ['no store / bare await fn()', paired('none', 'bare'), 'info (core budget <= 2x)'],
    ['Redis store / bare await fn()', paired('redis', 'bare'), 'info'],
  ];

  console.log(`\n${machine.date}; ${machine.nproc} vCPUs (${machine.cpu}), ${machine.memGB} GB, Node ${machine.node}, commit ${machine.commit}`);
  console.log(
    `Closed success path, async fn, default options. ${ROUNDS} interleaved rounds; median ${WALL_CLOCK ? 'wall-clock' : 'CPU'} ns per call ` +
      '(range over the rounds); ratios paired per round, median (range).\n',
  );
  console.log(
    table(
      ['contender', 'ns/call (median)', 'range', 'calls/s', 'calls per sample'],
      CONTENDERS.map((c) => [
        c.title,
        fmtNs(perOp[c.id]),
        `${Math.min(...ns[c.id]).toFixed(1)}-${Math.max(...ns[c.id]).toFixed(1)}`,
        `${((1e9 / perOp[c.id]) / 1e6).toFixed(2)}M`,
        fmtInt(ops[c.id]),
      ]),
    ),
  );
  console.log('');
  const redisRatio = median(ratios[0][1]);
  console.log(
    table(
      ['ratio (time per call)', 'median', 'range', 'middle half (p25-p75)', 'target', 'result'],
      ratios.map(([title, xs, target], i) => [
        title,
        fmtX(median(xs)),
        fmtRange(xs),
        fmtQuartiles(xs),
        target,
        i === 0 ? (redisRatio <= TARGET ? 'PASS' : 'FAIL') : 'info',
      ]),
    ),
  );

  const perM = (x) => ((x / redisCalls) * 1e6).toFixed(2);
  console.log(`\nRedis commands during the ${ROUNDS} measured rounds (${(measureMs / 1000).toFixed(1)} s wall, ${fmtInt(redisCalls)} calls through the Redis breaker):\n`);
  console.log(
    table(
      ['what', 'count', 'per 1M calls'],
      [
        ['store.sync() round trips (one pipelined EVALSHA each)', fmtInt(delta('sync')), perM(delta('sync'))],
        ['  ... of them started inside a timed sample of any contender', fmtInt(delta('syncInSample')), ''],
        ['store.transition / acquireTrial / completeTrial', `${delta('transition')} / ${delta('acquireTrial')} / ${delta('completeTrial')}`, ''],
        [`commands the store's connections sent (client side, exact: ${sentByName})`, fmtInt(sentTotal), perM(sentTotal)],
        ['server-wide EVALSHA calls (INFO commandstats delta; other clients of this Redis included)', fmtInt(evalsha), perM(evalsha)],
        ['server-wide commands processed, incl. inside scripts (INFO stats delta less our INFO; other clients included)', fmtInt(serverTotal), perM(serverTotal)],
        ['if the store sent one command per call', fmtInt(redisCalls), '1,000,000.00'],
      ],
    ),
  );
  console.log(
    `\nSync rate: ${(delta('sync') / (measureMs / 1000)).toFixed(2)} per s (ticker every ${redisStore.syncIntervalMs} ms; a tick with no new calls only syncs every 5th time). ` +
      `In-memory store syncs in the same time: ${memoryOps.sync - memBefore.sync}.`,
  );
  if (redisOps.deltaCalls !== totals.successfulCalls) {
    throw new Error(`the Redis store received deltas for ${redisOps.deltaCalls} calls, the breaker completed ${totals.successfulCalls}`);
  }
  console.log(
    `Redis breaker totals: ${fmtInt(totals.successfulCalls)} successful calls, all of them sent to Redis as deltas (sum of the syncs' delta.calls = ${fmtInt(redisOps.deltaCalls)}), ` +
      `${totals.storeFallbacks} store fallbacks, snapshot.store = ${breakers.redis.snapshot().store}.`,
  );

  // What one sync costs this process (client side: building the pipeline, ioredis, parsing the
  // reply), measured on its own: the ticker's work lands in whichever sample happens to be running,
  // so it is amortised over all the calls here rather than charged to the Redis contender.
  const SYNC_PROBES = 300;
  const probe = {
    name: 'sync-cost-probe',
    nowMs: 0,
    delta: { calls: 1000, failures: 0, slowCalls: 0 },
    window: { bucketMs: 1000, buckets: 60, countLimit: 100 },
  };
  for (let i = 0; i < 50; i++) await redisStore.sync([{ ...probe, nowMs: Date.now() }]);
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  for (let i = 0; i < SYNC_PROBES; i++) await redisStore.sync([{ ...probe, nowMs: Date.now() }]);
  const cpu = process.cpuUsage(cpuStart);
  const syncCpuUs = (cpu.user + cpu.system) / SYNC_PROBES;
  const syncWallUs = Number(process.hrtime.bigint() - wallStart) / 1000 / SYNC_PROBES;
  const syncsPerS = delta('sync') / (measureMs / 1000);
  const callsPerS = 1e9 / perOp.redis;
  console.log(
    `One sync, measured alone (${SYNC_PROBES} in a row): ${syncCpuUs.toFixed(0)} µs of this process's CPU, ${syncWallUs.toFixed(0)} µs round trip. ` +
      `At ${syncsPerS.toFixed(1)} syncs/s that is ${((syncsPerS * syncCpuUs) / 1e4).toFixed(3)}% of one CPU, ` +
      `or ${((syncsPerS * syncCpuUs * 1000) / callsPerS).toFixed(4)} ns per call at the Redis breaker's ${(callsPerS / 1e6).toFixed(1)}M calls per CPU-second.`,
  );

  for (const b of Object.values(breakers)) b.dispose();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const deleted = await cleanup();
  await admin.quit();
  console.log(`Removed ${deleted} keys under ${KEY_PREFIX}. Total time ${((Date.now() - started) / 1000).toFixed(1)} s, node ${process.version}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
  for (const b of Object.values(breakers)) b.dispose();
  admin.disconnect();
});
