/**
 * When an instance adopts a peer's opening (reason shared_state), its warning line names what
 * opened the circuit as the peer saw it (reason, rates, calls), not its own empty window
 * ("failure rate 0% ... over 0 calls" said nothing true). A fleet-window trip names the fleet's
 * window, not the instance's share of it.
 */
import 'reflect-metadata';
import { afterEach, expect, test } from '@jest/globals';
import { CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../../lib/index.js';
import { turns } from '../../support/waiting.js';
import { capturingNestLogger } from '../../support/loggers.js';

const SYNC_MS = 100;

const registries: CircuitBreakerRegistry[] = [];
afterEach(() => {
  for (const registry of registries.splice(0)) registry.onModuleDestroy();
});

/** Two applications (instances) sharing `payments` through one in-memory store. */
function fleet() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new InMemoryCircuitBreakerStore({ clock, syncIntervalMs: SYNC_MS });
  const settings = { clock, store, slidingWindow: { type: 'count', size: 10 }, minimumCalls: 4, failureRateThreshold: 50, openDurationMs: 5_000 } as const;
  const loggers = [capturingNestLogger(), capturingNestLogger()];
  const [a, b] = loggers.map((logger) => {
    const registry = new CircuitBreakerRegistry({ breakers: { payments: settings }, logger });
    registries.push(registry);
    return registry;
  }) as [CircuitBreakerRegistry, CircuitBreakerRegistry];
  return { clock, a, b, loggers };
}

function failOn(registry: CircuitBreakerRegistry, count: number): void {
  for (let i = 0; i < count; i++) {
    try {
      registry.get('payments').executeSync(() => {
        throw new Error('down');
      });
    } catch {
      // the failure is the point
    }
  }
}

test("the peer's warning names the reason and rates of the instance that opened the circuit", async () => {
  const { a, b, loggers } = fleet();
  await turns(); // each link's first read
  a.get('payments').executeSync(() => 'ok');
  failOn(a, 3); // 3 failures of 4 calls: 75 %
  expect(a.get('payments').state).toBe('open');
  await turns();
  expect(b.get('payments').state).toBe('open');

  expect(loggers[0]!.warns).toEqual([expect.stringMatching(/closed -> open \(failure_rate\): failure rate 75%, slow-call rate 0% over 4 calls; next trial in 5000 ms/)]);
  const adopted = loggers[1]!.warns;
  expect(adopted).toHaveLength(1);
  expect(adopted[0]).toMatch(/closed -> open \(shared_state\): opened by another instance \(failure_rate\): failure rate 75%, slow-call rate 0% over 4 calls; next trial in 5000 ms/);
  expect(adopted[0]).not.toMatch(/over 0 calls/);
});

test("a trip on the fleet's window names the fleet's window, on every instance", async () => {
  const { clock, a, b, loggers } = fleet();
  await turns();
  failOn(a, 2); // each instance alone is below minimumCalls = 4
  failOn(b, 2);
  clock.advance(SYNC_MS);
  await turns();
  clock.advance(SYNC_MS);
  await turns();
  expect(a.get('payments').state).toBe('open');
  expect(b.get('payments').state).toBe('open');
  const lines = [...loggers[0]!.warns, ...loggers[1]!.warns];
  expect(lines.length).toBeGreaterThanOrEqual(2);
  for (const line of lines) {
    expect(line).toMatch(/failure rate 100%, slow-call rate 0% over 4 calls/);
    expect(line).not.toMatch(/over 2 calls/);
  }
});
