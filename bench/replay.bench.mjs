// Replay speed (issue 17): 1 million recorded calls replayed through the engine, in the built
// package (dist/), as `npx nestjs-breaker replay` runs them. Budget: 1M calls through two
// configurations in under 10 s, end to end (reading the file included).
//
//   npm run bench:replay      (= npm run build && node bench/replay.bench.mjs; about 2 minutes)
//
// The trace: `example-trace --scenario outage` at 100 calls per second for 10,000 s (1,000,217
// calls, 62 MB; an outage from 30 % to 50 % of it), recorded through README's payments breaker and
// written in end order like a recorder writes it; made once into .bench-tmp/ and reused.
// Measured, each BENCH_ROUNDS times (default 3), median (and range): reading alone; replay with 1, 2
// and 4 configurations (in process: wall and CPU time); the command itself as a child process (wall
// time: what a user waits); suggest on the first 100,000 calls (145 configurations).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, median } from './harness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { candidateConfig, formatTraceRecord, readTrace, replayTrace, suggestConfigs, syntheticTrace } = await import(join(root, 'dist/esm/tuning/index.js'));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BUDGET_MS = 10_000;
const tmp = join(root, '.bench-tmp');
const tracePath = join(tmp, 'replay-outage-100rps-10000s.ndjson');
const smallPath = join(tmp, 'replay-outage-100rps-1000s.ndjson');

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function timed(fn) {
  global.gc?.();
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  const value = await fn();
  return { wallMs: performance.now() - wall0, cpuMs: cpuMs() - cpu0, value };
}

function makeTrace(path, durationMs) {
  if (existsSync(path)) return;
  mkdirSync(tmp, { recursive: true });
  const started = performance.now();
  const records = syntheticTrace({ scenario: 'outage', durationMs, callsPerSecond: 100, recordedBy: candidateConfig('payments', { failureRateThreshold: 50, timeoutMs: 2_000 }) });
  const lines = [];
  for (let i = 0; i < records.length; i += 50_000) lines.push(records.slice(i, i + 50_000).map(formatTraceRecord).join('\n'));
  writeFileSync(`${path}.partial`, `${lines.join('\n')}\n`);
  renameSync(`${path}.partial`, path);
  console.log(`made ${path} (${records.length.toLocaleString('en-US')} calls) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

makeTrace(tracePath, 10_000_000);
makeTrace(smallPath, 1_000_000);

const configs = [
  candidateConfig('a.json', { failureRateThreshold: 50, timeoutMs: 2_000 }),
  candidateConfig('b.json', { slidingWindow: { type: 'time', durationMs: 10_000 }, minimumCalls: 20, openDurationMs: 5_000, timeoutMs: 1_000 }),
  candidateConfig('c.json', { failureRateThreshold: 25, openDurationBackoff: true }),
  candidateConfig('d.json', { slidingWindow: { type: 'count', size: 20 }, consecutiveFailureThreshold: 5, openDurationMs: 10_000, halfOpenMaxCalls: 3 }),
];
writeFileSync(join(tmp, 'replay-a.json'), JSON.stringify(configs[0].settings));
writeFileSync(join(tmp, 'replay-b.json'), JSON.stringify(configs[1].settings));

const scenarios = [
  ['read the trace only', () => readTrace(tracePath, () => {})],
  ['replay, 1 configuration', () => replayTrace(tracePath, { configs: configs.slice(0, 1) })],
  ['replay, 2 configurations', () => replayTrace(tracePath, { configs: configs.slice(0, 2) })],
  ['replay, 4 configurations', () => replayTrace(tracePath, { configs })],
  [
    'command: replay --config a --config b --json (child process)',
    () => execFileSync(process.execPath, [join(root, 'bin/nestjs-breaker.mjs'), 'replay', '--trace', tracePath, '--config', join(tmp, 'replay-a.json'), '--config', join(tmp, 'replay-b.json'), '--json'], { maxBuffer: 64 << 20 }),
  ],
  ['suggest, 145 configurations, 100k calls', () => suggestConfigs(smallPath)],
];

const samples = new Map(scenarios.map(([name]) => [name, []]));
const loads = [];
let calls = 0;
let determinism = 'not checked';
let firstJson;
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of scenarios) {
    loads.push(loadavg()[0]);
    const sample = await timed(fn);
    samples.get(name).push(sample);
    if (name === 'replay, 2 configurations') calls = sample.value.report.trace.calls;
    if (name.startsWith('command')) {
      const json = sample.value.toString('utf8');
      if (firstJson === undefined) firstJson = json;
      determinism = json === firstJson && determinism !== 'DIFFERENT' ? `byte-identical over ${round + 1} runs` : 'DIFFERENT';
    }
    process.stdout.write('.');
  }
}
process.stdout.write('\n');

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const range = (xs) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
const info = machineInfo();
console.log(`\nRun ${info.date}: ${info.nproc} vCPUs, ${info.cpu}, ${info.memGB} GB, Node ${info.node}, commit ${info.commit}`);
console.log(`Load average (1 min) during the run: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} on ${info.nproc} cores`);
console.log(`Trace: ${calls.toLocaleString('en-US')} calls (${(readFileSync(tracePath).length / 2 ** 20).toFixed(0)} MB); median of ${ROUNDS} rounds (range)\n`);
console.log('| measure | wall time | CPU time | per 1M calls (wall) |');
console.log('|---|---|---|---|');
for (const [name] of scenarios) {
  const s = samples.get(name);
  const wall = s.map((x) => x.wallMs);
  const cpu = name.startsWith('command') ? undefined : s.map((x) => x.cpuMs);
  const perMillion = name.startsWith('suggest') ? '' : fmt((median(wall) / calls) * 1e6);
  console.log(`| ${name} | ${fmt(median(wall))} (${range(wall)}) | ${cpu === undefined ? 'child process' : `${fmt(median(cpu))} (${range(cpu)})`} | ${perMillion} |`);
}
const command = median(samples.get(scenarios[4][0]).map((x) => x.wallMs));
console.log(`\nBudget: 1M calls through 2 configurations, end to end, under ${fmt(BUDGET_MS)}: ${fmt(command)} -> ${command < BUDGET_MS ? 'PASS' : 'FAIL'}`);
console.log(`Determinism of the command's JSON: ${determinism}`);
if (determinism === 'DIFFERENT') process.exitCode = 1;
