// A fleet of instances through a dependency outage: per-instance breakers (no store) against breakers
// sharing their state through Redis (RedisCircuitBreakerStore), on a standalone Redis and on a Redis
// Cluster (3 masters + 3 replicas), on the same timeline. Then, on each topology, the Redis commands
// 10,000 successful calls of a closed shared breaker send (INFO commandstats of every node).
//
//   npm run bench:fleet      (= npm run build && node bench/fleet.bench.mjs)
//
// Each instance is a child process (its own breaker, its own store and Redis connections), driven by
// this script over IPC. Each instance calls a simulated dependency (an async function with
// LATENCY_MS of latency that counts the calls reaching it and fails while "down") at a steady RATE,
// open loop. The timeline is shared through an epoch start time: up UP_MS, down DOWN_MS, up again
// until every instance is closed, then TAIL_MS more. "Down" is decided when a call reaches the
// dependency. See bench/README.md for what is reported.
//
// Environment knobs: FLEET_INSTANCES (4), FLEET_RATE (calls/s per instance, 200), FLEET_LATENCY_MS (3),
// FLEET_UP_MS (2000), FLEET_DOWN_MS (5000), FLEET_TAIL_MS (2000), FLEET_ROUNDS (2; each round runs
// both variants, the order alternating), FLEET_TOPOLOGY (both | standalone | cluster; default both),
// REDIS_URL (a standalone server to use instead of one of the bench's own).
//
// Starts its own redis-server (and a cluster with redis-cli --cluster create): needs `redis-server`
// and `redis-cli` on PATH.
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, median, runAsDriverOrChild, sleep } from './harness.mjs';
import { startCluster, startStandalone } from './redis-cluster.mjs';

const INSTANCES = Number(process.env.FLEET_INSTANCES ?? 4);
const RATE = Number(process.env.FLEET_RATE ?? 200);
const LATENCY_MS = Number(process.env.FLEET_LATENCY_MS ?? 3);
const UP_MS = Number(process.env.FLEET_UP_MS ?? 2000);
const DOWN_MS = Number(process.env.FLEET_DOWN_MS ?? 5000);
const TAIL_MS = Number(process.env.FLEET_TAIL_MS ?? 2000);
const ROUNDS = Number(process.env.FLEET_ROUNDS ?? 2);
const REDIS_URL = process.env.REDIS_URL;
const TOPOLOGIES = (process.env.FLEET_TOPOLOGY ?? 'both') === 'both' ? ['standalone', 'cluster'] : [process.env.FLEET_TOPOLOGY];
/** Successful calls of the closed-path count. */
const CLOSED_PATH_CALLS = 10_000;
/** Give up waiting for "all closed" this long after the dependency recovers. */
const MAX_RECOVERY_MS = 15_000;

/** The same options on every instance (the store aside). */
const BREAKER_OPTIONS = {
  name: 'payments',
  slidingWindow: { type: 'count', size: 20 },
  minimumCalls: 5,
  failureRateThreshold: 50,
  openDurationMs: 1000,
  halfOpenMaxCalls: 1,
};

/** The breakers' clock: monotonic, epoch milliseconds (comparable across processes). */
const now = () => performance.timeOrigin + performance.now();

// ------------------------------------------------------------------------------------ instance (child)

