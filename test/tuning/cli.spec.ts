/**
 * The command line in process (lib/cli/main.ts with its output captured); the built command as a
 * child process is test/e2e/tuning-command-line.spec.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { main } from '../../lib/cli/main.js';
import type { CliIo } from '../../lib/cli/main.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-cli-'));

async function run(args: string[], stdin: string[] = []): Promise<Run> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => (out += text), err: (text) => (err += text), cwd: dir, stdin };
  const code = await main(args, io);
  return { code, out, err };
}

writeFileSync(join(dir, 'a.json'), JSON.stringify({ failureRateThreshold: 50, timeoutMs: 2_000 }));
writeFileSync(join(dir, 'b.json'), JSON.stringify({ slidingWindow: { type: 'time', durationMs: 10_000 }, minimumCalls: 20, openDurationMs: 5_000, timeoutMs: 1_000 }));

describe('nestjs-breaker example-trace', () => {
  it('writes the same trace for the same options, recorded through README\'s payments breaker', async () => {
    const first = await run(['example-trace', '--minutes', '2', '--rps', '10']);
    const second = await run(['example-trace', '--minutes', '2', '--rps', '10']);
    expect(first.code).toBe(0);
    expect(first.out).toBe(second.out);
    const lines = first.out.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1_000);
    expect(lines.some((line) => line.includes('"o":"rejected"'))).toBe(true); // the recorder opened during the outage
    expect((await run(['example-trace', '--minutes', '2', '--rps', '10', '--seed', '2'])).out).not.toBe(first.out);
  });

  it('--unprotected records every call as the dependency answered; --out writes a file', async () => {
    const result = await run(['example-trace', '--minutes', '2', '--rps', '10', '--unprotected', '--out', 'unprotected.ndjson']);
    expect(result).toMatchObject({ code: 0, out: '' });
    expect(result.err).toMatch(/^\d+ calls written to unprotected\.ndjson\n$/);
    expect(readFileSync(join(dir, 'unprotected.ndjson'), 'utf8')).not.toContain('"rejected"');
  });

  it('refuses an unknown scenario and flags that exclude each other', async () => {
    expect(await run(['example-trace', '--scenario', 'meltdown'])).toMatchObject({ code: 2, err: expect.stringMatching(/--scenario must be one of steady, outage, flaky, slow, got "meltdown"/) });
    expect((await run(['example-trace', '--unprotected', '--recorded-by', 'a.json'])).code).toBe(2);
  });
});

describe('nestjs-breaker replay', () => {
  const traceFile = join(dir, 'calls.ndjson');
  const ready = run(['example-trace', '--out', 'calls.ndjson']);

  it('prints a table per breaker: one row per configuration, with the inference rule', async () => {
    await ready;
    const { code, out, err } = await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--config', 'b.json']);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/^Trace calls\.ndjson: [\d,]+ calls from 2026-01-05T09:00:00\.\d{3}Z to 2026-01-05T09:09:59\.\d{3}Z \(10m00s\)\n/);
    expect(out).toContain('Inference rule: a call the recording breaker rejected takes the outcome');
    expect(out).toMatch(/\nconfig +calls +admitted +rejected +openings +first open +failed admitted +rejected would succeed +recovery to close \(max\) +flaps +time open\n/);
    expect(out).toMatch(/\na\.json +[\d,]+ +[\d,]+ +[\d,]+ +\d+ +\+3m0\d\.\ds /);
    expect(out).toMatch(/\nb\.json +[\d,]+/);
  });

  it('--json: {"trace", "results": [{"config", "calls", "admitted", "rejected", "openings", "failedCallsAdmitted", "rejectedWouldSucceed", "firstOpenAtMs", ...}]}, byte-identical run after run', async () => {
    await ready;
    const first = await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--config', 'b.json', '--json']);
    const second = await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--config', 'b.json', '--json']);
    expect(first.code).toBe(0);
    expect(first.out).toBe(second.out);
    const report = JSON.parse(first.out) as { results: Record<string, unknown>[]; trace: { calls: number } };
    expect(report.results.map((r) => r['config'])).toEqual(['a.json', 'b.json']);
    for (const result of report.results) {
      expect(Object.keys(result).slice(0, 10)).toEqual(['config', 'breaker', 'calls', 'admitted', 'rejected', 'openings', 'firstOpenAtMs', 'failedCallsAdmitted', 'rejectedWouldSucceed', 'rejectedWouldFail']);
      expect(result['calls']).toBe(report.trace.calls);
    }
  });

  it('--html writes a self-contained page: inline style and SVG, no script, nothing fetched', async () => {
    await ready;
    const { code, err } = await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--config', 'b.json', '--html', 'report.html']);
    expect({ code, err }).toEqual({ code: 0, err: 'HTML report written to report.html\n' });
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(1);
    expect(html).toContain('a.json');
    expect(html).not.toMatch(/<script|<link|src=|href=|@import|url\(/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toContain('http');
    await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--config', 'b.json', '--html', 'again.html']);
    expect(readFileSync(join(dir, 'again.html'), 'utf8')).toBe(html);
  });

  it('a family of keyed breakers gets one table, one block of openings naming their key, and one chart', async () => {
    // 3 keys of family "shards": k0 fails throughout, k1 and k2 succeed; 20 calls each, 100 ms apart.
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const key = i % 3;
      lines.push(JSON.stringify(key === 0 ? { t: 1_767_225_600_000 + i * 100, d: 5, o: 'failure', b: `shards:k${key}`, e: 'Error' } : { t: 1_767_225_600_000 + i * 100, d: 5, o: 'success', b: `shards:k${key}` }));
    }
    writeFileSync(join(dir, 'keys.ndjson'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'small-window.json'), JSON.stringify({ slidingWindow: { type: 'count', size: 10 }, minimumCalls: 5 }));
    const { code, out } = await run(['replay', '--trace', 'keys.ndjson', '--config', 'small-window.json', '--html', 'keys.html']);
    expect(code).toBe(0);
    expect(out).toContain('"shards": 60 calls over 3 keys (a family of keyed breakers, each key replayed as its own breaker)');
    expect(out).toContain('Breaker family "shards" (3 keys, each replayed as its own breaker; counts summed over them)');
    expect(out).toContain('small-window.json: open shards:k0 +0m01.2s (still open at the end) (1 of 3 keys opened)');
    expect(out).not.toContain('Breaker "shards:k');
    const html = readFileSync(join(dir, 'keys.html'), 'utf8');
    expect(html).toContain('Breaker family "shards"');
    expect(html.match(/<svg /g)).toHaveLength(1);
  });

  it('reads the trace from standard input with --trace -', async () => {
    await ready;
    const text = readFileSync(traceFile, 'utf8');
    const fromStdin = await run(['replay', '--trace', '-', '--config', 'a.json', '--json'], [text.slice(0, 1000), text.slice(1000)]);
    const fromFile = await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--json']);
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.out).results).toEqual(JSON.parse(fromFile.out).results);
  });

  it('names the line of a malformed record, and exits 1', async () => {
    writeFileSync(join(dir, 'bad.ndjson'), '{"t":1,"d":2,"o":"success","b":"p"}\n{"t":2,"d":2,"o":"success","b":"p"}\n{"t":3,"d":"fast","o":"success","b":"p"}\n');
    expect(await run(['replay', '--trace', 'bad.ndjson', '--config', 'a.json'])).toEqual({
      code: 1,
      out: '',
      err: 'nestjs-breaker replay: bad.ndjson, line 3: "d" (the call\'s duration, ms) must be a finite number >= 0, got "fast"\n',
    });
  });

  it('names the file and the key of an unknown option, before reading the trace', async () => {
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ failureRateThresold: 25 }));
    const { code, err } = await run(['replay', '--trace', 'missing.ndjson', '--config', 'a.json', '--config', 'typo.json']);
    expect(code).toBe(1);
    expect(err).toMatch(/^nestjs-breaker replay: typo\.json: unknown option "failureRateThresold" \(did you mean "failureRateThreshold"\?\)/);
  });

  it('names a missing trace or configuration file', async () => {
    expect(await run(['replay', '--trace', 'missing.ndjson', '--config', 'a.json'])).toMatchObject({ code: 1, err: 'nestjs-breaker replay: missing.ndjson: cannot read the trace: no such file\n' });
    expect(await run(['replay', '--trace', 'calls.ndjson', '--config', 'nope.json'])).toMatchObject({ code: 1, err: 'nestjs-breaker replay: nope.json: cannot read the configuration: no such file\n' });
  });

  it('says which breakers the trace has when --breaker names none of them', async () => {
    await ready;
    expect(await run(['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--breaker', 'paymnets'])).toMatchObject({
      code: 1,
      err: 'nestjs-breaker replay: calls.ndjson: the trace holds no call of breaker "paymnets"; it has calls of "payments"\n',
    });
  });

  it('names the line of a breaker name the engine refuses, and says when a trace holds no call', async () => {
    writeFileSync(join(dir, 'long-name.ndjson'), `{"t":1,"d":2,"o":"success","b":"p"}\n{"t":2,"d":2,"o":"success","b":"${'x'.repeat(201)}"}\n`);
    const long = await run(['replay', '--trace', 'long-name.ndjson', '--config', 'a.json']);
    expect(long.code).toBe(1);
    expect(long.err).toMatch(/^nestjs-breaker replay: long-name\.ndjson, line 2: "b" is not a breaker name the engine accepts: .*at most 200 characters/);
    writeFileSync(join(dir, 'empty.ndjson'), '\n\n');
    expect(await run(['replay', '--trace', 'empty.ndjson', '--config', 'a.json'])).toMatchObject({ code: 1, err: 'nestjs-breaker replay: empty.ndjson: the trace holds no calls\n' });
  });

  it('escapes names in the HTML page', async () => {
    writeFileSync(join(dir, 'odd.ndjson'), '{"t":1,"d":2,"o":"success","b":"<img src=x onerror=alert(1)>&"}\n');
    writeFileSync(join(dir, '<b>.json'), '{}');
    expect((await run(['replay', '--trace', 'odd.ndjson', '--config', '<b>.json', '--html', 'odd.html'])).code).toBe(0);
    const html = readFileSync(join(dir, 'odd.html'), 'utf8');
    expect(html).not.toMatch(/<img|<b>/);
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;&#38;');
    expect(html).toContain('&#60;b&#62;.json');
  });

  it.each([
    [['replay', '--config', 'a.json'], /--trace <file> is required/],
    [['replay', '--trace', 'calls.ndjson'], /at least one --config <file> is required/],
    [['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--colour'], /Unknown option '--colour'/],
    [['replay', '--trace', 'calls.ndjson', '--config', 'a.json', '--reorder-window-ms', 'soon'], /--reorder-window-ms must be a number >= 0, got "soon"/],
    // one message per flag, whatever is wrong with the value
    [['suggest', '--trace', 'calls.ndjson', '--top', 'abc'], /--top must be an integer >= 1, got "abc"/],
    [['suggest', '--trace', 'calls.ndjson', '--top', '0'], /--top must be an integer >= 1, got "0"/],
    [['suggest', '--trace', 'calls.ndjson', '--top', '2.5'], /--top must be an integer >= 1, got "2.5"/],
    [['example-trace', '--minutes', 'ten'], /--minutes must be a number > 0, got "ten"/],
    [['example-trace', '--rps', '0'], /--rps must be a number > 0, got "0"/],
    [['example-trace', '--seed=-1'], /--seed must be an integer >= 0, got "-1"/],
    [['replay', 'calls.ndjson'], /Unexpected argument 'calls\.ndjson'|positional/],
    [['rewind'], /unknown command "rewind"/],
  ])('%j is a usage error: exit 2 with the usage', async (args, message) => {
    const { code, err } = await run(args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toContain('Usage:');
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, out } = await run(['replay', '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage:\n {2}nestjs-breaker replay --trace/);
    expect((await run(['--help'])).out).toContain('nestjs-breaker suggest');
    expect(await run([])).toMatchObject({ code: 2, out: '', err: expect.stringContaining('nestjs-breaker example-trace') });
  });
});

describe('nestjs-breaker suggest', () => {
  it('prints the configurations on the best trade-off, with their options as JSON; --json gives the report', async () => {
    await run(['example-trace', '--minutes', '4', '--rps', '5', '--out', 'small.ndjson']);
    const text = await run(['suggest', '--trace', 'small.ndjson', '--top', '3']);
    expect(text.code).toBe(0);
    expect(text.out).toContain('Breaker "payments": 145 configurations replayed.');
    expect(text.out).toMatch(/\n\d+ configurations are on the best trade-off, each doing better than the engine's defaults \(the last row\) on at least one count/);
    expect(text.out).toContain("(the last row, unnumbered: the engine's defaults)");
    expect(text.out).toMatch(/\n {2}1 {2}\{"slidingWindow":/);
    const json = await run(['suggest', '--trace', 'small.ndjson', '--top', '3', '--json']);
    const report = JSON.parse(json.out) as { configurations: number; breakers: { suggested: { options: object; result: { failedCallsAdmitted: number } }[] }[] };
    expect(report.configurations).toBe(145);
    const suggested = report.breakers[0]!.suggested;
    expect(suggested.length).toBeGreaterThan(0);
    expect(suggested.length).toBeLessThanOrEqual(3);
    const failed = suggested.map((s) => s.result.failedCallsAdmitted);
    expect(failed).toEqual([...failed].sort((a, b) => a - b));
  });

  it('says when the base options are on the best trade-off, and offers only configurations better on a count than them', async () => {
    await run(['example-trace', '--scenario', 'outage', '--out', 'ex.ndjson']);
    writeFileSync(join(dir, 'mine.json'), JSON.stringify({ failureRateThreshold: 50, minimumCalls: 4, slidingWindow: { type: 'count', size: 10 }, timeoutMs: 500 }));
    const { code, out } = await run(['suggest', '--trace', 'ex.ndjson', '--base', 'mine.json', '--top', '3']);
    expect(code).toBe(0);
    expect(out).toContain('Your options (mine.json) are on the best trade-off between failed calls admitted and successful calls rejected: no other configuration does better on both counts.');
    expect(out).toMatch(/\n\d+ other configurations are on the best trade-off, each doing better than your options \(mine.json, the last row\) on at least one count/);
    expect(out).toContain("(the last row, unnumbered: mine.json with the engine's defaults for the rest)");
    expect(out).not.toContain('none of the');
  }, 60_000);

  it('takes base options every configuration shares', async () => {
    await run(['example-trace', '--minutes', '4', '--rps', '5', '--out', 'small.ndjson']);
    const { code, out } = await run(['suggest', '--trace', 'small.ndjson', '--base', 'a.json', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out) as { base: string; breakers: { suggested: { options: { timeoutMs?: number } }[] }[] };
    expect(report.base).toBe('a.json');
    for (const s of report.breakers[0]!.suggested) expect(s.options.timeoutMs).toBe(2_000);
  });
});
