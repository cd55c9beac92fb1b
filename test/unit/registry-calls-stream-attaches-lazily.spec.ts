/**
 * CircuitBreakerRegistry.calls$: every breaker's per-call events as one Observable, attached to the
 * breakers (breaker.onCall) only while someone is subscribed, so calls cost nothing otherwise.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import type { CallEvent, CallListener } from '../../lib/index.js';

describe('CircuitBreakerRegistry.calls$', () => {
  /** onCall listeners currently attached, over every breaker. */
  let attached: number;
  let registry: CircuitBreakerRegistry;

  beforeEach(() => {
    attached = 0;
    const onCall = CircuitBreaker.prototype.onCall;
    jest.spyOn(CircuitBreaker.prototype, 'onCall').mockImplementation(function (this: CircuitBreaker, listener: CallListener) {
      attached++;
      const off = onCall.call(this, listener);
      let done = false;
      return () => {
        if (!done) attached--;
        done = true;
        off();
      };
    });
    registry = new CircuitBreakerRegistry({
      defaults: { clock: new ManualClock(0), slidingWindow: { type: 'count', size: 4 }, minimumCalls: 2 },
      breakers: { payments: {}, inventory: {} },
      logger: false,
    });
  });

  afterEach(() => {
    registry.onModuleDestroy();
    jest.restoreAllMocks();
  });

  const ok = (name: string) => registry.get(name).executeSync(() => 'ok');
  const fail = (name: string) => {
    try {
      registry.get(name).executeSync(() => {
        throw new Error('down');
      });
    } catch {
      // expected
    }
  };

  it('attaches nothing until someone subscribes', () => {
    ok('payments');
    expect(attached).toBe(0);
  });

  it('delivers every breaker’s call events while subscribed, and detaches when the last subscriber leaves', () => {
    const seen: CallEvent[] = [];
    const first = registry.calls$.subscribe((e) => seen.push(e));
    expect(attached).toBe(2);
    const second = registry.calls$.subscribe(() => undefined);
    expect(attached).toBe(2); // one listener per breaker, whatever the number of subscribers

    ok('payments');
    fail('inventory');
    fail('inventory'); // trips inventory (2 of 2 failed)
    fail('inventory'); // rejected
    expect(seen.map((e) => `${e.name}:${e.kind}`)).toEqual([
      'payments:success',
      'inventory:failure',
      'inventory:failure',
      'inventory:not_permitted',
    ]);

    first.unsubscribe();
    expect(attached).toBe(2);
    ok('payments');
    expect(seen).toHaveLength(4);

    second.unsubscribe();
    expect(attached).toBe(0);
  });

  it('follows breakers created while subscribed, and forgets nothing on resubscription', () => {
    const seen: string[] = [];
    const subscription = registry.calls$.subscribe((e) => seen.push(`${e.name}:${e.kind}`));
    ok('created-later');
    expect(attached).toBe(3);
    subscription.unsubscribe();
    expect(attached).toBe(0);

    ok('created-later');
    registry.get('created-while-nobody-listens');
    expect(attached).toBe(0);

    const again = registry.calls$.subscribe((e) => seen.push(`${e.name}:${e.kind}`));
    expect(attached).toBe(4);
    ok('created-while-nobody-listens');
    expect(seen).toEqual(['created-later:success', 'created-while-nobody-listens:success']);
    again.unsubscribe();
    expect(attached).toBe(0);
  });

  it('detaches a breaker the registry forgets', () => {
    const subscription = registry.calls$.subscribe(() => undefined);
    registry.get('unused');
    expect(attached).toBe(3);
    registry.forget('unused');
    expect(attached).toBe(2);
    subscription.unsubscribe();
    expect(attached).toBe(0);
  });

  it('completes its subscribers and detaches when the application closes', () => {
    let completed = 0;
    registry.calls$.subscribe({ complete: () => completed++ });
    expect(attached).toBe(2);
    registry.onModuleDestroy();
    expect(completed).toBe(1);
    expect(attached).toBe(0);
  });
});
