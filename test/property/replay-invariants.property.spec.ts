/**
 * Properties of a replay, for any trace and any replayable configuration:
 *
 * INVARIANTS.
 * - Every call is admitted or rejected: admitted + rejected = calls, and the counts that split
 *   them stay within them (failedCallsAdmitted <= admitted; rejectedWouldSucceed +
 *   rejectedWouldFail <= rejected; openings >= episodes; flaps < episodes).
 * - A configuration that cannot trip (a time window whose minimumCalls no trace reaches, no
 *   consecutive-failure rule) rejects nothing and opens never.
 * - A stricter failure threshold opens no later: with everything else equal, the configuration
 *   with the lower failureRateThreshold has its first opening at or before the other's (never
 *   opening counts as opening at infinity). Until the first opening both admit every call and see
 *   the same window, and a rate that reaches the higher threshold reaches the lower one.
 * - The same holds for a lower minimumCalls and for a lower consecutiveFailureThreshold.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ReplayResult, ReplaySettings, TraceRecord } from '../../lib/tuning/index.js';
import { START, ndjson, replay } from '../tuning/traces.js';

const NUM_RUNS = 300;

/** Calls with random gaps (ties included), durations and outcomes, rejected ones too, in start order. */
const trace = fc
  .array(
    fc.record({
      gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 })),
      d: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 100, max: 8_000 })),
      o: fc.constantFrom<TraceRecord['o']>('success', 'success', 'success', 'failure', 'failure', 'timeout', 'ignored', 'rejected'),
    }),
    { minLength: 1, maxLength: 250 },
  )
  .map((steps) => {
    let t = START;
    return steps.map(({ gapMs, d, o }): TraceRecord => ({ t: (t += gapMs), d: o === 'rejected' ? 0 : d, o, b: 'payments' }));
  });

const window = fc.oneof(
  fc.integer({ min: 5, max: 50 }).map((size) => ({ type: 'count' as const, size })),
  fc.integer({ min: 1_000, max: 60_000 }).map((durationMs) => ({ type: 'time' as const, durationMs })),
);

/** Any replayable configuration (minimumCalls within a count window's size). */
const settings: fc.Arbitrary<ReplaySettings> = fc
  .record(
    {
      slidingWindow: window,
      failureRateThreshold: fc.integer({ min: 1, max: 100 }),
      minimumCalls: fc.integer({ min: 1, max: 50 }),
      consecutiveFailureThreshold: fc.integer({ min: 1, max: 10 }),
      openDurationMs: fc.integer({ min: 100, max: 30_000 }),
      halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
      timeoutMs: fc.integer({ min: 50, max: 5_000 }),
      slowCallDurationMs: fc.integer({ min: 50, max: 5_000 }),
      openDurationBackoff: fc.constant(true as const),
    },
    { requiredKeys: ['slidingWindow'] },
  )
  .map((s) => (s.slidingWindow.type === 'count' && s.minimumCalls !== undefined ? { ...s, minimumCalls: Math.min(s.minimumCalls, s.slidingWindow.size) } : s));

const firstOpen = (result: ReplayResult): number => result.firstOpenAtMs ?? Number.POSITIVE_INFINITY;

describe('a replay', () => {
  it('admits or rejects every call, and its counts stay within the calls they split', async () => {
    await fc.assert(
      fc.asyncProperty(trace, settings, async (records, config) => {
        const { report } = await replay(ndjson(records), { config });
        const result = report.results[0]!;
        expect(result.calls).toBe(records.length);
        expect(result.admitted + result.rejected).toBe(result.calls);
        expect(result.failedCallsAdmitted).toBeLessThanOrEqual(result.admitted);
        expect(result.rejectedWouldSucceed + result.rejectedWouldFail).toBeLessThanOrEqual(result.rejected);
        expect(result.openings).toBeGreaterThanOrEqual(result.episodes.length);
        expect(result.flaps).toBeLessThanOrEqual(Math.max(0, result.episodes.length - 1));
        expect(result.rejected === 0 || result.openings > 0).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('through a configuration that cannot trip rejects nothing', async () => {
    await fc.assert(
      fc.asyncProperty(trace, settings, async (records, config) => {
        const cannotTrip: ReplaySettings = { ...config, slidingWindow: { type: 'time', durationMs: 60_000 }, minimumCalls: records.length + 1 };
        delete cannotTrip.consecutiveFailureThreshold;
        const { report } = await replay(ndjson(records), { cannotTrip });
        expect(report.results[0]).toMatchObject({ rejected: 0, admitted: records.length, openings: 0, firstOpenAtMs: null });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it.each([
    ['a lower failureRateThreshold', 'failureRateThreshold', 1, 100],
    ['a lower minimumCalls', 'minimumCalls', 1, 50],
    ['a lower consecutiveFailureThreshold', 'consecutiveFailureThreshold', 1, 10],
  ] as const)('with %s opens no later', async (_, option, min, max) => {
    await fc.assert(
      fc.asyncProperty(trace, settings, fc.integer({ min, max }), fc.integer({ min, max }), async (records, config, a, b) => {
        const [strict, loose] = [Math.min(a, b), Math.max(a, b)];
        const cap = option === 'minimumCalls' && config.slidingWindow?.type === 'count' ? config.slidingWindow.size : Number.POSITIVE_INFINITY;
        const { report } = await replay(ndjson(records), { strict: { ...config, [option]: Math.min(strict, cap) }, loose: { ...config, [option]: Math.min(loose, cap) } });
        const [strictResult, looseResult] = report.results;
        expect(firstOpen(strictResult!)).toBeLessThanOrEqual(firstOpen(looseResult!));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
