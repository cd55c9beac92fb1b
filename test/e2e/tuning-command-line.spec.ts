/**
 * The `nestjs-breaker` command as users run it: bin/nestjs-breaker.mjs of the built package in a
 * child process, from this repository and from the packed tarball installed in a fresh project
 * (`npx nestjs-breaker`). Child processes are waited for, never slept on.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { candidateConfig, formatTraceRecord, syntheticTrace } from '../../lib/tuning/index.js';
import { BIN, ensureBuilt, root, runNode } from '../tuning/built-package.js';

const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-command-'));

beforeAll(async () => {
  await ensureBuilt();
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ failureRateThreshold: 50, timeoutMs: 2_000 }));
  writeFileSync(join(dir, 'b.json'), JSON.stringify({ slidingWindow: { type: 'time', durationMs: 10_000 }, minimumCalls: 20, openDurationMs: 5_000 }));
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('node bin/nestjs-breaker.mjs', () => {
  it('replays a trace through two configurations, with byte-identical JSON from one process to the next', async () => {
    const generated = await runNode([BIN, 'example-trace', '--scenario', 'outage', '--out', 'calls.ndjson'], { cwd: dir });
    expect(generated).toMatchObject({ code: 0, stdout: '' });
    const args = [BIN, 'replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--config', 'b.json', '--json'];
    const [first, second] = await Promise.all([runNode(args, { cwd: dir }), runNode(args, { cwd: dir })]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    const report = JSON.parse(first.stdout) as { results: { config: string; calls: number; admitted: number; rejected: number; openings: number }[] };
    expect(report.results.map((r) => r.config)).toEqual(['a.json', 'b.json']);
    for (const r of report.results) {
      expect(r.admitted + r.rejected).toBe(r.calls);
      expect(r.openings).toBeGreaterThan(0); // the outage trips both
    }
  });

  it('reads a trace piped from example-trace (--trace -)', async () => {
    const trace = await runNode([BIN, 'example-trace', '--scenario', 'flaky', '--minutes', '3'], { cwd: dir });
    const replayed = await runNode([BIN, 'replay', '--trace', '-', '--config', 'a.json'], { cwd: dir, input: trace.stdout });
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/^Trace stdin: [\d,]+ calls from /);
  });

  it('exits 1 naming the line of a malformed record, and 2 on bad usage', async () => {
    writeFileSync(join(dir, 'bad.ndjson'), '{"t":1,"d":2,"o":"success","b":"p"}\nnot json\n');
    const bad = await runNode([BIN, 'replay', '--trace', 'bad.ndjson', '--config', 'a.json'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^nestjs-breaker replay: bad\.ndjson, line 2: not valid JSON/);
    const usage = await runNode([BIN, 'replay'], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage:');
  });
});

const run = (command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });

describe('a trace of keyed breakers (family:key names)', () => {
  // Prints the process's peak resident memory on exit: the bound a user's machine sees.
  const PEAK_RSS = `--import=data:text/javascript,process.on('exit',()=>process.stderr.write('maxRssKb='+process.resourceUsage().maxRSS+'\\n'))`;
  const peakMb = (stderr: string): number => Number(/maxRssKb=(\d+)/.exec(stderr)![1]) / 1024;
  // The tryout's trace: the outage example spread over 4,000 keys of family "shards" (3 or 4 calls a key).
  const records = syntheticTrace({ scenario: 'outage', durationMs: 10 * 60_000, callsPerSecond: 20, seed: 1, recordedBy: candidateConfig('recorder', { failureRateThreshold: 50, timeoutMs: 2_000 }) });
  beforeAll(() => writeFileSync(join(dir, 'keys.ndjson'), records.map((r, i) => `${formatTraceRecord({ ...r, b: `shards:k${i % 4_000}` })}\n`).join('')));

  it('with 4,000 keys: suggest and replay report one family, in bounded memory (a 128 MB heap, under 250 MB resident), byte-identical JSON run after run', async () => {
    const args = ['--max-old-space-size=128', PEAK_RSS, BIN, 'suggest', '--trace', 'keys.ndjson', '--top', '3'];
    const replayArgs = ['--max-old-space-size=128', PEAK_RSS, BIN, 'replay', '--trace', 'keys.ndjson', '--config', 'a.json', '--config', 'b.json', '--json'];
    const [text, json] = await Promise.all([runNode(args, { cwd: dir }), runNode([...args, '--json'], { cwd: dir })]);
    const [replayed, again] = await Promise.all([runNode(replayArgs, { cwd: dir }), runNode(replayArgs, { cwd: dir })]);
    for (const result of [text, json, replayed]) {
      expect(result.code).toBe(0);
      expect(peakMb(result.stderr)).toBeLessThan(250); // side by side, 4,000 keys x 145 configurations took 2.8 GB
    }
    expect(again.stdout).toBe(replayed.stdout);
    const report = JSON.parse(json.stdout) as { trace: { breakers: { name: string; keys: number }[] }; breakers: { breaker: string; defaults: { result: { calls: number; keys: { count: number } } } }[] };
    expect(report.trace.breakers.map((b) => [b.name, b.keys])).toEqual([['shards', 4_000]]);
    expect(report.breakers.map((b) => [b.breaker, b.defaults.result.calls, b.defaults.result.keys.count])).toEqual([['shards', records.length, 4_000]]);
    expect(text.stdout).toContain('Breaker "shards" (4,000 keys; counts summed over them): 145 configurations replayed.');
    expect(text.stdout.split('\n').length).toBeLessThan(40);
  }, 180_000);

  it('--breaker <family> selects the family, --breaker <family:key> one key', async () => {
    const family = await runNode([BIN, 'replay', '--trace', 'keys.ndjson', '--config', 'a.json', '--breaker', 'shards'], { cwd: dir });
    expect(family.code).toBe(0);
    expect(family.stdout).toContain('Breaker family "shards" (4,000 keys, each replayed as its own breaker; counts summed over them)');
    const key = await runNode([BIN, 'replay', '--trace', 'keys.ndjson', '--config', 'a.json', '--breaker', 'shards:k3999', '--json'], { cwd: dir });
    expect(key.code).toBe(0);
    expect((JSON.parse(key.stdout) as { results: { breaker: string; calls: number }[] }).results.map((r) => [r.breaker, r.calls])).toEqual([['shards:k3999', 3]]);
  }, 60_000);
});

describe('npx nestjs-breaker', () => {
  it('runs in this repository (npm runs the package\'s own bin)', async () => {
    const help = await run('npx', ['--no-install', 'nestjs-breaker', 'replay', '--help'], root);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage:\n {2}nestjs-breaker replay --trace/) });
  });

  it('runs replay from the packed tarball installed in a fresh project, with no other package (the command needs no Nest peer)', async () => {
    const packDir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-pack-'));
    try {
      // dist/ is built (beforeAll): pack it as it is rather than building again in prepack
      const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], root);
      expect(packed.code).toBe(0);
      const tarball = join(packDir, packed.stdout.trim().split('\n').at(-1)!);
      const app = join(packDir, 'app');
      writeFileSync(join(packDir, 'package.json'), '{}'); // keeps npm from looking further up for a project
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', '--offline', tarball], app);
      expect(installed).toMatchObject({ code: 0 }); // on failure, the diff shows npm's output
      writeFileSync(join(app, 'short.json'), '{"openDurationMs": 5000}');
      writeFileSync(join(app, 'calls.ndjson'), readFileSync(join(dir, 'calls.ndjson')));
      const replayed = await run('npx', ['--no-install', 'nestjs-breaker', 'replay', '--trace', 'calls.ndjson', '--config', 'short.json', '--json'], app);
      expect(replayed.stderr).toBe('');
      expect(replayed.code).toBe(0);
      expect(JSON.parse(replayed.stdout).results[0]).toMatchObject({ config: 'short.json', breaker: 'payments' });
    } finally {
      rmSync(packDir, { recursive: true, force: true });
    }
  }, 180_000);
});
