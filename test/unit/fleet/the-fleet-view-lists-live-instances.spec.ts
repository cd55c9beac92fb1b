/**
 * The fleet view: each instance writes a heartbeat (id, host, pid, each breaker's state and rates)
 * every 5 sync intervals, living 3 heartbeat intervals; `registry.fleet()` lists the live ones,
 * this instance first and marked `self`. An instance that stops leaves the view at once; one that
 * crashed leaves it when its heartbeat expires. Heartbeats are sent by the sync timer, never by a call.
 */
import 'reflect-metadata';
import { afterEach, expect, test } from '@jest/globals';
import { CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../../lib/index.js';
import { storeOfOwnProcess } from '../../support/store-per-process.js';
import { turns } from '../../support/waiting.js';

const SYNC_MS = 100;
const HEARTBEAT_MS = 5 * SYNC_MS;

const registries: CircuitBreakerRegistry[] = [];
afterEach(() => {
  for (const registry of registries.splice(0)) registry.onModuleDestroy();
});

function setup() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new InMemoryCircuitBreakerStore({ clock, syncIntervalMs: SYNC_MS, logger: { warn: () => {}, log: () => {} } });
  const app = () => {
    const registry = new CircuitBreakerRegistry({ defaults: { clock, store: storeOfOwnProcess(store) }, breakers: { payments: { minimumCalls: 2 }, inventory: {} }, logger: false });
    registries.push(registry);
    registry.get('payments');
    registry.get('inventory');
    return registry;
  };
  const pass = async (ms: number) => {
    for (let left = ms; left > 0; left -= SYNC_MS) {
      clock.advance(SYNC_MS);
      await turns();
    }
  };
  return { clock, store, app, pass };
}

test("lists every live instance with its view of each breaker, this instance first", async () => {
  const { app, pass } = setup();
  const a = app();
  const b = app();
  for (let i = 0; i < 2; i++) {
    try {
      a.get('payments').executeSync(() => {
        throw new Error('down');
      });
    } catch {
      // failing calls open A's (and then the fleet's) payments breaker
    }
  }
  await pass(2 * HEARTBEAT_MS); // a heartbeat reflects the state at its last beat (at most one interval old)
  const view = await a.fleet();
  expect(view.unreachableStores).toBe(0);
  expect(view.instances).toHaveLength(2);
  const [self, peer] = view.instances;
  expect(self).toMatchObject({ self: true, pid: process.pid });
  expect(peer).toMatchObject({ self: false });
  expect(self!.id).not.toBe(peer!.id);
  expect(self!.breakers.payments).toMatchObject({ state: 'open', failureRate: 100, calls: 2, store: 'shared' });
  expect(peer!.breakers.payments).toMatchObject({ state: 'open', calls: 0 });
  expect(self!.breakers.inventory).toMatchObject({ state: 'closed' });
  expect(self!.ageMs).toBeLessThan(HEARTBEAT_MS);
  // Seen the same way from the other instance.
  expect((await b.fleet()).instances.map((i) => i.self)).toEqual([true, false]);
});

test('an instance that stops leaves at once; one that crashed leaves when its heartbeat expires', async () => {
  const { store, app, pass } = setup();
  const a = app();
  const b = app();
  await pass(HEARTBEAT_MS);
  await store.heartbeat({ id: 'crashed:1:x', host: 'gone', pid: 1, breakers: {} }, 3 * HEARTBEAT_MS);
  expect((await a.fleet()).instances).toHaveLength(3);

  b.onModuleDestroy();
  registries.splice(registries.indexOf(b), 1);
  await turns();
  expect((await a.fleet()).instances.map((i) => i.id)).toContain('crashed:1:x');
  expect((await a.fleet()).instances).toHaveLength(2);

  await pass(3 * HEARTBEAT_MS);
  const left = await a.fleet();
  expect(left.instances).toHaveLength(1);
  expect(left.instances[0]!.self).toBe(true);
});

test('breakers without a store: an empty view', async () => {
  const registry = new CircuitBreakerRegistry({ breakers: { payments: {} }, logger: false });
  registries.push(registry);
  registry.get('payments');
  expect(await registry.fleet()).toEqual({ instances: [], unreachableStores: 0 });
});
