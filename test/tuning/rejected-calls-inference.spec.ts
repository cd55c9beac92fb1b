/**
 * Calls the recording breaker rejected have no outcome: they take the nearest informative call's
 * (REJECTED_INFERENCE_RULE). And a trace replayed through the configuration that recorded it
 * rejects exactly the calls recorded as rejected: the replay makes the recorder's own decisions.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RejectedCallInference, ReplayRun, SYNTHETIC_SCENARIOS, candidateConfig, parseTraceRecord, syntheticTrace, formatTraceRecord } from '../../lib/tuning/index.js';
import type { ReplayCall, ReplaySettings, TraceRecord } from '../../lib/tuning/index.js';
import { ndjson, replay } from './traces.js';

function infer(records: readonly TraceRecord[]): { calls: ReplayCall[]; inference: RejectedCallInference } {
  const calls: ReplayCall[] = [];
  const inference = new RejectedCallInference((call) => calls.push(call));
  records.forEach((record, i) => inference.push({ ...record, line: i + 1 }));
  inference.end();
  return { calls, inference };
}

const r = (t: number, o: TraceRecord['o'], d = 0, b = 'p', e?: string): TraceRecord => (e === undefined ? { t, d, o, b } : { t, d, o, b, e });

describe('the outcome of a call recorded as rejected', () => {
  it('is that of the nearest call (by start) that reached the dependency, with its duration and error', () => {
    const { calls } = infer([r(0, 'success', 40), r(10, 'rejected'), r(40, 'rejected'), r(50, 'failure', 7, 'p', 'HttpException')]);
    expect(calls.map((c) => [c.t, c.o, c.d, c.e, c.inferred])).toEqual([
      [0, 'success', 40, undefined, false],
      [10, 'success', 40, undefined, true],
      [40, 'failure', 7, 'HttpException', true],
      [50, 'failure', 7, 'HttpException', false],
    ]);
  });

  it('goes to the earlier call on a tie', () => {
    expect(infer([r(0, 'success', 1), r(10, 'rejected'), r(20, 'timeout', 2000)]).calls[1]).toMatchObject({ o: 'success', d: 1, inferred: true });
  });

  it('ignores ignored calls (they say nothing about the dependency) and other breakers', () => {
    const { calls } = infer([r(0, 'success', 1), r(8, 'ignored', 1), r(9, 'failure', 1, 'other'), r(10, 'rejected'), r(30, 'failure', 5)]);
    expect(calls.filter((c) => c.b === 'p').map((c) => [c.t, c.o, c.inferred])).toEqual([
      [0, 'success', false],
      [8, 'ignored', false],
      [10, 'success', true],
      [30, 'failure', false],
    ]);
  });

  it('after the last informative call takes the previous one; with none at all, is a failure lasting 0 ms', () => {
    expect(infer([r(0, 'failure', 3), r(100, 'rejected')]).calls[1]).toMatchObject({ o: 'failure', d: 3, inferred: true });
    const { calls, inference } = infer([r(0, 'rejected', 0, 'q'), r(5, 'ignored', 2, 'q'), r(9, 'rejected', 0, 'q')]);
    expect(calls.map((c) => [c.t, c.o, c.d, c.inferred])).toEqual([
      [0, 'failure', 0, true],
      [5, 'ignored', 2, false],
      [9, 'failure', 0, true],
    ]);
    expect(inference.counts().get('q')).toEqual({ rejected: 2, successes: 0, failures: 2, timeouts: 0, withoutNeighbour: 2 });
  });

  it('is counted in the report, with the rule', async () => {
    const text = ndjson([r(0, 'success', 1), r(10, 'rejected'), r(20, 'rejected'), r(25, 'timeout', 2000), r(30, 'rejected')]);
    const { report } = await replay(text, { any: {} });
    expect(report.trace.breakers).toEqual([{ name: 'p', calls: 5, recordedRejected: 3, inferred: { successes: 1, failures: 0, timeouts: 2, withoutNeighbour: 0 } }]);
    expect(report.trace.inferenceRule).toMatch(/nearest call of the same breaker \(by start time\) that reached the dependency as a success, failure or timeout; a tie goes to the earlier call/);
  });

  it('keeps every breaker\'s calls in start order, whatever waits for a later neighbour', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 50 }), o: fc.constantFrom<TraceRecord['o']>('success', 'failure', 'ignored', 'timeout', 'rejected'), b: fc.constantFrom('a', 'b') }), { maxLength: 60 }),
        (steps) => {
          let t = 0;
          const records = steps.map((s) => r((t += s.gap), s.o, 1, s.b));
          const { calls } = infer(records);
          expect(calls).toHaveLength(records.length);
          for (const b of ['a', 'b']) {
            const mine = calls.filter((c) => c.b === b);
            expect(mine.map((c) => c.line)).toEqual(records.flatMap((rec, i) => (rec.b === b ? [i + 1] : [])));
            expect(mine.filter((c) => c.inferred)).toHaveLength(records.filter((rec) => rec.b === b && rec.o === 'rejected').length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a trace replayed through the configuration that recorded it', () => {
  const recorder = fc.record({
    failureRateThreshold: fc.constantFrom(20, 50, 80),
    minimumCalls: fc.constantFrom(5, 10, 20),
    openDurationMs: fc.constantFrom(2_000, 10_000, 30_000),
    halfOpenMaxCalls: fc.constantFrom(1, 3),
    timeoutMs: fc.constantFrom(500, 2_000, 60_000),
  });

  it('admits exactly the calls it admitted and rejects exactly those recorded as rejected', () => {
    fc.assert(
      fc.property(recorder, fc.constantFrom(...SYNTHETIC_SCENARIOS), fc.integer({ min: 1, max: 1_000 }), (settings: ReplaySettings, scenario, seed) => {
        const recordedBy = candidateConfig('recorder', settings);
        // written as a recorder writes it (end order), read back in start order
        const written = syntheticTrace({ scenario, seed, durationMs: 120_000, callsPerSecond: 20, recordedBy });
        const lines = written.map((rec, i) => parseTraceRecord(formatTraceRecord(rec), i + 1)).sort((a, b) => a.t - b.t || a.line - b.line);
        const decisions: [boolean, boolean][] = [];
        let run: ReplayRun | undefined;
        const inference = new RejectedCallInference((call) => {
          run ??= new ReplayRun(recordedBy, call.b, call.t, { onDecision: (c, decision) => decisions.push([decision.admitted, !c.inferred]) });
          run.push(call);
        });
        for (const line of lines) inference.push(line);
        inference.end();
        run?.finish();
        expect(decisions).toHaveLength(written.length);
        const disagreements = decisions.filter(([admitted, recordedAdmitted]) => admitted !== recordedAdmitted);
        expect(disagreements).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});