async function instance() {
  const [mode, indexArg, keyPrefix, target] = process.argv.slice(3);
  const index = Number(indexArg);
  const { CircuitBreaker } = await import('../dist/esm/index.js');
  let store;
  const storeOps = { sync: 0, transition: 0, acquireTrial: 0, completeTrial: 0 };
  if (mode !== 'local') {
    store = await openStore(mode, target, keyPrefix);
    // Count what the store is asked to do (the servers also serve the other instances). Each
    // operation is an EVALSHA (a sync of several breakers is one pipeline on a standalone server).
    for (const method of ['sync', 'transition', 'acquireTrial', 'completeTrial']) {
      const original = store[method].bind(store);
      store[method] = (...args) => {
        storeOps[method]++;
        return original(...args);
      };
    }
  }
  const breaker = new CircuitBreaker({ ...BREAKER_OPTIONS, ...(store ? { store } : {}) });
  if (store) {
    // Connected before the clock starts. (The store's client has no offline queue: a command sent
    // before the connection is up fails at once, so ping until it answers.)
    for (let attempt = 0; ; attempt++) {
      try {
        await store.ping();
        break;
      } catch (error) {
        if (attempt === 100) throw error;
        await sleep(20);
      }
    }
  }

  breaker.onStateChange((e) => {
    const openedAt = breaker.snapshot().openedAt;
    process.send({ event: 'transition', i: index, from: e.from, to: e.to, reason: e.reason, at: e.at, openedAt: openedAt ?? null });
  });

  let downAt = Number.POSITIVE_INFINITY;
  let upAt = Number.POSITIVE_INFINITY;
  const isDown = (t) => t >= downAt && t < upAt;
  const DOWN_ERROR = new Error('dependency down');
  const stats = {
    i: index,
    issued: 0,
    reached: 0,
    reachedDown: 0,
    reachedDownClosed: 0,
    reachedDownHalfOpen: 0,
    reachedDownOther: 0,
    succeeded: 0,
    failed: 0,
    rejected: 0,
    trials: [], // { t, down }
  };

  /** The simulated dependency: counts what reaches it, answers after LATENCY_MS, fails while down. */
  const dependency = async () => {
    const t = now();
    const state = breaker.state; // fn runs synchronously inside execute(): the state that admitted the call
    const down = isDown(t);
    stats.reached++;
    if (state === 'half_open') stats.trials.push({ t, down });
    if (down) {
      stats.reachedDown++;
      if (state === 'closed') stats.reachedDownClosed++;
      else if (state === 'half_open') stats.reachedDownHalfOpen++;
      else stats.reachedDownOther++;
    }
    await sleep(LATENCY_MS);
    if (down) throw DOWN_ERROR;
    return 'ok';
  };

  let inFlight = 0;
  const call = () => {
    stats.issued++;
    inFlight++;
    breaker.execute(dependency).then(
      () => {
        inFlight--;
        stats.succeeded++;
      },
      (error) => {
        inFlight--;
        if (error === DOWN_ERROR) stats.failed++;
        else if (error?.name === 'CircuitOpenError') stats.rejected++;
        else throw error;
      },
    );
  };

  let pump;
  process.on('message', async (m) => {
    if (m.cmd === 'start') {
      downAt = m.downAt;
      upAt = m.upAt;
      // Open loop at RATE calls/s, instances offset within one period; catches up after a late timer.
      const period = 1000 / RATE;
      const start = m.t0 + (index * period) / INSTANCES;
      let issued = 0;
      const tick = () => {
        const due = Math.floor((now() - start) / period) + 1;
        while (issued < due) {
          issued++;
          call();
        }
      };
      await sleep(Math.max(0, start - now()));
      tick();
      pump = setInterval(tick, 1);
    } else if (m.cmd === 'stop') {
      clearInterval(pump);
      const deadline = now() + 2000;
      while (inFlight > 0 && now() < deadline) await sleep(5);
      const totals = breaker.totals();
      const snapshot = breaker.snapshot();
      breaker.dispose();
      process.send({ event: 'stats', stats: { ...stats, inFlight, totals, storeOps, state: snapshot.state, store: snapshot.store ?? null } }, () => {
        setTimeout(() => process.exit(0), 100);
      });
    }
  });
  process.send({ event: 'ready', i: index });
}

// ------------------------------------------------------------------------------------ driver

const SCRIPT = fileURLToPath(import.meta.url);

/** A store on the variant's topology: `target` is a URL (standalone) or startup nodes as JSON (cluster). */
async function openStore(mode, target, keyPrefix) {
  const { RedisCircuitBreakerStore } = await import('../dist/esm/redis/index.js');
  if (mode === 'shared-standalone') return RedisCircuitBreakerStore.fromUrl(target, { keyPrefix });
  const { Cluster } = await import('ioredis');
  return RedisCircuitBreakerStore.fromClient(new Cluster(JSON.parse(target), { lazyConnect: true }), { keyPrefix });
}

class Fleet {
  constructor(mode, keyPrefix, target) {
    this.mode = mode;
    this.keyPrefix = keyPrefix;
    this.target = target;
    this.events = [];
    this.stats = new Array(INSTANCES);
    this.state = new Array(INSTANCES).fill('closed');
    this.children = [];
    this.logPaths = [];
  }

