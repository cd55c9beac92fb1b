/**
 * Property test of shadow configurations (lib/core/shadows.ts).
 *
 * INVARIANT. A shadow that changes no option (`shadows: { same: {} }`) is the enforced breaker seen
 * from the side: for any valid options (count window, failure-rate and slow-call rules, minimum
 * calls, consecutive failures, open duration with or without backoff, half-open limit) and any
 * sequence of synchronous calls (success, failure, slow success, slow failure: a call starts and
 * ends within the step, so admitting it at its end is admitting it at its start) and clock
 * advances, after EVERY step the shadow's would-be state is the breaker's state, its would-be
 * trips are the breaker's openings, its would-be rejections are the breaker's rejections, and its
 * window holds the same calls and failures. And the shadow never rejects anything: every call the
 * breaker admits runs.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CircuitBreaker, CircuitOpenError, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerSettings } from '../../lib/index.js';

type Step = { kind: 'call'; fail: boolean; durationMs: number } | { kind: 'advance'; ms: number };

const settings: fc.Arbitrary<CircuitBreakerSettings> = fc
  .record({
    size: fc.integer({ min: 1, max: 20 }),
    minimumCallsShare: fc.double({ min: 0, max: 1, noNaN: true }),
    failureRateThreshold: fc.integer({ min: 1, max: 100 }),
    slow: fc.option(fc.record({ slowCallDurationMs: fc.integer({ min: 1, max: 500 }), slowCallRateThreshold: fc.integer({ min: 1, max: 100 }) }), { nil: undefined }),
    consecutiveFailureThreshold: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
    openDurationMs: fc.integer({ min: 1, max: 5_000 }),
    backoff: fc.boolean(),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ size, minimumCallsShare, slow, consecutiveFailureThreshold, backoff, ...rest }) => ({
    ...rest,
    slidingWindow: { type: 'count', size },
    minimumCalls: Math.max(1, Math.round(minimumCallsShare * size)),
    ...(slow ?? {}),
    ...(consecutiveFailureThreshold === undefined ? {} : { consecutiveFailureThreshold }),
    ...(backoff ? { openDurationBackoff: { multiplier: 2 } } : {}),
  }));

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), fail: fc.boolean(), durationMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000 })) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6_000 }) }) },
  ),
  { minLength: 1, maxLength: 200 },
);

describe('a shadow that changes no option', () => {
  it('mirrors the enforced breaker after every step, and rejects nothing itself', () => {
    fc.assert(
      fc.property(settings, steps, (options, sequence) => {
        const clock = new ManualClock(1_000_000);
        const breaker = new CircuitBreaker({ name: 'p', clock, ...options, shadows: { same: {} } });
        let ran = 0;
        let admitted = 0;
        for (const step of sequence) {
          if (step.kind === 'advance') {
            clock.advance(step.ms);
          } else {
            try {
              breaker.executeSync(() => {
                ran++;
                clock.advance(step.durationMs);
                if (step.fail) throw new Error('down');
              });
              admitted++;
            } catch (error) {
              if (!(error instanceof CircuitOpenError)) admitted++;
            }
          }
          const snapshot = breaker.snapshot();
          const totals = breaker.totals();
          expect(snapshot.shadows!['same']).toMatchObject({
            state: snapshot.state,
            wouldTrips: totals.openings,
            wouldReject: totals.notPermittedCalls,
            calls: snapshot.calls,
            failures: snapshot.failures,
            slowCallRate: snapshot.slowCallRate,
          });
          expect(ran).toBe(admitted);
        }
        breaker.dispose();
        expect(clock.pendingTimers).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
