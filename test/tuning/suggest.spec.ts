import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULT_SUGGEST_GRID, candidateConfig, gridConfigs, paretoFront, replayTrace, suggestConfigs, syntheticTrace } from '../../lib/tuning/index.js';
import type { ReplayResult, SuggestGrid } from '../../lib/tuning/index.js';
import { MINUTE, ndjson, regularTrace } from './traces.js';

const point = (failedCallsAdmitted: number, rejectedWouldSucceed: number, flaps = 0, openings = 0) => ({ result: { failedCallsAdmitted, rejectedWouldSucceed, flaps, openings } as ReplayResult });
const dominates = (a: ReplayResult, b: ReplayResult): boolean =>
  a.failedCallsAdmitted <= b.failedCallsAdmitted && a.rejectedWouldSucceed <= b.rejectedWouldSucceed && (a.failedCallsAdmitted < b.failedCallsAdmitted || a.rejectedWouldSucceed < b.rejectedWouldSucceed);

describe('the Pareto front', () => {
  it('keeps exactly the points no other point dominates, one per pair of counts, fewest failed calls admitted first', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })), { maxLength: 40 }), (pairs) => {
        const points = pairs.map(([f, r]) => point(f, r));
        const front = paretoFront(points);
        for (const p of front) expect(points.some((q) => dominates(q.result, p.result))).toBe(false);
        for (const p of points) {
          const kept = front.some((q) => q === p || dominates(q.result, p.result) || (q.result.failedCallsAdmitted === p.result.failedCallsAdmitted && q.result.rejectedWouldSucceed === p.result.rejectedWouldSucceed));
          expect(kept).toBe(true);
        }
        const keys = front.map((p) => `${p.result.failedCallsAdmitted}/${p.result.rejectedWouldSucceed}`);
        expect(new Set(keys).size).toBe(keys.length);
        const failed = front.map((p) => p.result.failedCallsAdmitted);
        expect(failed).toEqual([...failed].sort((a, b) => a - b));
      }),
      { numRuns: 500 },
    );
  });

  it('of equal counts keeps the one with fewer flaps, then fewer openings, then the first', () => {
    const a = point(5, 5, 2, 3);
    const b = point(5, 5, 1, 9);
    const c = point(5, 5, 1, 9);
    expect(paretoFront([a, b, c])).toEqual([b]);
    expect(paretoFront([a, b, c])[0]).toBe(b);
  });
});

describe('the default grid', () => {
  it('has 144 configurations, every one accepted by the engine', () => {
    const configs = gridConfigs();
    expect(configs).toHaveLength(DEFAULT_SUGGEST_GRID.failureRateThreshold.length * DEFAULT_SUGGEST_GRID.minimumCalls.length * DEFAULT_SUGGEST_GRID.slidingWindow.length * DEFAULT_SUGGEST_GRID.openDurationMs.length);
    expect(configs).toHaveLength(144);
    expect(new Set(configs.map((c) => c.label)).size).toBe(144);
  });

  it('leaves out combinations the engine refuses, and keeps the base options under the grid\'s', () => {
    const grid: SuggestGrid = { failureRateThreshold: [50], minimumCalls: [5, 50], slidingWindow: [{ type: 'count', size: 20 }], openDurationMs: [1_000] };
    const configs = gridConfigs(grid, { timeoutMs: 2_000, minimumCalls: 7 });
    expect(configs.map((c) => c.settings)).toEqual([{ timeoutMs: 2_000, minimumCalls: 5, slidingWindow: { type: 'count', size: 20 }, failureRateThreshold: 50, openDurationMs: 1_000 }]);
  });
});