  async start() {
    const ready = [];
    for (let i = 0; i < INSTANCES; i++) {
      const logPath = join(tmpdir(), `bench-fleet-${this.mode}-${i}-${process.pid}.log`);
      const log = openSync(logPath, 'w');
      const child = fork(SCRIPT, ['--instance', this.mode, String(i), this.keyPrefix, this.target], { stdio: ['ignore', log, log, 'ipc'] });
      closeSync(log);
      this.logPaths.push(logPath);
      this.children.push(child);
      ready.push(
        new Promise((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`instance ${i} exited early (${code}); see ${logPath}`)));
          child.on('message', (m) => {
            if (m.event === 'ready') resolve();
            else if (m.event === 'transition') {
              this.events.push(m);
              this.state[m.i] = m.to;
              this.onTransition?.(m);
            } else if (m.event === 'stats') {
              this.stats[m.stats.i] = m.stats;
              this.onStats?.();
            }
          });
        }),
      );
    }
    await Promise.all(ready);
    for (const child of this.children) child.removeAllListeners('exit');
  }

  send(message) {
    for (const child of this.children) child.send(message);
  }

  async stop() {
    const all = new Promise((resolve) => {
      this.onStats = () => {
        if (this.stats.every(Boolean)) resolve();
      };
    });
    const exited = this.children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve))));
    this.send({ cmd: 'stop' });
    await all;
    await Promise.race([Promise.all(exited), sleep(5000)]);
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
  }

  logLines() {
    return this.logPaths.map((p) => readFileSync(p, 'utf8').split('\n').filter((l) => l.trim() !== '').length).reduce((a, b) => a + b, 0);
  }
}

async function runOnce(mode, round, servers) {
  const keyPrefix = `bench-fleet-${process.pid}-${round}-${mode}-${Date.now()}:`;
  const target = mode === 'shared-cluster' ? JSON.stringify(servers.cluster.startupNodes) : servers.url;
  const fleet = new Fleet(mode, keyPrefix, target);
  await fleet.start();
  const t0 = now() + 300;
  const downAt = t0 + UP_MS;
  const upAt = downAt + DOWN_MS;
  fleet.send({ cmd: 'start', t0, downAt, upAt });
  process.stderr.write(`round ${round}, ${mode}: running`);

  // Up, down, up until every instance is closed (after the recovery), then TAIL_MS.
  await sleep(upAt - now());
  process.stderr.write(', dependency up again');
  const recoveryDeadline = upAt + MAX_RECOVERY_MS;
  while (!fleet.state.every((s) => s === 'closed') && now() < recoveryDeadline) await sleep(10);
  const allClosedSeen = fleet.state.every((s) => s === 'closed');
  process.stderr.write(allClosedSeen ? ', all closed' : ', NOT all closed');
  await sleep(TAIL_MS);
  const endAt = now();
  await fleet.stop();
  if (mode === 'shared-standalone' && servers.admin !== undefined) {
    const admin = servers.admin;
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  }
  process.stderr.write(` (${((endAt - t0) / 1000).toFixed(1)} s)\n`);
  return analyse({ mode, round, t0, downAt, upAt, endAt, fleet, allClosedSeen });
}

