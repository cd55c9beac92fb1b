// A listener that reads the caller's async context (a tracer's active span, a request-scoped store)
// must see the context of the call an event is about. Timeouts are the case to watch: one timer per
// breaker serves every call's deadline, and it fires in the context of whichever call armed it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from '@jest/globals';
import type { CallEvent, StateChangeEvent } from '../../../lib/index.js';
import { setup } from './helpers.js';

const request = new AsyncLocalStorage<string>();
const hang = (): Promise<never> => new Promise<never>(() => undefined);

describe('call events and the async context', () => {
  it('deliver the timeout of each timed call in the context the call started in, not the one that armed the shared timer', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100, minimumCalls: 100 });
    const seen: string[] = [];
    breaker.onCall((event: CallEvent) => seen.push(`${event.kind} in ${request.getStore() ?? 'no request'}`));

    // Request A arms the breaker's deadline timer; B and C queue behind it on the same timer.
    const a = request.run('A', () => breaker.execute(hang)).catch(() => undefined);
    clock.advance(10);
    const b = request.run('B', () => breaker.execute(hang)).catch(() => undefined);
    const c = request.run('C', () => breaker.execute(hang)).catch(() => undefined);
    request.run('the test', () => clock.advance(200));
    await Promise.all([a, b, c]);

    expect(seen).toEqual(['timeout in A', 'timeout in B', 'timeout in C']);
  });

  it('run the state-change listeners of a trip caused by a timeout in that call’s context', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100, consecutiveFailureThreshold: 2, minimumCalls: 100 });
    breaker.onCall(() => undefined); // someone listens to calls (the tracer does)
    const trips: string[] = [];
    breaker.onStateChange((event: StateChangeEvent) => trips.push(`${event.from} -> ${event.to} in ${request.getStore() ?? 'no request'}`));

    const a = request.run('A', () => breaker.execute(hang)).catch(() => undefined);
    clock.advance(50);
    const b = request.run('B', () => breaker.execute(hang)).catch(() => undefined);
    clock.advance(200);
    await Promise.all([a, b]);

    expect(trips).toEqual(['closed -> open in B']); // B's timeout was the second failure in a row
  });

  it('deliver the other outcomes in the caller’s context too (promise reactions, rejections)', async () => {
    const { breaker } = setup({ consecutiveFailureThreshold: 1, minimumCalls: 100 });
    const seen: string[] = [];
    breaker.onCall((event) => seen.push(`${event.kind} in ${request.getStore() ?? 'no request'}`));

    await request.run('A', () => breaker.execute(async () => 'ok'));
    await request.run('B', () => breaker.execute(async () => Promise.reject(new Error('down')))).catch(() => undefined);
    await request.run('C', () => breaker.execute(async () => 'ok')).catch(() => undefined);

    expect(seen).toEqual(['success in A', 'failure in B', 'not_permitted in C']);
  });

  it('capture no context while nobody listens to calls (the timeout still fires)', async () => {
    const { breaker, clock } = setup({ timeoutMs: 100 });
    const outcome = request.run('A', () => breaker.execute(hang)).then(
      () => 'resolved',
      (error: unknown) => (error as Error).name,
    );
    clock.advance(100);
    expect(await outcome).toBe('CircuitBreakerTimeoutError');
    expect(breaker.totals().timeoutCalls).toBe(1);
  });
});
