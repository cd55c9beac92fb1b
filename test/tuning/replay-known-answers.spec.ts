/**
 * Replays of traces whose answers are worked out by hand: one call every 100 ms for 10 minutes,
 * 20 ms each unless said otherwise, through a breaker with a count window of 20 calls, 10 calls
 * minimum and a 10 s open duration.
 */
import { describe, expect, it } from '@jest/globals';
import type { ReplaySettings } from '../../lib/tuning/index.js';
import { MINUTE, START, ndjson, regularTrace, replay, replayOne } from './traces.js';

const WINDOW_20: ReplaySettings = { slidingWindow: { type: 'count', size: 20 }, minimumCalls: 10, failureRateThreshold: 50, openDurationMs: 10_000 };
/** Fails no call away: a time window never holds this many calls. */
const CANNOT_TRIP: ReplaySettings = { slidingWindow: { type: 'time', durationMs: 60_000 }, minimumCalls: 1_000_000 };

describe('an outage from minute 3 to minute 5 of a 10-minute trace', () => {
  const outage = ndjson(regularTrace(10, 100, (at) => ({ o: at >= 3 * MINUTE && at < 5 * MINUTE ? 'failure' : 'success', d: 20 })));

  it('opens on the 10th failure, re-opens on each of the 11 trials during the outage, and closes on the first trial after it', async () => {
    const result = await replayOne(outage, WINDOW_20);
    // 20 successes in the window, then failures from 180_000: the 10th (started at 180_900) ends at
    // 180_920 with 10 of 20 failed. Trials start at the first call after each open duration:
    // 191_000, 201_100, ... every 10_100 ms, the 11th at 292_000; the next, at 302_100, succeeds.
    expect(result).toMatchObject({
      calls: 6_000,
      admitted: 4_800,
      rejected: 1_200,
      openings: 12,
      firstOpenAtMs: START + 180_920,
      failedCallsAdmitted: 10 + 11,
      // calls rejected from 300_000 to 302_000, after the recovery and before the successful trial
      rejectedWouldSucceed: 21,
      rejectedWouldFail: 1_179,
      timedOutByConfig: 0,
      flaps: 0,
      maxRecoveryToCloseMs: 2_120,
      meanRecoveryToCloseMs: 2_120,
      timeNotClosedMs: 302_120 - 180_920,
      finalState: 'closed',
    });
    expect(result.episodes).toEqual([
      { openedAtMs: START + 180_920, reason: 'failure_rate', reopenings: 11, closedAtMs: START + 302_120, recoveredAtMs: START + 300_000, recoveryToCloseMs: 2_120 },
    ]);
  });

  it('through a configuration that cannot trip: nothing rejected, every failed call admitted', async () => {
    const result = await replayOne(outage, CANNOT_TRIP);
    expect(result).toMatchObject({ calls: 6_000, admitted: 6_000, rejected: 0, openings: 0, firstOpenAtMs: null, failedCallsAdmitted: 1_200, rejectedWouldSucceed: 0, episodes: [] });
  });

  it('with consecutiveFailureThreshold 3 it opens on the 3rd failure, before the rate rule could', async () => {
    const result = await replayOne(outage, { ...WINDOW_20, consecutiveFailureThreshold: 3 });
    expect(result.firstOpenAtMs).toBe(START + 180_220);
    expect(result.episodes[0]!.reason).toBe('consecutive_failures');
  });

  it('a longer open duration costs more successful calls after the recovery and admits fewer failed trials', async () => {
    const { report } = await replay(outage, { short: WINDOW_20, long: { ...WINDOW_20, openDurationMs: 60_000 } });
    const [short, long] = report.results;
    // long: open from 180_920 to 240_920; the trial at 241_000 fails, the one at 301_100 succeeds
    expect(long!.failedCallsAdmitted).toBeLessThan(short!.failedCallsAdmitted);
    expect(long!.rejectedWouldSucceed).toBe(11); // 300_000 to 301_000
    expect(long!.episodes[0]).toMatchObject({ reopenings: 1, closedAtMs: START + 301_120, recoveryToCloseMs: 1_120 });
  });
});

