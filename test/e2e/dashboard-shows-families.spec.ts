/**
 * Families of keyed breakers on the dashboard's event stream, over real HTTP: one row per family
 * (keys per state, open keys up to 20, how many in all) in the snapshot and, live, as a `families`
 * event at the next flush after a key changes; a family's keys never get a card (`breaker` event)
 * of their own. The dashboard's timers run on a ManualClock.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerFamily } from '../../lib/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';
import type { DashboardBreakerView, DashboardFamilyView, DashboardSnapshotEvent } from '../../lib/dashboard/index.js';
import { MIN_FLUSH_INTERVAL_MS } from '../../lib/dashboard/circuit-breaker-dashboard.options.js';
import { SseClient, until } from './sse-client.js';

const fail = (family: CircuitBreakerFamily, key: string) => family.execute(key, () => Promise.reject(new Error('down'))).catch(() => undefined);
const succeed = (family: CircuitBreakerFamily, key: string) => family.execute(key, () => Promise.resolve('ok'));

describe('the dashboard shows families of keyed breakers', () => {
  const apps: INestApplication[] = [];
  const clients: SseClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const app of apps.splice(0)) await app.close();
  });

  async function setup() {
    const clock = new ManualClock(1_000_000);
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({
          logger: false,
          defaults: { clock },
          breakers: { payments: {} },
          families: { shards: { consecutiveFailureThreshold: 1, openDurationMs: 30_000, maxKeys: 100, idleTtlMs: 60_000 }, tenants: {} },
        }),
        CircuitBreakerDashboardModule.register({ readOnly: true, clock }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
    const open = async () => {
      const client = await SseClient.open(`${base}/circuit-breakers/events`);
      clients.push(client);
      return client;
    };
    const shards = app.get(CircuitBreakerRegistry).family('shards');
    return { app, clock, open, shards, flush: () => clock.advance(MIN_FLUSH_INTERVAL_MS) };
  }

  const row = (families: DashboardFamilyView[], name: string) => families.find((f) => f.name === name);

  it('the snapshot has one row per family, by name, and no card for a key', async () => {
    const { open, shards } = await setup();
    await succeed(shards, 'shard-1');
    await succeed(shards, 'shard-2');
    await fail(shards, 'shard-3');
    const client = await open();
    const snapshot = (await client.waitFor('snapshot')).json as DashboardSnapshotEvent;
    expect(snapshot.families.map((f) => f.name)).toEqual(['shards', 'tenants']);
    expect(row(snapshot.families, 'shards')).toEqual({
      name: 'shards',
      keys: 3,
      maxKeys: 100,
      states: { closed: 2, open: 1, half_open: 0, forced_open: 0, disabled: 0, metrics_only: 0 },
      openKeys: ['shard-3'],
      openKeyCount: 1,
    });
    expect(row(snapshot.families, 'tenants')).toMatchObject({ keys: 0, maxKeys: 1000, openKeys: [], openKeyCount: 0 });
    expect(snapshot.breakers.map((b) => b.name)).toEqual(['payments']);
  });

  it('a key that opens, then closes, updates its family row live at the next flush', async () => {
    const { open, shards, flush, clock } = await setup();
    await succeed(shards, 'a');
    const client = await open();
    await client.waitFor('snapshot');

    await fail(shards, 'b');
    flush();
    const opened = (await client.waitFor('families')).json as DashboardFamilyView[];
    expect(row(opened, 'shards')).toMatchObject({ keys: 2, openKeys: ['b'], openKeyCount: 1, states: { closed: 1, open: 1 } });

    clock.advance(30_000); // open duration over: the next call is a trial
    await succeed(shards, 'b');
    flush();
    const closed = (await client.waitFor('families', 2)).json as DashboardFamilyView[];
    expect(row(closed, 'shards')).toMatchObject({ keys: 2, openKeys: [], openKeyCount: 0, states: { closed: 2, open: 0 } });
    // A key never gets a card of its own.
    expect(client.ofType('breaker').map((e) => (e.json as DashboardBreakerView).name).filter((name) => name.includes(':'))).toEqual([]);
  });

  it('lists at most 20 open keys, sorted, and says how many there are', async () => {
    const { open, shards, flush } = await setup();
    const client = await open();
    await client.waitFor('snapshot');
    for (let i = 0; i < 25; i++) await fail(shards, `k${String(i).padStart(2, '0')}`);
    flush();
    await until(() => row((client.last.get('families')?.json as DashboardFamilyView[] | undefined) ?? [], 'shards')?.openKeyCount === 25, () => 'the 25 open keys');
    const shown = row(client.last.get('families')!.json as DashboardFamilyView[], 'shards')!;
    expect(shown.openKeys).toHaveLength(20);
    expect(shown.openKeys[0]).toBe('k00');
    expect(shown.openKeys[19]).toBe('k19');
    expect(shown.states.open).toBe(25);
  });

  it('retired keys leave the row after the sample that follows', async () => {
    const { open, shards, flush, clock } = await setup();
    await succeed(shards, 'idle');
    const client = await open();
    await client.waitFor('snapshot');
    clock.advance(75_000); // past idleTtlMs and the sweep after it; samples run meanwhile
    expect(shards.size).toBe(0);
    flush();
    await until(() => row((client.last.get('families')?.json as DashboardFamilyView[] | undefined) ?? [], 'shards')?.keys === 0, () => 'the idle key to leave the row');
  });

  it('the page has a families section, hidden until a family exists', async () => {
    const { app } = await setup();
    const page = await request(app.getHttpServer()).get('/circuit-breakers').expect(200);
    expect(page.text).toContain('id="families-section"');
    expect(page.text).toContain('Families of keyed breakers');
  });
});
