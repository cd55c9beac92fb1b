import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { TRACE_OUTCOMES, TraceError, TraceReader, formatTraceRecord, parseTraceRecord, readTrace } from '../../lib/tuning/index.js';
import type { NumberedTraceRecord, TraceReaderOptions, TraceRecord } from '../../lib/tuning/index.js';

const record = fc.record(
  {
    t: fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.double({ min: 0, max: 4e12, noNaN: true, noDefaultInfinity: true })),
    d: fc.oneof(fc.integer({ min: 0, max: 600_000 }), fc.double({ min: 0, max: 600_000, noNaN: true, noDefaultInfinity: true })),
    o: fc.constantFrom(...TRACE_OUTCOMES),
    b: fc.string({ minLength: 1, maxLength: 30, unit: 'binary' }),
    e: fc.string({ maxLength: 30, unit: 'binary' }),
  },
  { requiredKeys: ['t', 'd', 'o', 'b'] },
);

/** Reads `text` split into the given chunks; returns the records in the order handed on. */
function readChunks(chunks: readonly string[], options: TraceReaderOptions = {}): { records: NumberedTraceRecord[]; summary: ReturnType<TraceReader['end']> } {
  const records: NumberedTraceRecord[] = [];
  const reader = new TraceReader((r) => records.push(r), { source: 'calls.ndjson', ...options });
  for (const chunk of chunks) reader.push(chunk);
  return { records, summary: reader.end() };
}

function errorOf(fn: () => unknown): TraceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TraceError) return error;
    throw error;
  }
  throw new Error('expected a TraceError');
}

