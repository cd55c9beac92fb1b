/**
 * execute(fn) with a native promise and no timeoutMs hands back fn's own promise: the breaker's
 * reaction is registered first, so the outcome is recorded (and listeners have run) before the
 * caller resumes, with no promise of ours in between (docs/engine.md, "What execute returns").
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { CircuitState } from '../../../lib/index.js';
import { realProcess, spyOnUnhandledRejections } from '../../stress/helpers.js';
import type { RejectionSpy } from '../../stress/helpers.js';
import { flush, setup } from './helpers.js';

describe('execute(fn) with a native promise', () => {
  it('returns the very promise fn returned, closed or half-open', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1_000 });
    const own = Promise.resolve('a');
    expect(breaker.execute(() => own)).toBe(own);
    await own;
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    const trial = new Promise<string>(() => {}); // still running: the circuit stays half-open
    expect(breaker.execute(() => trial)).toBe(trial);
    expect(breaker.state).toBe('half_open');
  });

  it('returns fn\'s own promise with slow-call tracking too (a start is read), and times it', async () => {
    const { breaker, clock } = setup({ slowCallDurationMs: 100 });
    let settle!: (value: string) => void;
    const own = new Promise<string>((resolve) => (settle = resolve));
    expect(breaker.execute(() => own)).toBe(own);
    clock.advance(150);
    settle('late');
    await own;
    expect(breaker.snapshot()).toMatchObject({ calls: 1, slowCalls: 1, failures: 0 });
  });

  it('with timeoutMs, hands back a promise of its own (it may reject before fn\'s settles)', () => {
    const { breaker } = setup({ timeoutMs: 1_000 });
    const own = new Promise<string>(() => {});
    const returned = breaker.execute(() => own);
    expect(returned).not.toBe(own);
    breaker.dispose();
    returned.catch(() => undefined);
  });

  it('records a success before the awaiting caller resumes (a half-open trial has closed the circuit)', async () => {
    const { breaker, clock } = setup({ consecutiveFailureThreshold: 1, openDurationMs: 1_000, halfOpenMaxCalls: 1 });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    clock.advance(1_000); // the next call is the trial
    let seen: CircuitState | undefined;
    await breaker.execute(async () => 'ok').then(() => {
      seen = breaker.state;
    });
    expect(seen).toBe('closed');
  });

  it('records a failure before the awaiting caller resumes: the catch sees the circuit open and the state listener has run', async () => {
    const { breaker, events } = setup({ consecutiveFailureThreshold: 2 });
    await breaker.execute(() => Promise.reject(new Error('1'))).catch(() => undefined);
    let seen: { state: CircuitState; transitions: number } | undefined;
    try {
      await breaker.execute(() => Promise.reject(new Error('2')));
    } catch {
      seen = { state: breaker.state, transitions: events.length };
    }
    expect(seen).toEqual({ state: 'open', transitions: 1 });
  });

  it('a success with isResultFailure counts as failed, and the caller still gets the value', async () => {
    const { breaker } = setup({ isResultFailure: (value) => value === 'bad' });
    await expect(breaker.execute(async () => 'bad')).resolves.toBe('bad');
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1 });
  });

  describe('a failure nobody awaits', () => {
    let spy: RejectionSpy;
    beforeEach(() => {
      spy = spyOnUnhandledRejections();
    });
    afterEach(() => spy.stop());

    it('is recorded and emitted as a call event, and reaches Node as no unhandled rejection', async () => {
      const { breaker } = setup();
      const kinds: string[] = [];
      breaker.onCall((event) => kinds.push(event.kind));
      void breaker.execute(() => Promise.reject(new Error('fire and forget')));
      await flush();
      // Node reports unhandled rejections from its own tick after the microtasks drained.
      await new Promise((resolve) => realProcess().nextTick(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect({ kinds, failures: breaker.snapshot().failures, unhandled: spy.seen.length }).toEqual({ kinds: ['failure'], failures: 1, unhandled: 0 });
    });

    it('with slowCallDurationMs set, an ignored failure is still recorded and reaches Node as no unhandled rejection', async () => {
      const { breaker } = setup({ slowCallDurationMs: 100 });
      void breaker.execute(() => Promise.reject(new Error('fire and forget')));
      await flush();
      await new Promise((resolve) => setImmediate(resolve));
      expect({ failures: breaker.snapshot().failures, unhandled: spy.seen.length }).toEqual({ failures: 1, unhandled: 0 });
    });

    it('a listener that throws while the outcome is recorded is contained (no unhandled rejection, reported once)', async () => {
      const { breaker } = setup({ consecutiveFailureThreshold: 1 });
      const internal: string[] = [];
      breaker.onInternalError = (_error, where) => internal.push(where);
      breaker.onStateChange(() => {
        throw new Error('listener broke');
      });
      await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
      await new Promise((resolve) => setImmediate(resolve));
      expect({ state: breaker.state, unhandled: spy.seen.length, reported: internal.length }).toEqual({ state: 'open', unhandled: 0, reported: 1 });
    });
  });
});
