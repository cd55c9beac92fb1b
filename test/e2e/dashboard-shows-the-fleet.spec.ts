/**
 * The dashboard's instances area shows the fleet: this instance first, then every other live
 * instance of the fleet view (the store's heartbeats), each with its view of each breaker. Read on
 * the sample timer while a page watches, never on a call's path.
 */
import 'reflect-metadata';
import { afterEach, expect, test } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CircuitBreakerModule, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';
import type { DashboardSnapshotEvent } from '../../lib/dashboard/index.js';
import { storeOfOwnProcess } from '../support/store-per-process.js';
import { tripFast } from './helpers.js';
import { SseClient, until } from './sse-client.js';

const SYNC_MS = 100;
const apps: INestApplication[] = [];
const clients: SseClient[] = [];
const registries: CircuitBreakerRegistry[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const registry of registries.splice(0)) registry.onModuleDestroy();
  for (const app of apps.splice(0)) await app.close();
});

test('lists this instance, then the other live instances with their view of each breaker', async () => {
  const clock = new ManualClock(1_000_000);
  const shared = new InMemoryCircuitBreakerStore({ clock, syncIntervalMs: SYNC_MS, logger: { warn: () => {}, log: () => {} } });
  const moduleRef = await Test.createTestingModule({
    imports: [
      CircuitBreakerModule.forRoot({ defaults: { clock, store: storeOfOwnProcess(shared) }, breakers: { payments: tripFast() }, logger: false }),
      CircuitBreakerDashboardModule.register({ readOnly: true, clock }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  // Another instance of the service, on the same store.
  const peer = new CircuitBreakerRegistry({ defaults: { clock, store: storeOfOwnProcess(shared) }, breakers: { payments: tripFast() }, logger: false });
  registries.push(peer);
  peer.get('payments');

  const client = await SseClient.open(`${base}/circuit-breakers/events`);
  clients.push(client);
  await client.waitFor('snapshot');
  // Heartbeats go out every 5 sync intervals; the page's sample timer reads the fleet view.
  const twoInstances = () => (client.last.get('instances')?.json as DashboardSnapshotEvent['instances'] | undefined)?.length === 2;
  for (let step = 0; step < 40 && !twoInstances(); step++) {
    clock.advance(SYNC_MS);
    await new Promise(setImmediate);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the stream's bytes reach the client (real socket)
  }
  await until(twoInstances, () => `two instances; got ${JSON.stringify(client.last.get('instances')?.json)}`);
  const instances = client.last.get('instances')!.json as DashboardSnapshotEvent['instances'];
  expect(instances.map((i) => i.self)).toEqual([true, false]);
  expect(instances[1]!.id).toBe(`${instances[0]!.id.split(':')[0]}:${process.pid}`);
  expect(instances[1]!.breakers['payments']).toMatchObject({ state: 'closed', failureRate: 0, store: 'shared' });
});
