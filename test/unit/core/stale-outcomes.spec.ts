import { describe, expect, it } from '@jest/globals';
import type { CallEvent } from '../../../lib/index.js';
import { failSync, flush, pendingCall, setup } from './helpers.js';

const settings = { consecutiveFailureThreshold: 1, openDurationMs: 1000, minimumCalls: 100 } as const;

describe('stale outcomes', () => {
  it('a call admitted in closed that fails after the circuit opened does not count again or re-open', async () => {
    const { breaker, clock, events } = setup(settings);
    const late = pendingCall(breaker);
    failSync(breaker); // opens at t = 0
    clock.advance(400);
    late.deferred.reject(new Error('late failure'));
    await late.call.done;
    expect(late.call.reason).toEqual(new Error('late failure')); // the caller still sees its error
    expect(events).toHaveLength(1);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: 0, retryAfterMs: 600, calls: 1, failures: 1 });
    expect(breaker.totals()).toMatchObject({ openings: 1, failedCalls: 2 }); // totals still count it
  });

  it('a call admitted in closed that succeeds after the breaker went to half_open cannot close it', async () => {
    const { breaker, clock } = setup(settings);
    const late = pendingCall(breaker);
    failSync(breaker);
    clock.advance(1000);
    const trial = pendingCall(breaker); // half_open, the only slot taken
    expect(breaker.state).toBe('half_open');
    late.deferred.resolve('late');
    await late.call.done;
    expect(late.call.value).toBe('late');
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 1 });
    trial.deferred.resolve('trial');
    await trial.call.done;
    expect(breaker.state).toBe('closed');
  });

  it('a call admitted in closed that fails after the breaker went to half_open does not re-open it', async () => {
    const { breaker, clock } = setup(settings);
    const late = pendingCall(breaker);
    failSync(breaker);
    clock.advance(1000);
    pendingCall(breaker);
    late.deferred.reject(new Error('late'));
    await late.call.done;
    expect(breaker.state).toBe('half_open');
  });

  it('a trial admitted before a probe-timeout re-open cannot close the new half_open', async () => {
    const { breaker, clock } = setup({ ...settings, halfOpenProbeTimeoutMs: 200 });
    failSync(breaker);
    clock.advance(1000);
    const hung = pendingCall(breaker); // trial of the first half_open
    clock.advance(200); // probe timeout: open again
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    const fresh = pendingCall(breaker); // trial of the second half_open
    expect(breaker.state).toBe('half_open');
    hung.deferred.resolve('stale success');
    await hung.call.done;
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', halfOpenCallsInFlight: 1 });
    fresh.deferred.resolve('fresh success');
    await fresh.call.done;
    expect(breaker.state).toBe('closed');
  });

  it('a trial admitted before a probe-timeout re-open cannot re-open the new half_open by failing', async () => {
    const { breaker, clock } = setup({ ...settings, halfOpenProbeTimeoutMs: 200 });
    failSync(breaker);
    clock.advance(1000);
    const hung = pendingCall(breaker);
    clock.advance(1200);
    pendingCall(breaker);
    hung.deferred.reject(new Error('stale failure'));
    await hung.call.done;
    expect(breaker.state).toBe('half_open');
    expect(breaker.totals().openings).toBe(2);
  });

  it('a trial admitted before the circuit closed does not count in the new closed window', async () => {
    const { breaker, clock } = setup({ ...settings, halfOpenMaxCalls: 2, consecutiveFailureThreshold: 1 });
    failSync(breaker);
    clock.advance(1000);
    const a = pendingCall(breaker);
    const b = pendingCall(breaker);
    const c = pendingCall(breaker); // rejected: both slots taken
    await c.call.done;
    a.deferred.resolve('a');
    await a.call.done;
    // a reset closes the circuit while b is still in flight
    breaker.reset();
    b.deferred.reject(new Error('stale'));
    await b.call.done;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0, consecutiveFailures: 0 });
  });

  it('a call admitted before forceOpen()+reset() is not recorded in the fresh window', async () => {
    const { breaker } = setup(settings);
    const late = pendingCall(breaker);
    breaker.forceOpen();
    breaker.reset();
    late.deferred.reject(new Error('late'));
    await late.call.done;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0 });
  });

  it('stale outcomes are reported with stale: true', async () => {
    const { breaker } = setup(settings);
    const seen: CallEvent[] = [];
    breaker.onCall((e) => seen.push(e));
    const late = pendingCall(breaker);
    failSync(breaker);
    late.deferred.resolve('late');
    await flush();
    expect(seen.map((e) => [e.kind, e.stale])).toEqual([
      ['failure', false],
      ['success', true],
    ]);
  });
});