function analyse({ mode, round, t0, downAt, upAt, endAt, fleet, allClosedSeen }) {
  const events = [...fleet.events].sort((a, b) => a.at - b.at);
  const per = fleet.stats.map((s) => {
    const mine = events.filter((e) => e.i === s.i);
    const firstOpen = mine.find((e) => e.to === 'open' && e.at >= downAt);
    const closedAfterUp = mine.filter((e) => e.to === 'closed' && e.at >= upAt);
    const lastClosed = closedAfterUp.length > 0 ? closedAfterUp[closedAfterUp.length - 1] : undefined;
    const openings = mine.filter((e) => e.to === 'open');
    const reasons = {};
    for (const e of openings) reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    return {
      i: s.i,
      stats: s,
      firstOpen,
      lastClosed,
      openings: openings.length,
      reasons,
      halfOpenEntries: mine.filter((e) => e.to === 'half_open').length,
      openToOpen: openings.filter((e) => e.from === 'open').length,
      closedBy: lastClosed?.reason ?? '-',
      finalState: s.state,
    };
  });

  const firstTrip = Math.min(...per.map((p) => p.firstOpen?.at ?? Number.POSITIVE_INFINITY));
  const propagation = per.map((p) => (p.firstOpen ? p.firstOpen.at - firstTrip : Number.NaN));
  const recovery = per.map((p) => (p.lastClosed ? p.lastClosed.at - upAt : Number.NaN));

  // Recovery rounds: the fleet's half_open entries, clustered (a new round starts more than half an
  // open duration after the first entry of the current one). Trial calls are assigned to the round
  // in progress when they were admitted.
  const entries = events.filter((e) => e.to === 'half_open');
  const rounds = [];
  for (const e of entries) {
    const last = rounds[rounds.length - 1];
    if (last === undefined || e.at - last.start > BREAKER_OPTIONS.openDurationMs / 2) rounds.push({ start: e.at, instances: new Set([e.i]), trials: 0, trialsDown: 0 });
    else last.instances.add(e.i);
  }
  const trials = fleet.stats.flatMap((s) => s.trials.map((t) => ({ ...t, i: s.i }))).sort((a, b) => a.t - b.t);
  for (const t of trials) {
    let r = null;
    for (const round of rounds) if (round.start <= t.t + 1) r = round;
    if (r !== null) {
      r.trials++;
      if (t.down) r.trialsDown++;
    }
  }

  // Pub/sub adoption latency (shared): an adopted open carries the origin's openedAt; an adopted
  // close follows the trials_succeeded transition of the instance whose trial closed the circuit.
  const adoptions = [];
  for (const e of events) {
    if (e.reason !== 'shared_state') continue;
    if (e.to === 'open' && e.openedAt !== null) adoptions.push(e.at - e.openedAt);
    else if (e.to === 'closed') {
      const origin = events.filter((o) => o.reason === 'trials_succeeded' && o.at <= e.at + 1).pop();
      if (origin) adoptions.push(e.at - origin.at);
    }
  }

  const sum = (f) => per.reduce((a, p) => a + f(p), 0);
  return {
    mode,
    round,
    allClosedSeen,
    durationMs: endAt - t0,
    per,
    reachedDown: sum((p) => p.stats.reachedDown),
    reachedDownClosed: sum((p) => p.stats.reachedDownClosed),
    reachedDownHalfOpen: sum((p) => p.stats.reachedDownHalfOpen),
    reachedDownOther: sum((p) => p.stats.reachedDownOther),
    reached: sum((p) => p.stats.reached),
    issued: sum((p) => p.stats.issued),
    rejected: sum((p) => p.stats.rejected),
    trialCalls: trials.length,
    trialsDown: trials.filter((t) => t.down).length,
    rounds,
    roundStarts: rounds.map((x) => Math.round(x.start - downAt)),
    propagation,
    recovery,
    adoptions,
    fallbacks: sum((p) => p.stats.totals.storeFallbacks),
    logLines: fleet.logLines(),
    storeOps: Object.fromEntries(['sync', 'transition', 'acquireTrial', 'completeTrial'].map((k) => [k, sum((p) => p.stats.storeOps[k])])),
  };
}

// ------------------------------------------------------------------------------------ report