describe('a trace line', () => {
  it('reads back as the record it was written from, with its line number (any valid record)', () => {
    fc.assert(
      fc.property(record, fc.integer({ min: 1, max: 1e9 }), (r, line) => {
        const text = formatTraceRecord(r as TraceRecord);
        expect(text).not.toContain('\n');
        expect(parseTraceRecord(text, line)).toEqual({ ...r, line });
      }),
      { numRuns: 2_000 },
    );
  });

  it('is written with its keys in a fixed order, e only when given', () => {
    expect(formatTraceRecord({ t: 1767225600000, d: 42.5, o: 'success', b: 'payments' })).toBe('{"t":1767225600000,"d":42.5,"o":"success","b":"payments"}');
    expect(formatTraceRecord({ b: 'x', e: 'TypeError', o: 'failure', d: 1, t: 2 })).toBe('{"t":2,"d":1,"o":"failure","b":"x","e":"TypeError"}');
  });

  it('cannot be written from an invalid record (the writer never produces a line the reader refuses)', () => {
    expect(() => formatTraceRecord({ t: Number.NaN, d: 1, o: 'success', b: 'x' })).toThrow(/"t"/);
    expect(() => formatTraceRecord({ t: 1, d: -1, o: 'success', b: 'x' })).toThrow(/"d"/);
    expect(() => formatTraceRecord({ t: 1, d: 1, o: 'ok' as 'success', b: 'x' })).toThrow(/"o"/);
    expect(() => formatTraceRecord({ t: 1, d: 1, o: 'success', b: '' })).toThrow(/"b"/);
  });

  it.each([
    ['{"t":1,"d":2,"o":"success"', /line 7: not valid JSON .*\{"t":1,"d":2,"o":"success"/],
    ['[1,2,3]', /line 7: expected a JSON object \{"t", "d", "o", "b", "e"\?\}, got \[1,2,3\]/],
    ['{"d":2,"o":"success","b":"p"}', /line 7: "t" \(the call's start, epoch ms\) must be a finite number >= 0, got nothing \(the field is missing\)/],
    ['{"t":"2026-01-01","d":2,"o":"success","b":"p"}', /line 7: "t" .* got "2026-01-01"/],
    ['{"t":1e400,"d":2,"o":"success","b":"p"}', /line 7: "t" \(the call's start, epoch ms\) must be a finite number >= 0, got Infinity \(not a finite number\)$/],
    ['{"t":1,"d":-1e400,"o":"success","b":"p"}', /line 7: "d" .* got -Infinity \(not a finite number\)$/],
    ['{"t":1,"d":-3,"o":"success","b":"p"}', /line 7: "d" \(the call's duration, ms\) must be a finite number >= 0, got -3/],
    ['{"t":1,"d":3,"o":"ok","b":"p"}', /line 7: "o" \(the outcome\) must be one of "success", "failure", "ignored", "timeout", "rejected", got "ok"/],
    ['{"t":1,"d":3,"o":"success","b":""}', /line 7: "b" \(the breaker's name\) must be a non-empty string, got ""/],
    ['{"t":1,"d":3,"o":"failure","b":"p","e":42}', /line 7: "e" \(the error's class name\) must be a string when present, got 42/],
  ])('refuses %s, naming the line and what is wrong', (text, message) => {
    const error = errorOf(() => parseTraceRecord(text, 7, 'calls.ndjson'));
    expect(error.message).toMatch(message);
    expect(error.message.startsWith('calls.ndjson, line 7: ')).toBe(true);
    expect(error).toMatchObject({ source: 'calls.ndjson', line: 7 });
  });

  it('ignores fields it does not know (a later writer may add some)', () => {
    expect(parseTraceRecord('{"t":1,"d":2,"o":"success","b":"p","sampleRate":0.1}', 1)).toEqual({ t: 1, d: 2, o: 'success', b: 'p', line: 1 });
  });
});

describe('the trace reader', () => {
  const lines = ['{"t":1000,"d":5,"o":"success","b":"p"}', '{"t":1010,"d":5,"o":"failure","b":"p","e":"Error"}', '{"t":1020,"d":5,"o":"rejected","b":"p"}'];

  it('hands on the same records however the text is cut into chunks', () => {
    const text = `${lines.join('\r\n')}\n\n   \n${lines[0]!.replace('1000', '1030')}\n`;
    const whole = readChunks([text]).records;
    expect(whole.map((r) => [r.t, r.line])).toEqual([
      [1000, 1],
      [1010, 2],
      [1020, 3],
      [1030, 6],
    ]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 12 }), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), text.length];
        const chunks = at.slice(1).map((end, i) => text.slice(at[i], end));
        expect(readChunks(chunks).records).toEqual(whole);
      }),
    );
  });

  it('names the line of a malformed record, counting blank lines', () => {
    const error = errorOf(() => readChunks([`${lines[0]}\n\n${lines[1]}\n{"t":1030,"d":5,"o":"sucess","b":"p"}\n${lines[2]}\n`]));
    expect(error.message).toMatch(/^calls\.ndjson, line 4: "o" \(the outcome\) must be one of .*got "sucess"$/);
  });

  it('skips a last line cut off mid-write (no newline, not valid) and reports it; a complete one without newline is read', () => {
    const cut = readChunks([`${lines[0]}\n${lines[1]}\n{"t":1020,"d":5,"o":"succ`]);
    expect(cut.records).toHaveLength(2);
    expect(cut.summary).toMatchObject({ lines: 3, records: 2, incompleteLastLine: 3 });
    const complete = readChunks([`${lines[0]}\n${lines[1]}`]);
    expect(complete.records).toHaveLength(2);
    expect(complete.summary.incompleteLastLine).toBeUndefined();
  });

  it('a malformed line with a newline after it is an error even at the end', () => {
    expect(errorOf(() => readChunks([`${lines[0]}\n{"t":1020,"d":5,"o":"succ\n`])).line).toBe(2);
  });

  it('puts lines written in end order back in start order (a long call is written after shorter ones that started later)', () => {
    // as a recorder writes them: by end time
    const written = ['{"t":1010,"d":5,"o":"success","b":"p"}', '{"t":1000,"d":30,"o":"success","b":"p"}', '{"t":1020,"d":15,"o":"success","b":"p"}', '{"t":1005,"d":40,"o":"timeout","b":"p"}'];
    const { records, summary } = readChunks([`${written.join('\n')}\n`]);
    expect(records.map((r) => [r.t, r.line])).toEqual([
      [1000, 2],
      [1005, 4],
      [1010, 1],
      [1020, 3],
    ]);
    expect(summary.outOfOrder).toBe(2);
  });

  it('keeps the order of lines with the same start (by line)', () => {
    const same = ['{"t":1000,"d":1,"o":"success","b":"a"}', '{"t":1000,"d":1,"o":"failure","b":"a"}', '{"t":999,"d":1,"o":"success","b":"a"}'];
    expect(readChunks([same.join('\n')]).records.map((r) => r.line)).toEqual([3, 1, 2]);
  });

  it('refuses a line that starts before a call already replayed, naming the line and the option to raise', () => {
    // with a 1 s window, the line of t = 500 comes after t = 5000 released everything up to t = 4000
    const late = ['{"t":1000,"d":1,"o":"success","b":"p"}', '{"t":5000,"d":1,"o":"success","b":"p"}', '{"t":900,"d":4200,"o":"success","b":"p"}'];
    const error = errorOf(() => readChunks([late.join('\n')], { reorderWindowMs: 1_000 }));
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/line 3: the call starts at t = 900, 100 ms before the call of line 1 \(t = 1000\), which was replayed already: lines may come at most reorderWindowMs = 1000 ms out of start order .*--reorder-window-ms/);
    // the default window (5 minutes) takes it
    expect(readChunks([late.join('\n')]).records.map((r) => r.t)).toEqual([900, 1000, 5000]);
  });

  it('with a window of 0, requires lines sorted by start', () => {
    expect(errorOf(() => readChunks(['{"t":2,"d":1,"o":"success","b":"p"}\n{"t":1,"d":1,"o":"success","b":"p"}'], { reorderWindowMs: 0 })).line).toBe(2);
    expect(readChunks(['{"t":1,"d":1,"o":"success","b":"p"}\n{"t":1,"d":1,"o":"success","b":"p"}'], { reorderWindowMs: 0 }).records).toHaveLength(2);
  });

  it('readTrace reads a file, and names a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-trace-'));
    const file = join(dir, 'calls.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const seen: number[] = [];
    expect(await readTrace(file, (r) => seen.push(r.t))).toMatchObject({ lines: 3, records: 3 });
    expect(seen).toEqual([1000, 1010, 1020]);
    await expect(readTrace(join(dir, 'missing.ndjson'), () => {}, { source: 'missing.ndjson' })).rejects.toThrow('missing.ndjson: cannot read the trace: no such file');
    await expect(readTrace(dir, () => {}, { source: 'a-folder' })).rejects.toThrow('a-folder: cannot read the trace: it is a directory');
  });

  it('readTrace passes a consumer\'s own error through as it is', async () => {
    const boom = new Error('consumer failed');
    await expect(
      readTrace([`${lines[0]}\n`], () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });
});