describe('suggest', () => {
  const outage = ndjson(regularTrace(10, 100, (at) => ({ o: at >= 3 * MINUTE && at < 5 * MINUTE ? 'failure' : 'success', d: 20 })));
  const grid: SuggestGrid = {
    failureRateThreshold: [25, 50, 90],
    minimumCalls: [5, 20],
    slidingWindow: [{ type: 'count', size: 20 }, { type: 'time', durationMs: 10_000 }],
    openDurationMs: [2_000, 30_000],
  };

  it('returns the Pareto front of the grid replayed one configuration at a time, and at most top of it, spread', async () => {
    const report = await suggestConfigs([outage], { grid, top: 3, source: 'outage.ndjson' });
    const configs = gridConfigs(grid);
    const { report: each } = await replayTrace([outage], { configs });
    const all = configs.map((config, i) => ({ options: config.settings, result: each.results[i]! }));
    const [breaker] = report.breakers;
    expect(report.configurations).toBe(configs.length + 1);
    const { report: mine } = await replayTrace([outage], { configs: [candidateConfig('defaults', {})] });
    const current = { options: {}, result: mine.results[0]! };
    // the defaults take part in the comparison, and are not listed among the suggestions
    expect(breaker!.front.map((s) => s.options)).toEqual(paretoFront([current, ...all]).filter((s) => s !== current).map((s) => s.options));
    expect(breaker!.defaultsOnFront).toBe(paretoFront([current, ...all]).includes(current));
    expect(breaker!.front.length).toBeGreaterThan(1);
    expect(breaker!.suggested.length).toBe(Math.min(3, breaker!.front.length));
    expect(breaker!.suggested[0]).toEqual(breaker!.front[0]);
    expect(breaker!.suggested.at(-1)).toEqual(breaker!.front.at(-1));
    // the engine's defaults, for comparison, are replayed too
    const { report: defaults } = await replayTrace([outage], { configs: [candidateConfig('defaults', {})] });
    expect(breaker!.defaults).toEqual({ options: {}, result: defaults.results[0] });
  });

  it('on a healthy trace offers nothing: the defaults never open and cost nothing, no configuration does better', async () => {
    const healthy = ndjson(regularTrace(5, 100, () => ({ o: 'success', d: 20 })));
    const report = await suggestConfigs([healthy], { grid });
    expect(report.breakers[0]!.defaults.result).toMatchObject({ openings: 0, failedCallsAdmitted: 0, rejectedWouldSucceed: 0 });
    expect(report.breakers[0]!.defaultsOnFront).toBe(true);
    expect(report.breakers[0]!.front).toEqual([]);
  });

  it('never offers a configuration the base options match or beat on both counts, and says when the base is on the front', async () => {
    // The tryout's case: the outage example trace, a base of a 10-call window at 50 % from 4 calls.
    const trace = syntheticTrace({ scenario: 'outage', durationMs: 10 * MINUTE, callsPerSecond: 20, seed: 1, recordedBy: candidateConfig('recorder', { failureRateThreshold: 50, timeoutMs: 2_000 }) });
    const base = candidateConfig('a.json', { failureRateThreshold: 50, minimumCalls: 4, slidingWindow: { type: 'count', size: 10 }, timeoutMs: 500 });
    const report = await suggestConfigs([ndjson(trace)], { base, top: 3 });
    const [breaker] = report.breakers;
    const mine = breaker!.defaults.result;
    expect(breaker!.defaults.options).toEqual(base.settings);
    for (const s of breaker!.front) {
      // each one offered does better than the base on at least one count
      expect(s.result.failedCallsAdmitted < mine.failedCallsAdmitted || s.result.rejectedWouldSucceed < mine.rejectedWouldSucceed).toBe(true);
    }
    // here nothing of the grid does better on both counts: the base is on the front
    const gridAll = gridConfigs(DEFAULT_SUGGEST_GRID, base.settings);
    const { report: each } = await replayTrace([ndjson(trace)], { configs: gridAll });
    expect(each.results.some((r) => dominates(r, mine))).toBe(false);
    expect(each.results.some((r) => dominates(mine, r) && paretoFront(each.results.map((result) => ({ result }))).some((p) => p.result === r))).toBe(true);
    expect(breaker!.defaultsOnFront).toBe(true);
  }, 60_000);
});