const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');
const slash = (xs) => xs.join(' / ');
const LABELS = { local: 'per-instance (no store)', 'shared-standalone': 'shared (standalone Redis)', 'shared-cluster': 'shared (Redis Cluster)' };
const label = (mode) => LABELS[mode];

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function report(results, closedPaths, machine, started) {
  console.log(`\n${machine.date}; ${machine.nproc} vCPUs (${machine.cpu}), ${machine.memGB} GB, Node ${machine.node}, commit ${machine.commit}`);
  console.log(
    `${INSTANCES} instances (child processes), ${RATE} calls/s each, dependency latency ${LATENCY_MS} ms; ` +
      `up ${UP_MS} ms, down ${DOWN_MS} ms, up until all closed + ${TAIL_MS} ms. Breaker: ${JSON.stringify({ ...BREAKER_OPTIONS, name: undefined })}\n`,
  );
  console.log(
    table(
      [
        'variant',
        'round',
        'reached dep. while down: total (per instance)',
        '... admitted closed / as trials',
        'trial calls (while down)',
        'recovery rounds',
        'trial calls per round',
        'openings per instance',
        'first trip -> all open (max)',
        'dep. up -> all closed (max)',
        'rejected',
        'store ops: sync / transition / acquireTrial / completeTrial',
      ],
      results.map((r) => [
        label(r.mode),
        r.round,
        `${r.reachedDown} (${slash(r.per.map((p) => p.stats.reachedDown))})`,
        `${r.reachedDownClosed} / ${r.reachedDownHalfOpen}${r.reachedDownOther ? ` / other ${r.reachedDownOther}` : ''}`,
        `${r.trialCalls} (${r.trialsDown})`,
        r.rounds.length,
        `${(r.trialCalls / Math.max(1, r.rounds.length)).toFixed(2)} (${slash(r.rounds.map((x) => x.trials))})`,
        slash(r.per.map((p) => p.openings)),
        ms(Math.max(...r.propagation)),
        r.allClosedSeen ? ms(Math.max(...r.recovery)) : 'not all closed',
        r.rejected,
        r.mode !== 'local' ? slash(Object.values(r.storeOps)) : '-',
      ]),
    ),
  );

  console.log('\nPer instance:\n');
  const rows = [];
  for (const r of results) {
    for (const p of r.per) {
      rows.push([
        label(r.mode),
        r.round,
        p.i,
        p.stats.reachedDown,
        `${p.stats.reachedDownClosed} / ${p.stats.reachedDownHalfOpen}`,
        p.firstOpen ? `+${ms(r.propagation[p.i])}` : 'n/a',
        p.firstOpen ? `${p.firstOpen.reason}` : '-',
        p.openings,
        Object.entries(p.reasons).map(([k, v]) => `${k} ${v}`).join(', '),
        p.openToOpen,
        p.halfOpenEntries,
        p.stats.trials.length,
        p.lastClosed ? ms(r.recovery[p.i]) : 'n/a',
        p.closedBy,
        p.stats.rejected,
        p.stats.totals.storeFallbacks,
      ]);
    }
  }
  console.log(
    table(
      ['variant', 'round', 'instance', 'reached while down', 'closed / trials', 'first open after first trip', 'first open by', 'openings', 'opening reasons', 'of them open -> open', 'half_open entries', 'trial calls', 'dep. up -> closed', 'closed by', 'rejected', 'store fallbacks'],
      rows,
    ),
  );

  console.log('\nRecovery rounds (first half_open entry of each round, ms after the dependency went down; it came back at +' + DOWN_MS + '):');
  for (const r of results) console.log(`  ${label(r.mode)}, round ${r.round}: ${r.roundStarts.map((x) => `+${x}`).join(', ')}`);

  const local = results.filter((r) => r.mode === 'local');
  const mean = (rs, f) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  for (const mode of ['shared-standalone', 'shared-cluster']) {
    const shared = results.filter((r) => r.mode === mode);
    if (shared.length === 0) continue;
    const adoptions = shared.flatMap((r) => r.adoptions);
    if (adoptions.length > 0) {
      console.log(
        `\n${label(mode)}: ${adoptions.length} transitions adopted from a peer through pub/sub; adoption latency (peer's transition -> this instance's) median ${median(adoptions).toFixed(1)} ms, max ${Math.max(...adoptions).toFixed(1)} ms.`,
      );
    }
    const fallbacks = shared.reduce((a, r) => a + r.fallbacks, 0);
    console.log(`Store fallbacks: ${fallbacks}. Instance log lines (warnings, errors): ${shared.map((r) => `r${r.round}: ${r.logLines}`).join(', ')}.`);
    const m = {
      down: [mean(local, (r) => r.reachedDown), mean(shared, (r) => r.reachedDown)],
      trials: [mean(local, (r) => r.trialCalls / Math.max(1, r.rounds.length)), mean(shared, (r) => r.trialCalls / Math.max(1, r.rounds.length))],
      prop: [mean(local, (r) => Math.max(...r.propagation)), mean(shared, (r) => Math.max(...r.propagation))],
      rec: [mean(local, (r) => Math.max(...r.recovery)), mean(shared, (r) => Math.max(...r.recovery))],
    };
    console.log(
      `Summary (mean over ${ROUNDS} round(s)), ${label(mode)} vs per-instance: calls reaching the dependency while down ${m.down[1].toFixed(1)} vs ${m.down[0].toFixed(1)} ` +
        `(x${(m.down[1] / m.down[0]).toFixed(2)}); trial calls per recovery round ${m.trials[1].toFixed(2)} vs ${m.trials[0].toFixed(2)}; ` +
        `first trip -> all open ${m.prop[1].toFixed(1)} vs ${m.prop[0].toFixed(1)} ms; dependency up -> all closed ${m.rec[1].toFixed(0)} vs ${m.rec[0].toFixed(0)} ms.`,
    );
  }
  console.log('\nRedis commands sent by ' + CLOSED_PATH_CALLS.toLocaleString('en-US') + ' successful calls of a closed shared breaker (INFO commandstats, every node), and by the next sync tick:');
  for (const c of closedPaths) console.log(`  ${c.topology}: ${c.duringCalls} during the calls; ${c.nextTick} at the next sync tick`);
  console.log(`Total time ${((Date.now() - started) / 1000).toFixed(1)} s, node ${process.version}`);
}

