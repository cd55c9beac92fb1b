/**
 * Keyed breakers are recorded as `family:key`, one breaker per key. A replay treats each key as its
 * own breaker with the candidate's options (as production does) and reports the family as one.
 */
import { describe, expect, it } from '@jest/globals';
import { suggestConfigs } from '../../lib/tuning/index.js';
import type { ReplaySettings, TraceRecord } from '../../lib/tuning/index.js';
import { MINUTE, START, ndjson, regularTrace, replay } from './traces.js';

const WINDOW_20: ReplaySettings = { slidingWindow: { type: 'count', size: 20 }, minimumCalls: 10, failureRateThreshold: 50, openDurationMs: 30_000 };
const CANNOT_TRIP: ReplaySettings = { slidingWindow: { type: 'count', size: 10_000 }, failureRateThreshold: 100, minimumCalls: 10_000 };

/** Interleaves traces by start time (then by the order given). */
function merge(...traces: TraceRecord[][]): TraceRecord[] {
  return traces.flat().sort((a, b) => a.t - b.t);
}

// k1 fails for the first 2 minutes then recovers; k2 always succeeds; k3 fails throughout.
const k1 = regularTrace(5, 100, (at) => ({ o: at < 2 * MINUTE ? 'failure' : 'success', d: 20 }), 'shards:k1');
const k2 = regularTrace(5, 100, () => ({ o: 'success', d: 20 }), 'shards:k2');
const k3 = regularTrace(5, 250, () => ({ o: 'failure', d: 20 }), 'shards:k3');
const payments = regularTrace(5, 500, () => ({ o: 'success', d: 5 }), 'payments');
const text = ndjson(merge(k1, k2, k3, payments));

describe('a family of keyed breakers (names family:key)', () => {
  it('is replayed as one family: each key its own breaker, the counts the sums of the keys replayed alone', async () => {
    const { report } = await replay(text, { a: WINDOW_20, b: CANNOT_TRIP });
    expect(report.results.map((r) => [r.breaker, r.config])).toEqual([
      ['shards', 'a'],
      ['shards', 'b'],
      ['payments', 'a'],
      ['payments', 'b'],
    ]);
    expect(report.trace.breakers.map((b) => [b.name, b.calls, b.keys])).toEqual([
      ['shards', 3_000 + 3_000 + 1_200, 3],
      ['payments', 600, undefined],
    ]);
    const each = await Promise.all(['shards:k1', 'shards:k2', 'shards:k3'].map((key) => replay(text, { a: WINDOW_20 }, { breaker: key })));
    const alone = each.map((one) => one.report.results[0]!);
    expect(alone.map((r) => r.breaker)).toEqual(['shards:k1', 'shards:k2', 'shards:k3']);
    const family = report.results[0]!;
    for (const field of ['calls', 'admitted', 'rejected', 'openings', 'failedCallsAdmitted', 'rejectedWouldSucceed', 'rejectedWouldFail', 'flaps', 'timeNotClosedMs'] as const) {
      expect(family[field]).toBe(alone.reduce((sum, r) => sum + r[field], 0));
    }
    expect(family.openings).toBeGreaterThan(0);
    expect(family.firstOpenAtMs).toBe(Math.min(...alone.filter((r) => r.firstOpenAtMs !== null).map((r) => r.firstOpenAtMs!)));
    expect(family.keys).toEqual({ count: 3, opened: 2, notClosedAtEnd: 1, episodes: alone[0]!.episodes.length + alone[2]!.episodes.length });
    expect(family.finalState).toBe('open'); // k3 never recovers
    expect(family.episodes[0]).toMatchObject({ key: 'shards:k1', openedAtMs: alone[0]!.episodes[0]!.openedAtMs });
    // a configuration that cannot trip admits every failed call of every key
    expect(report.results[1]).toMatchObject({ openings: 0, rejected: 0, failedCallsAdmitted: 1_200 + 1_200 });
  });

  it('one breaker over all keys would answer differently: a healthy key is not rejected for its failing neighbours', async () => {
    const shared = ndjson(merge(k1, k2, k3).map((r) => ({ ...r, b: 'shards' })));
    const { report: one } = await replay(shared, { a: WINDOW_20 });
    const { report: keyed } = await replay(text, { a: WINDOW_20 }, { breaker: 'shards' });
    const k2Alone = (await replay(text, { a: WINDOW_20 }, { breaker: 'shards:k2' })).report.results[0]!;
    expect(k2Alone.rejected).toBe(0);
    expect(keyed.results[0]!.rejectedWouldSucceed).toBeLessThan(one.results[0]!.rejectedWouldSucceed);
  });

  it('--breaker <family> selects every key of it, --breaker <family:key> one key; an unknown one lists families', async () => {
    const family = await replay(text, { a: WINDOW_20 }, { breaker: 'shards' });
    expect(family.report.results.map((r) => [r.breaker, r.calls, r.keys?.count])).toEqual([['shards', 7_200, 3]]);
    expect(family.report.trace.calls).toBe(7_200);
    const key = await replay(text, { a: WINDOW_20 }, { breaker: 'shards:k2' });
    expect(key.report.results.map((r) => [r.breaker, r.calls, r.keys])).toEqual([['shards:k2', 3_000, undefined]]);
    await expect(replay(text, { a: WINDOW_20 }, { breaker: 'nope' })).rejects.toThrow('the trace holds no call of breaker "nope"; it has calls of "shards", "payments"');
  });

  it('keeps at most 100 openings of a family, the earliest, while counting them all', async () => {
    // 150 keys, each failing throughout: each opens once, key n at its own time
    const records: TraceRecord[] = [];
    for (let n = 0; n < 150; n++) for (let i = 0; i < 20; i++) records.push({ t: START + n * 1_000 + i, d: 1, o: 'failure', b: `many:${n}`, e: 'Error' });
    const { report } = await replay(ndjson(merge(records)), { a: WINDOW_20 });
    const result = report.results[0]!;
    expect(result.keys).toMatchObject({ count: 150, opened: 150, episodes: 150 });
    expect(result.episodes).toHaveLength(100);
    expect(result.episodes.map((e) => e.key)).toEqual(Array.from({ length: 100 }, (_, n) => `many:${n}`));
  });

  it('charts a family as one (the keys\' counts summed), and the JSON report is the same run after run', async () => {
    const first = await replay(text, { a: WINDOW_20 }, { timeline: true });
    const second = await replay(text, { a: WINDOW_20 }, { timeline: true });
    expect(JSON.stringify(second.report)).toBe(JSON.stringify(first.report));
    const chart = first.charts.find((c) => c.breaker === 'shards')!;
    const run = chart.runs[0]!;
    const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
    expect(sum(run.counts.counts.admitted) + sum(run.counts.counts.rejected)).toBe(7_200);
    expect(sum(run.counts.counts.rejected)).toBe(first.report.results[0]!.rejected);
    expect(run.states).toEqual([]);
  });

  it('suggest ranks configurations per family', async () => {
    const report = await suggestConfigs([text], { breaker: 'shards', top: 2 });
    expect(report.breakers.map((b) => b.breaker)).toEqual(['shards']);
    expect(report.breakers[0]!.defaults.result.keys?.count).toBe(3);
    for (const s of report.breakers[0]!.front) expect(s.result.calls).toBe(7_200);
  });
});
