/**
 * recordCalls: what it writes is the trace format replay reads (round trip), it is bounded, it
 * never fails or delays a call when the stream fails or lags, it samples, and it costs nothing
 * while off. Time comes from a ManualClock; streams are in-memory.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerSettings } from '../../lib/index.js';
import { candidateConfig, formatTraceRecord, parseTraceRecord, recordCalls, replayTrace } from '../../lib/tuning/index.js';
import type { CallRecorder, RecordCallsOptions, TraceRecord } from '../../lib/tuning/index.js';
import { START } from './traces.js';

const SETTINGS = { slidingWindow: { type: 'count', size: 20 }, minimumCalls: 10, failureRateThreshold: 50, openDurationMs: 10_000 } satisfies CircuitBreakerSettings;

class DependencyDown extends Error {}

const recorders: CallRecorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((recorder) => recorder.stop()));
});

function start(breaker: CircuitBreaker, options: Omit<RecordCallsOptions, 'stream' | 'file'> = {}): { recorder: CallRecorder; text: () => string; warnings: string[] } {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  const warnings: string[] = [];
  const recorder = recordCalls(breaker, { stream: sink, onWarning: (message) => warnings.push(message), ...options });
  recorders.push(recorder);
  return { recorder, text: () => Buffer.concat(chunks).toString('utf8'), warnings };
}

function records(text: string): TraceRecord[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const { line: _line, ...record } = parseTraceRecord(line, i + 1);
      return record;
    });
}

/** One call every 100 ms, each lasting 20 ms on the clock; calls 300 to 499 fail. */
function driveOutage(breaker: CircuitBreaker, clock: ManualClock, calls = 1000): void {
  for (let i = 0; i < calls; i++) {
    clock.advance(START + i * 100 - clock.now());
    try {
      breaker.executeSync(() => {
        clock.advance(20);
        if (i >= 300 && i < 500) throw new DependencyDown('down');
        return 'ok';
      });
    } catch (error) {
      if (!(error instanceof DependencyDown) && !(error instanceof CircuitOpenError)) throw error;
    }
  }
}

