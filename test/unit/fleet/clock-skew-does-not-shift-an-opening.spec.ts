/**
 * Instances whose clocks differ by minutes agree on when a shared opening ends: the store keeps
 * the opening on its own clock and every answer carries that clock's now, so each instance places
 * the end of the opening on its own clock. (Before: a peer 5 minutes ahead saw the opening as
 * long over and sent trial calls at once; one 5 minutes behind waited 5 minutes too long.)
 */
import { describe, expect, test } from '@jest/globals';
import { CircuitBreaker, InMemoryCircuitBreakerStore, ManualClock } from '../../../lib/index.js';
import { turns } from '../../support/waiting.js';

const OPEN_MS = 10_000;
const SKEW_MS = 5 * 60_000;
const SYNC_MS = 100;
const T0 = 1_700_000_000_000;

describe.each([
  ['5 minutes ahead', SKEW_MS],
  ['5 minutes behind', -SKEW_MS],
])('a peer whose clock is %s', (_label, skewMs) => {
  test('adopts an opening that ends OPEN_MS after it began, on its own clock', async () => {
    const storeClock = new ManualClock(T0 + 17_000); // the store's clock agrees with neither
    const clockA = new ManualClock(T0);
    const clockB = new ManualClock(T0 + skewMs);
    const store = new InMemoryCircuitBreakerStore({ clock: storeClock, syncIntervalMs: SYNC_MS });
    const settings = { store, slidingWindow: { type: 'count', size: 10 }, minimumCalls: 1, failureRateThreshold: 50, openDurationMs: OPEN_MS } as const;
    const a = new CircuitBreaker({ name: 'payments', clock: clockA, ...settings });
    const b = new CircuitBreaker({ name: 'payments', clock: clockB, ...settings });
    try {
      await turns();
      expect(() => a.executeSync(() => { throw new Error('down'); })).toThrow('down');
      expect(a.state).toBe('open');
      await turns();
      expect(b.state).toBe('open');
      expect(b.snapshot().retryAfterMs).toBe(OPEN_MS);
      expect(b.snapshot().openedAt).toBe(T0 + skewMs);

      // Just before the end: still open on both. Then both admit a trial.
      for (const clock of [clockA, clockB, storeClock]) clock.advance(OPEN_MS - 1);
      expect(b.snapshot().retryAfterMs).toBe(1);
      expect(() => b.executeSync(() => 'ok')).toThrow(/open/);
      for (const clock of [clockA, clockB, storeClock]) clock.advance(1);
      expect(b.snapshot().retryAfterMs).toBe(0);
      expect(a.snapshot().retryAfterMs).toBe(0);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