/**
 * On the topology's own servers: a closed shared breaker, quiet; CLOSED_PATH_CALLS successful calls;
 * the data commands the nodes served meanwhile (INFO commandstats), then those of one sync tick.
 */
async function closedPath(topology, servers) {
  const { CircuitBreaker, ManualClock } = await import('../dist/esm/index.js');
  const clock = new ManualClock(Date.now());
  const node = topology === 'cluster' ? servers.cluster : servers.standalone;
  const mode = topology === 'cluster' ? 'shared-cluster' : 'shared-standalone';
  const { RedisCircuitBreakerStore } = await import('../dist/esm/redis/index.js');
  const keyPrefix = `bench-closed-${process.pid}:`;
  let store;
  if (mode === 'shared-standalone') store = RedisCircuitBreakerStore.fromUrl(node.url, { keyPrefix, clock, commandTimeoutMs: 2_000 });
  else {
    const { Cluster } = await import('ioredis');
    store = RedisCircuitBreakerStore.fromClient(new Cluster(node.startupNodes, { lazyConnect: true }), { keyPrefix, clock, commandTimeoutMs: 2_000 });
  }
  const breaker = new CircuitBreaker({ name: 'quiet', clock, store });
  const deadline = Date.now() + 10_000;
  while (breaker.snapshot().store !== 'shared' && Date.now() < deadline) await sleep(10);
  clock.advance(store.syncIntervalMs);
  let before = await node.dataCommands();
  for (;;) {
    await sleep(100);
    const current = await node.dataCommands();
    if (current === before || Date.now() > deadline) break;
    before = current;
  }
  for (let i = 0; i < CLOSED_PATH_CALLS / 2; i++) breaker.executeSync(() => i);
  for (let i = 0; i < CLOSED_PATH_CALLS / 2; i++) await breaker.execute(async () => i);
  await sleep(100);
  const after = await node.dataCommands();
  clock.advance(store.syncIntervalMs);
  await sleep(200);
  const ticked = await node.dataCommands();
  breaker.dispose();
  return { topology: label(mode), duringCalls: after - before, nextTick: ticked - after };
}

async function driver() {
  const started = Date.now();
  const machine = machineInfo();
  const servers = {};
  const closedPaths = [];
  const results = [];
  try {
    if (TOPOLOGIES.includes('standalone')) {
      if (REDIS_URL !== undefined) {
        const { Redis } = await import('ioredis');
        servers.admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await servers.admin.connect();
        servers.url = REDIS_URL;
      }
      servers.standalone = await startStandalone();
      servers.url ??= servers.standalone.url;
    }
    if (TOPOLOGIES.includes('cluster')) servers.cluster = await startCluster();
    const shared = TOPOLOGIES.map((t) => `shared-${t}`);
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? ['local', ...shared] : [...shared, 'local'];
      for (const mode of order) results.push(await runOnce(mode, round, servers));
    }
    for (const topology of TOPOLOGIES) closedPaths.push(await closedPath(topology, servers));
  } finally {
    servers.admin?.disconnect();
    await servers.standalone?.stop();
    await servers.cluster?.stop();
  }
  const order = ['local', 'shared-standalone', 'shared-cluster'];
  results.sort((a, b) => (a.mode === b.mode ? a.round - b.round : order.indexOf(a.mode) - order.indexOf(b.mode)));
  report(results, closedPaths, machine, started);
}

runAsDriverOrChild('--instance', instance, driver);