describe('recordCalls', () => {
  it('writes one trace line per call, and a replay with the recording breaker\'s options makes the same decisions (round trip)', async () => {
    const clock = new ManualClock(START);
    const breaker = new CircuitBreaker({ name: 'payments', clock, ...SETTINGS });
    const { recorder, text } = start(breaker);
    driveOutage(breaker, clock);
    await recorder.stop();

    const written = records(text());
    // Byte for byte what the format's own writer gives for the same records.
    expect(text()).toBe(written.map((record) => `${formatTraceRecord(record)}\n`).join(''));
    const totals = breaker.totals();
    expect(written).toHaveLength(1000);
    expect(written[0]).toEqual({ t: START, d: 20, o: 'success', b: 'payments' });
    expect(written[300]).toEqual({ t: START + 30_000, d: 20, o: 'failure', b: 'payments', e: 'DependencyDown' });
    const rejected = written.filter((r) => r.o === 'rejected');
    expect(rejected).toHaveLength(totals.notPermittedCalls);
    expect(rejected[0]).toMatchObject({ d: 0, e: 'CircuitOpenError' });
    expect(written.filter((r) => r.o === 'failure')).toHaveLength(totals.failedCalls);

    const { report } = await replayTrace([text()], { configs: [candidateConfig('recorded.json', SETTINGS)], source: 'recorded' });
    expect(report.trace.calls).toBe(1000);
    expect(report.results[0]).toMatchObject({
      calls: 1000,
      admitted: totals.successfulCalls + totals.failedCalls,
      rejected: totals.notPermittedCalls,
      openings: totals.openings,
      finalState: breaker.state,
    });
  });

  it('escapes names and counts bytes, not characters, against maxBytes', async () => {
    const breaker = new CircuitBreaker({ name: 'paiements "é€"', clock: new ManualClock(START) });
    const { recorder, text } = start(breaker, { maxBytes: 500 });
    for (let i = 0; i < 20; i++) breaker.executeSync(() => i);
    await recorder.stop();
    expect(records(text())[0]).toEqual({ t: START, d: 0, o: 'success', b: 'paiements "é€"' });
    expect(Buffer.byteLength(text())).toBe(recorder.bytes);
    expect(recorder.bytes).toBeLessThanOrEqual(500);
    expect(recorder.ended).toBe('max_bytes');
  });

  it('records timeouts as "timeout" with their duration, and ignored errors as "ignored"', async () => {
    const clock = new ManualClock(START);
    const breaker = new CircuitBreaker({ name: 'search', clock, timeoutMs: 50, isFailure: (error) => !(error instanceof RangeError) });
    const { recorder, text } = start(breaker);
    const hung = breaker.execute(() => new Promise(() => undefined));
    clock.advance(50);
    await expect(hung).rejects.toBeInstanceOf(CircuitBreakerTimeoutError);
    await expect(
      breaker.execute(async () => {
        throw new RangeError('bad input');
      }),
    ).rejects.toBeInstanceOf(RangeError);
    await recorder.stop();
    expect(records(text())).toEqual([
      { t: START, d: 50, o: 'timeout', b: 'search', e: 'CircuitBreakerTimeoutError' },
      { t: START + 50, d: 0, o: 'ignored', b: 'search', e: 'RangeError' },
    ]);
  });

  it('stops at maxBytes: the trace stays within it, the breaker is let go, and it says so once', async () => {
    const clock = new ManualClock(START);
    const breaker = new CircuitBreaker({ name: 'payments', clock, ...SETTINGS });
    const { recorder, text, warnings } = start(breaker, { maxBytes: 1000 });
    driveOutage(breaker, clock, 100);
    await recorder.stop();
    const bytes = Buffer.byteLength(text());
    expect(bytes).toBeLessThanOrEqual(1000);
    expect(bytes).toBeGreaterThan(900); // lines of 50-odd bytes: it filled what it could
    expect(recorder.ended).toBe('max_bytes');
    expect(recorder.recorded).toBe(records(text()).length);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('maxBytes (1000 bytes');
    expect(breaker.listening).toBe(false);
  });

  it('a stream that errors fails no call: the recording stops and it warns once', async () => {
    const clock = new ManualClock(START);
    const breaker = new CircuitBreaker({ name: 'payments', clock });
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      },
    });
    const warnings: string[] = [];
    const recorder = recordCalls(breaker, { stream: broken, onWarning: (message) => warnings.push(message) });
    recorders.push(recorder);
    for (let i = 0; i < 10; i++) expect(breaker.executeSync(() => i)).toBe(i);
    await new Promise((resolve) => setImmediate(resolve)); // the batch is written, the write fails
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 10; i++) await expect(breaker.execute(async () => i)).resolves.toBe(i);
    expect(recorder.ended).toBe('stream_error');
    // the write of those 10 failed: none was recorded, all 10 dropped; no call was recorded since
    expect({ recorded: recorder.recorded, dropped: recorder.dropped }).toEqual({ recorded: 0, dropped: 10 });
    expect(warnings).toEqual([expect.stringContaining('ENOSPC: no space left on device')]);
    expect(breaker.totals().successfulCalls).toBe(20);
    expect(breaker.listening).toBe(false);
  });

  it('a file that cannot be opened (a missing folder) fails no call and warns once', async () => {
    const breaker = new CircuitBreaker({ name: 'payments', clock: new ManualClock(START) });
    const warnings: string[] = [];
    const recorder = recordCalls(breaker, { file: join(tmpdir(), 'nestjs-breaker-no-such-folder', 'calls.ndjson'), onWarning: (m) => warnings.push(m) });
    for (let i = 0; i < 5; i++) await expect(breaker.execute(async () => i)).resolves.toBe(i);
    await recorder.stop(); // resolves once the file stream is closed: here after its open failed
    expect(warnings).toEqual([expect.stringContaining('ENOENT')]);
    // nothing reached a file: the 5 lines count as dropped, not recorded
    expect({ recorded: recorder.recorded, dropped: recorder.dropped }).toEqual({ recorded: 0, dropped: 5 });
    expect(breaker.listening).toBe(false);
    await expect(breaker.execute(async () => 'still fine')).resolves.toBe('still fine');
  });

  it('a stream that does not keep up: calls go on undelayed, records beyond 1 MiB waiting are dropped, one warning', async () => {
    const breaker = new CircuitBreaker({ name: 'payments', clock: new ManualClock(START) });
    const stuck = new Writable({ highWaterMark: 1024, write() {} }); // never calls back: permanent backpressure
    const warnings: string[] = [];
    const recorder = recordCalls(breaker, { stream: stuck, onWarning: (message) => warnings.push(message) });
    recorders.push(recorder);
    for (let i = 0; i < 60_000; i++) breaker.executeSync(() => i);
    expect(recorder.dropped).toBeGreaterThan(0);
    expect(recorder.recorded + recorder.dropped).toBe(60_000);
    expect(warnings).toEqual([expect.stringContaining('does not keep up')]);
    expect(recorder.ended).toBeUndefined();
  });

  it('sampleRate records about that share of the calls', async () => {
    const breaker = new CircuitBreaker({ name: 'payments', clock: new ManualClock(START) });
    const { recorder, text } = start(breaker, { sampleRate: 0.25 });
    for (let i = 0; i < 8000; i++) breaker.executeSync(() => i);
    await recorder.stop();
    const count = records(text()).length;
    // Binomial(8000, 0.25): mean 2000, standard deviation 39; 400 is over 10 deviations.
    expect(count).toBeGreaterThan(1600);
    expect(count).toBeLessThan(2400);
    expect(recorder.recorded).toBe(count);
  });

  it('off costs nothing: no listener and no per-call clock until recording starts, and none after it stops', async () => {
    const reads = { count: 0 };
    const manual = new ManualClock(START);
    const clock = { now: () => (reads.count++, manual.now()) };
    const breaker = new CircuitBreaker({ name: 'payments', clock });
    reads.count = 0;
    for (let i = 0; i < 100; i++) await breaker.execute(async () => i);
    expect(reads.count).toBe(0);
    expect(breaker.listening).toBe(false);
    const { recorder } = start(breaker);
    expect(breaker.listening).toBe(true);
    for (let i = 0; i < 100; i++) await breaker.execute(async () => i);
    expect(reads.count).toBeGreaterThanOrEqual(100); // every call's start is read while recording
    await recorder.stop();
    expect(breaker.listening).toBe(false);
    reads.count = 0;
    for (let i = 0; i < 100; i++) await breaker.execute(async () => i);
    expect(reads.count).toBe(0);
  });

  it('refuses bad options with a CircuitBreakerConfigError naming the option', () => {
    const breaker = new CircuitBreaker({ name: 'payments' });
    const refused = (options: unknown) => {
      try {
        recordCalls(breaker, options as RecordCallsOptions);
      } catch (error) {
        expect(error).toBeInstanceOf(CircuitBreakerConfigError);
        return (error as CircuitBreakerConfigError).option;
      }
      throw new Error('accepted');
    };
    expect(refused({})).toBe('file');
    expect(refused({ file: 'a', stream: new PassThrough() })).toBe('file');
    expect(refused({ stream: {} })).toBe('stream');
    expect(refused({ file: 'a', sampleRate: 0 })).toBe('sampleRate');
    expect(refused({ file: 'a', sampleRate: 1.5 })).toBe('sampleRate');
    expect(refused({ file: 'a', maxBytes: -1 })).toBe('maxBytes');
    expect(refused({ file: 'a', rate: 1 })).toBe('rate');
    expect(breaker.listening).toBe(false);
  });
});
