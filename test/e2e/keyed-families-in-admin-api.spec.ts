// The admin API with families of keyed breakers: keys listed (family:key), a family's summary, one
// key's snapshot and manual control, every key reset, the family reconfigured; nothing is created
// by a request for an unknown key.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { CircuitBreakerAdminModule, CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerAdminFamily, CircuitBreakerSnapshot } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

const apps = new Apps();
afterEach(() => apps.closeAll());

async function setup() {
  const clock = new ManualClock();
  const app = apps.track(
    await startApp({
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { clock, consecutiveFailureThreshold: 1 },
          breakers: { payments: {} },
          families: { hosts: { maxKeys: 10 } },
        }),
        CircuitBreakerAdminModule.register({ path: 'admin' }),
      ],
    }),
  );
  const registry = app.get(CircuitBreakerRegistry);
  const hosts = registry.family('hosts');
  hosts.get('a.example');
  await hosts.execute('b.example', () => Promise.reject(new Error('down'))).catch(() => undefined);
  return { server: app.getHttpServer(), registry, hosts };
}

const json = { 'content-type': 'application/json' };

describe('families in the admin API', () => {
  it('GET / lists every key as family:key beside the named breakers', async () => {
    const { server } = await setup();
    const body = (await request(server).get('/admin').expect(200)).body as CircuitBreakerSnapshot[];
    expect(body.map((s) => [s.name, s.state])).toEqual([
      ['hosts:a.example', 'closed'],
      ['hosts:b.example', 'open'],
      ['payments', 'closed'],
    ]);
  });

  it('GET /:family answers its summary and each key, GET /:family:key one key', async () => {
    const { server } = await setup();
    const family = (await request(server).get('/admin/hosts').expect(200)).body as CircuitBreakerAdminFamily;
    expect(family).toMatchObject({ family: true, name: 'hosts', keys: 2, maxKeys: 10, idleTtlMs: 600_000, openKeys: ['b.example'], openKeyCount: 1 });
    expect(family.breakers.map((s) => s.name)).toEqual(['hosts:a.example', 'hosts:b.example']);
    await request(server).get('/admin/hosts:b.example').expect(200).expect((res) => expect(res.body).toMatchObject({ name: 'hosts:b.example', state: 'open' }));
    await request(server).get('/admin/hosts:c.example').expect(404);
  });

  it('controls one key, resets every key, and creates nothing for an unknown key', async () => {
    const { server, hosts } = await setup();
    await request(server).post('/admin/hosts:a.example/force-open').set(json).send({}).expect(200);
    expect(hosts.find('a.example')?.state).toBe('forced_open');
    await request(server).post('/admin/hosts:zzz/reset').set(json).send({}).expect(404);
    expect(hosts.has('zzz')).toBe(false);
    const reset = (await request(server).post('/admin/hosts/reset').set(json).send({}).expect(200)).body as CircuitBreakerAdminFamily;
    expect(reset.states.closed).toBe(2);
    expect(hosts.breakers().map((b) => b.state)).toEqual(['closed', 'closed']);
    const refused = await request(server).post('/admin/hosts/force-open').set(json).send({}).expect(400);
    expect((refused.body as { message: string }).message).toContain('POST hosts:<key>/force-open');
  });

  it('reconfigures the family (every key, and its limits), never a single key', async () => {
    const { server, hosts } = await setup();
    await request(server).post('/admin/hosts/reconfigure').set(json).send({ timeoutMs: 250, maxKeys: 20 }).expect(200);
    expect(hosts.find('a.example')?.options.timeoutMs).toBe(250);
    expect(hosts.get('new.example').options.timeoutMs).toBe(250);
    expect(hosts.maxKeys).toBe(20);
    const one = await request(server).post('/admin/hosts:a.example/reconfigure').set(json).send({ timeoutMs: 1 }).expect(400);
    expect((one.body as { message: string }).message).toContain('reconfigure the family (POST hosts/reconfigure)');
    const bad = await request(server).post('/admin/hosts/reconfigure').set(json).send({ maxKeys: 0 }).expect(400);
    expect(bad.body).toMatchObject({ option: 'maxKeys' });
    expect(hosts.maxKeys).toBe(20);
    await request(server).post('/admin/payments/reconfigure').set(json).send({ maxKeys: 5 }).expect(400);
  });

  it('a lower maxKeys trims the family at once: the least recently used closed keys go, the open one stays', async () => {
    const { server, hosts } = await setup();
    hosts.get('c.example');
    hosts.get('d.example');
    expect(hosts.size).toBe(4);
    await request(server).post('/admin/hosts/reconfigure').set(json).send({ maxKeys: 2 }).expect(200);
    expect(hosts.keys().sort()).toEqual(['b.example', 'd.example']);
  });
});