describe('a flaky dependency: every 5th call fails (20 %), for 10 minutes', () => {
  const flaky = ndjson(regularTrace(10, 100, (at) => ({ o: (at / 100) % 5 === 4 ? 'failure' : 'success', d: 20 })));

  it('a 50 % threshold never opens: nothing rejected, all 1,200 failed calls admitted', async () => {
    expect(await replayOne(flaky, WINDOW_20)).toMatchObject({ rejected: 0, openings: 0, failedCallsAdmitted: 1_200, flaps: 0 });
  });

  it('a 20 % threshold opens as soon as 10 calls are in (2 failed), then flaps: every re-opening follows a close by seconds', async () => {
    const result = await replayOne(flaky, { ...WINDOW_20, failureRateThreshold: 20 });
    expect(result.firstOpenAtMs).toBe(START + 920);
    expect(result.episodes.length).toBeGreaterThan(10);
    expect(result.flaps).toBe(result.episodes.length - 1);
    expect(result.rejectedWouldSucceed).toBeGreaterThan(result.rejectedWouldFail); // protection that mostly costs
    for (const episode of result.episodes.slice(0, -1)) expect(episode.closedAtMs).not.toBeNull();
  });
});

describe('a slow dependency: calls take 3 s from minute 3 to minute 5 (and succeed)', () => {
  const slow = ndjson(regularTrace(10, 100, (at) => ({ o: 'success', d: at >= 3 * MINUTE && at < 5 * MINUTE ? 3_000 : 20 })));

  it('with timeoutMs 1000: each slow call times out after 1 s, and the 10th timeout (at 181_900) opens the circuit', async () => {
    const result = await replayOne(slow, { ...WINDOW_20, timeoutMs: 1_000 });
    expect(result.firstOpenAtMs).toBe(START + 181_900);
    expect(result.episodes[0]!.reason).toBe('failure_rate');
    // Admitted before the opening: the calls started 180_000 to 181_800 (the one at 181_900 starts
    // as the opening happens: a call ending at that instant settles first). Trials time out too.
    expect(result.failedCallsAdmitted).toBe(0); // the trace has no failure: the timeouts are this configuration's
    expect(result.timedOutByConfig).toBe(19 + result.openings - 1);
    expect(result.maxRecoveryToCloseMs).not.toBeNull();
  });

  it('with slow-call tracking (1 s, 50 %): the 10th slow call to end (started at 180_900, ended at 183_900) opens it', async () => {
    const result = await replayOne(slow, { ...WINDOW_20, slowCallDurationMs: 1_000, slowCallRateThreshold: 50 });
    expect(result.firstOpenAtMs).toBe(START + 183_900);
    expect(result.episodes[0]!.reason).toBe('slow_call_rate');
    expect(result.timedOutByConfig).toBe(0);
  });

  it('with neither a timeout nor slow-call tracking, it never opens', async () => {
    expect(await replayOne(slow, WINDOW_20)).toMatchObject({ openings: 0, rejected: 0 });
  });
});

describe('several breakers in one trace', () => {
  it('are replayed each on its own, in order of their first call (then line); --breaker picks one', async () => {
    const payments = regularTrace(1, 100, () => ({ o: 'failure', d: 20 }), 'payments');
    const search = regularTrace(1, 250, () => ({ o: 'success', d: 5 }), 'search');
    const text = ndjson([...search, ...payments].sort((a, b) => a.t - b.t));
    const { report } = await replay(text, { a: WINDOW_20, b: CANNOT_TRIP });
    // both start at START; search's first call is on line 1
    expect(report.results.map((r) => [r.breaker, r.config, r.calls])).toEqual([
      ['search', 'a', 240],
      ['search', 'b', 240],
      ['payments', 'a', 600],
      ['payments', 'b', 600],
    ]);
    expect(report.results[0]!.openings).toBe(0);
    expect(report.results[2]!.openings).toBeGreaterThan(0);
    const only = await replay(text, { a: WINDOW_20 }, { breaker: 'search' });
    expect(only.report.results.map((r) => r.breaker)).toEqual(['search']);
    expect(only.report.trace.calls).toBe(240);
  });
});
