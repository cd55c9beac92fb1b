/**
 * Fleet-wide options: `registry.reconfigure(name, settings, { fleet: true })` validates the merged
 * record against this instance's options, writes it to the store under the next version, applies
 * it here, and every other instance adopts it with its next sync (one log line naming version and
 * source); an instance started later begins with it. Precedence: code defaults < module options <
 * fleet record. Options that are code stay local; a bad record is never written.
 */
import 'reflect-metadata';
import { afterEach, expect, test } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../../lib/index.js';
import { turns } from '../../support/waiting.js';
import { capturingNestLogger } from '../../support/loggers.js';

const SYNC_MS = 100;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setup() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new InMemoryCircuitBreakerStore({ clock, syncIntervalMs: SYNC_MS, logger: { warn: () => {}, log: () => {} } });
  const isFailure = (error: unknown) => error instanceof Error;
  const settings = { clock, store, isFailure, failureRateThreshold: 50, openDurationMs: 5_000 } as const;
  const app = (logger = capturingNestLogger()) => {
    const registry = new CircuitBreakerRegistry({ breakers: { payments: settings }, logger });
    cleanups.push(() => registry.onModuleDestroy());
    registry.get('payments');
    return { registry, logger };
  };
  /** Passes sync ticks: every breaker syncs within 5 ticks. */
  const ticks = async (n = 5) => {
    for (let i = 0; i < n; i++) {
      clock.advance(SYNC_MS);
      await turns();
    }
  };
  return { clock, store, app, ticks, isFailure };
}

test('written by one instance, adopted by every other one with a log line naming version and source', async () => {
  const { app, ticks } = setup();
  const a = app();
  const b = app();
  const changes: unknown[] = [];
  b.registry.fleetOptions$.subscribe((change) => changes.push(change));
  await turns();
  const record = await a.registry.reconfigure('payments', { failureRateThreshold: 20, openDurationMs: 30_000 }, { fleet: true, source: 'ops runbook' });
  expect(record).toEqual({ version: 1, settings: { failureRateThreshold: 20, openDurationMs: 30_000 }, source: 'ops runbook' });
  expect(a.registry.get('payments').options.failureRateThreshold).toBe(20);
  expect(b.registry.get('payments').options.failureRateThreshold).toBe(50);
  await ticks();
  const peer = b.registry.get('payments');
  expect(peer.options).toMatchObject({ failureRateThreshold: 20, openDurationMs: 30_000 });
  expect(peer.snapshot().fleetOptionsVersion).toBe(1);
  expect(b.logger.logs).toContainEqual(expect.stringMatching(/"payments": fleet options version 1 \(from ops runbook\) adopted: \{"failureRateThreshold":20,"openDurationMs":30000\}/));
  expect(changes).toEqual([{ name: 'payments', version: 1, source: 'ops runbook', settings: { failureRateThreshold: 20, openDurationMs: 30_000 }, adopted: true }]);
  // Options that are code stay each instance's own.
  expect(peer.options.isFailure).toBeDefined();

  // A second write merges into the record; null removes an option from it.
  const second = await b.registry.reconfigure('payments', { openDurationMs: null, minimumCalls: 4 }, { fleet: true });
  expect(second).toMatchObject({ version: 2, settings: { failureRateThreshold: 20, minimumCalls: 4 } });
  await ticks();
  expect(a.registry.get('payments').options).toMatchObject({ failureRateThreshold: 20, minimumCalls: 4, openDurationMs: 5_000 });
});

test('an instance started later begins with the fleet record, over its module options', async () => {
  const { app, ticks } = setup();
  const a = app();
  await turns();
  await a.registry.reconfigure('payments', { failureRateThreshold: 20 }, { fleet: true });
  const late = app();
  await turns(); // its first read of the store
  expect(late.registry.get('payments').options.failureRateThreshold).toBe(20);
  // A local reconfigure changes the instance's own options; the fleet record stays on top.
  late.registry.reconfigure('payments', { failureRateThreshold: 70, minimumCalls: 7 });
  expect(late.registry.get('payments').options).toMatchObject({ failureRateThreshold: 20, minimumCalls: 7 });
  await ticks();
  expect(late.registry.get('payments').options.failureRateThreshold).toBe(20);
});

test.each([
  ['an invalid value', { failureRateThreshold: 0 }, 'failureRateThreshold'],
  ['an option that is code', { isFailure: () => true }, 'isFailure'],
  ['a value JSON cannot carry', { openDurationMs: Number.POSITIVE_INFINITY }, 'openDurationMs'],
  ['an unknown option', { failureRate: 20 }, 'failureRate'],
  ['options invalid together', { timeoutMs: 1_000, halfOpenProbeTimeoutMs: 500 }, 'halfOpenProbeTimeoutMs'],
])('%s is refused with a CircuitBreakerConfigError and never written', async (_kind, settings, option) => {
  const { app, ticks, store } = setup();
  const a = app();
  const b = app();
  await turns();
  const error = await a.registry.reconfigure('payments', settings as Record<string, unknown>, { fleet: true }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CircuitBreakerConfigError);
  expect((error as CircuitBreakerConfigError).breakerName).toBe('payments');
  expect((error as CircuitBreakerConfigError).message).toContain(option);
  await ticks();
  expect((await store.sync([{ name: 'payments', nowMs: 0, delta: { calls: 0, failures: 0, slowCalls: 0 }, window: { bucketMs: 1000, buckets: 1, countLimit: 0 } }]))[0]!.options).toBeUndefined();
  expect(b.registry.get('payments').options.failureRateThreshold).toBe(50);
  expect(a.registry.get('payments').snapshot().fleetOptionsVersion).toBeUndefined();
});

test('a breaker without a store cannot be reconfigured fleet-wide', async () => {
  const registry = new CircuitBreakerRegistry({ breakers: { local: {} }, logger: false });
  cleanups.push(() => registry.onModuleDestroy());
  registry.get('local');
  await expect(registry.reconfigure('local', { failureRateThreshold: 20 }, { fleet: true })).rejects.toThrow(/store that keeps fleet options/);
});

test('a record a peer cannot apply (invalid with its own options) is refused there with one warning', async () => {
  const { clock, store, app, ticks } = setup();
  const a = app();
  const logs: string[] = [];
  const strict = new CircuitBreaker({ name: 'payments', clock, store, timeoutMs: 1_000, halfOpenProbeTimeoutMs: 2_000 });
  cleanups.push(() => strict.dispose());
  store.logger = { warn: (m) => void logs.push(m), log: () => {} };
  await turns();
  await a.registry.reconfigure('payments', { halfOpenProbeTimeoutMs: 500 }, { fleet: true });
  await ticks();
  expect(strict.options.halfOpenProbeTimeoutMs).toBe(2_000);
  expect(logs).toEqual([expect.stringMatching(/fleet options version 1 .* not adopted, this instance keeps its options/)]);
});
