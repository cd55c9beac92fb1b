/**
 * The dashboard's event stream over real HTTP, without a browser: its format, what a change sends
 * and how changes are coalesced, samples, heartbeats, reconnects, a client that stops reading, 100
 * viewers at once, and a clean stop on app.close(), on Express and Fastify. The dashboard's timers
 * run on a ManualClock; the only waits are for bytes to cross a socket.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { request } from 'node:http';
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Injectable } from '@nestjs/common';
import type { CanActivate, INestApplication, LoggerService } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CircuitBreakerModule, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import type { CircuitBreaker, CircuitBreakerSettings } from '../../lib/index.js';
import type { SyncReply, SyncRequest } from '../../lib/store/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';
import type { CircuitBreakerDashboardOptions, DashboardBreakerView, DashboardSampleEvent, DashboardSnapshotEvent, DashboardTransition } from '../../lib/dashboard/index.js';
import { HEARTBEAT_INTERVAL_MS, MIN_FLUSH_INTERVAL_MS, RECONNECT_DELAY_MS, STALL_LIMIT_MS, TRANSITIONS_PER_BREAKER } from '../../lib/dashboard/circuit-breaker-dashboard.options.js';
import { DashboardHub } from '../../lib/dashboard/dashboard-hub.js';
import { tripFast } from './helpers.js';
import { SseClient, until } from './sse-client.js';
import type { SseClientOptions } from './sse-client.js';

/** Holds each request until the test opens the gate, like a slow authentication backend. */
@Injectable()
class GateGuard implements CanActivate {
  static entered = 0;
  static open: () => void = () => undefined;
  canActivate(): Promise<boolean> {
    GateGuard.entered++;
    return new Promise((resolve) => (GateGuard.open = () => resolve(true)));
  }
}

/** A store that can stop answering, like a Redis that went away. */
class UnreliableStore extends InMemoryCircuitBreakerStore {
  down = false;
  override sync(requests: readonly SyncRequest[]): Promise<readonly SyncReply[]> {
    return this.down ? Promise.reject(new Error('store down')) : super.sync(requests);
  }
  override ping(): Promise<void> {
    return this.down ? Promise.reject(new Error('store down')) : super.ping();
  }
}

const fail = (breaker: CircuitBreaker) => breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
const succeed = (breaker: CircuitBreaker) => breaker.execute(() => Promise.resolve('ok'));

describe('dashboard event stream', () => {
  const apps: INestApplication[] = [];
  const clients: SseClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const app of apps.splice(0)) await app.close();
  });

  async function setup(
    options: {
      breakers?: Record<string, CircuitBreakerSettings>;
      dashboard?: CircuitBreakerDashboardOptions;
      fastify?: boolean;
      clock?: ManualClock;
      logger?: LoggerService;
    } = {},
  ) {
    const clock = options.clock ?? new ManualClock(1_000_000);
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: options.breakers ?? { payments: tripFast(), inventory: {} }, logger: options.logger ?? false }),
        CircuitBreakerDashboardModule.register({ readOnly: true, clock, ...options.dashboard }),
      ],
    }).compile();
    const app = options.fastify ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
    const registry = app.get(CircuitBreakerRegistry);
    const hub = app.get(DashboardHub);
    const open = async (clientOptions?: SseClientOptions) => {
      const client = await SseClient.open(`${base}/circuit-breakers/events`, clientOptions);
      clients.push(client);
      return client;
    };
    /** Lets the coalescing timer fire: at most one batch per MIN_FLUSH_INTERVAL_MS. */
    const flush = () => clock.advance(MIN_FLUSH_INTERVAL_MS);
    /** Waits until every stream's client has taken what was written to it (real sockets). */
    const drained = () => until(() => hub.stats().bufferedBytes === 0 && hub.stats().congestedViewers === 0, () => `the clients to read; ${JSON.stringify(hub.stats())}`);
    // has() first: get() would build a breaker for a name these breakers do not declare
    const payments = registry.has('payments') ? registry.get('payments') : (undefined as unknown as CircuitBreaker);
    return { app, clock, registry, hub, open, flush, drained, base, payments };
  }

  const views = (client: SseClient, name: string) =>
    client.ofType('breaker').map((e) => e.json as DashboardBreakerView).filter((view) => view.name === name);

  it('answers text/event-stream: a retry field, then a snapshot of every breaker with its thresholds, history, transitions and this instance', async () => {
    const { open, clock, payments } = await setup();
    clock.advance(1_000); // a second sample
    const client = await open();
    const snapshot = (await client.waitFor('snapshot')).json as DashboardSnapshotEvent;

    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.retryMs).toBe(RECONNECT_DELAY_MS);
    expect(snapshot).toMatchObject({ version: 1, sampleIntervalMs: 1_000, historyMs: 300_000, sampleTimes: [1_000_000, 1_001_000] });
    expect(snapshot.breakers.map((b) => b.name).sort()).toEqual(['inventory', 'payments']);
    const view = snapshot.breakers.find((b) => b.name === 'payments')!;
    expect(view).toMatchObject({
      state: 'closed',
      failureRate: 0,
      calls: 0,
      thresholds: { failureRateThreshold: 50, minimumCalls: 2, openDurationMs: 10_000, slidingWindow: { type: 'count', size: 10 } },
      transitions: [],
    });
    expect(view.thresholds.slowCallRateThreshold).toBeUndefined(); // slow calls are not tracked
    expect(view.history.failureRate).toEqual([0, 0]);
    expect(view.history.successful).toEqual([null, 0]); // no rate before a second sample
    expect(snapshot.instances).toEqual([
      {
        id: snapshot.instanceId,
        self: true,
        breakers: { payments: { state: 'closed', failureRate: 0, slowCallRate: 0 }, inventory: { state: 'closed', failureRate: 0, slowCallRate: 0 } },
      },
    ]);
    expect(snapshot.instanceId).toMatch(new RegExp(`:${process.pid}$`));
    void payments;
  });

  it('sends a trip at the next flush: the breaker with its countdown, the transition with its reason and rates, and the instances', async () => {
    const { open, flush, payments } = await setup();
    const client = await open();
    await client.waitFor('snapshot');

    await fail(payments);
    await fail(payments); // 2 of 2: trips
    flush();
    const view = (await client.waitFor('breaker')).json as DashboardBreakerView;
    const transitions = (await client.waitFor('transitions')).json as DashboardTransition[];
    const instances = (await client.waitFor('instances')).json as DashboardSnapshotEvent['instances'];

    expect(view).toMatchObject({ name: 'payments', state: 'open', failureRate: 100, calls: 2, retryAfterMs: 10_000, openings: 1 });
    expect(transitions).toEqual([
      { id: 1, name: 'payments', from: 'closed', to: 'open', reason: 'failure_rate', at: 1_000_000, failureRate: 100, slowCallRate: 0, calls: 2 },
    ]);
    expect(instances[0]!.breakers['payments']).toEqual({ state: 'open', failureRate: 100, slowCallRate: 0 });
    expect(views(client, 'inventory')).toEqual([]); // unchanged breakers are not resent
  });

  it('coalesces: 40 transitions within one flush interval are one breaker event (the latest state) and one transitions event', async () => {
    const { open, flush, payments, clock } = await setup();
    const client = await open();
    await client.waitFor('snapshot');
    flush(); // the first flush after connecting; the next is MIN_FLUSH_INTERVAL_MS later

    for (let i = 0; i < 20; i++) {
      payments.forceOpen();
      payments.reset();
    }
    payments.forceOpen();
    clock.advance(MIN_FLUSH_INTERVAL_MS - 1);
    expect(client.ofType('transitions')).toEqual([]); // nothing before the interval is over
    clock.advance(1);
    const transitions = (await client.waitFor('transitions')).json as DashboardTransition[];

    expect(transitions).toHaveLength(41);
    expect(transitions.map((t) => t.id)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(views(client, 'payments').map((v) => v.state)).toEqual(['forced_open']);
  });

  it('sends a breaker that changes all the time at most once per MIN_FLUSH_INTERVAL_MS, always its latest state', async () => {
    const { open, clock, payments, drained } = await setup();
    const client = await open();
    await client.waitFor('snapshot');
    const durationMs = 3_000;
    for (let ms = 0; ms < durationMs; ms += 10) {
      if (ms % 20 === 0) payments.forceOpen();
      else payments.reset();
      clock.advance(10);
      if (ms % MIN_FLUSH_INTERVAL_MS === 0) await drained(); // the client keeps up, as a page would
    }
    clock.advance(MIN_FLUSH_INTERVAL_MS); // the flush carrying the last sample
    await client.waitFor('sample', durationMs / 1_000);
    await until(() => views(client, 'payments').at(-1)?.state === 'closed', () => 'the last state (closed)');
    const sent = views(client, 'payments').length;
    // one flush at the first change, then one per interval: 300 changes become at most 13 events
    expect(sent).toBeLessThanOrEqual(durationMs / MIN_FLUSH_INTERVAL_MS + 1);
    expect(sent).toBeGreaterThanOrEqual(durationMs / MIN_FLUSH_INTERVAL_MS - 1);
  });

  it('samples every sampleIntervalMs: rates and calls per second by outcome, from the totals', async () => {
    const { open, clock, payments } = await setup({ breakers: { payments: { ...tripFast({ minimumCalls: 10 }), timeoutMs: 100 } } });
    const client = await open();
    await client.waitFor('snapshot');
    for (let i = 0; i < 3; i++) await succeed(payments);
    await fail(payments);
    const hung = payments.execute(() => new Promise(() => undefined)).catch(() => undefined);
    clock.advance(100); // the hung call times out
    await hung;
    clock.advance(900); // one sample interval after the first sample
    const sample = (await client.waitFor('sample')).json as DashboardSampleEvent;

    expect(sample.t).toBe(1_001_000);
    // failureRate, slowCallRate, successful/s, failed/s, timeout/s, notPermitted/s, ignored/s
    expect(sample.points['payments']).toEqual([40, 0, 3, 1, 1, 0, 0]);
  });

  it('shows whether each breaker shares its state through its store, and a store outage as local_fallback with the outages counted', async () => {
    const clock = new ManualClock(1_000_000);
    const store = new UnreliableStore({ clock, logger: { warn: () => undefined, log: () => undefined } });
    const { open, drained } = await setup({ breakers: { payments: { store }, local: {} }, clock });
    await new Promise(setImmediate); // the store's first read
    const client = await open();
    const snapshot = (await client.waitFor('snapshot')).json as DashboardSnapshotEvent;
    expect(snapshot.breakers.find((b) => b.name === 'payments')).toMatchObject({ store: 'shared', storeFallbacks: 0 });
    expect(snapshot.breakers.find((b) => b.name === 'local')!.store).toBeUndefined();
    expect(snapshot.instances[0]!.breakers['payments']).toMatchObject({ store: 'shared' });

    store.down = true;
    // An idle breaker's link syncs every fifth tick (1 s): that sync fails, and the sample after it
    // sees the fallback.
    for (let ms = 0; ms < 2_250; ms += 50) {
      clock.advance(50);
      await new Promise(setImmediate);
    }
    await drained();
    await until(() => views(client, 'payments').at(-1)?.store === 'local_fallback', () => `payments in local_fallback; got ${JSON.stringify(views(client, 'payments'))}`);
    expect(views(client, 'payments').at(-1)).toMatchObject({ state: 'closed', store: 'local_fallback', storeFallbacks: 1 });
    expect((client.last.get('instances')!.json as DashboardSnapshotEvent['instances'])[0]!.breakers['payments']).toMatchObject({ store: 'local_fallback' });
  });

  it('a failure while sampling is logged rather than thrown out of a timer, and sampling carries on', async () => {
    const errors: string[] = [];
    const logger: LoggerService = { log: () => undefined, warn: () => undefined, error: (message: unknown) => void errors.push(String(message)) };
    const { open, clock, payments } = await setup({ logger });
    const client = await open();
    await client.waitFor('snapshot');
    const snapshot = jest.spyOn(payments, 'snapshot').mockImplementation(() => {
      throw new Error('snapshot broke');
    });
    clock.advance(1_000); // would throw out of the timer (the process's end, with real timers) if not contained
    expect(errors).toEqual(['CircuitBreakerDashboard: sampling the breakers failed: Error: snapshot broke']);
    snapshot.mockRestore();
    clock.advance(1_000);
    clock.advance(MIN_FLUSH_INTERVAL_MS);
    const sample = (await client.waitFor('sample')).json as DashboardSampleEvent;
    expect(sample.t).toBe(1_002_000);
    expect(errors).toHaveLength(1);
  });

  it('writes a heartbeat comment every HEARTBEAT_INTERVAL_MS', async () => {
    const { open, clock } = await setup({ breakers: { quiet: {} } });
    const client = await open();
    await client.waitFor('snapshot');
    clock.advance(HEARTBEAT_INTERVAL_MS - 1);
    await client.waitFor('sample', 14);
    expect(client.comments).toEqual([]);
    clock.advance(1);
    await until(() => client.comments.length === 1, () => 'a heartbeat');
    expect(client.comments).toEqual(['heartbeat']);
  });

  it('a reconnect, with or without Last-Event-ID, starts with a fresh snapshot: the current state and the transitions missed meanwhile', async () => {
    const { open, payments, flush, registry } = await setup();
    const first = await open();
    await first.waitFor('snapshot');
    payments.forceOpen();
    flush();
    const seen = (await first.waitFor('transitions')).json as DashboardTransition[];
    expect(seen.map((t) => t.id)).toEqual([1]);
    first.close();

    // while the page is away: three more transitions on payments, one on inventory
    payments.reset();
    await fail(payments);
    await fail(payments); // trips
    registry.get('inventory').disable();
    flush();

    // An EventSource reconnects with the id of the last event it saw; the stream sets none, so a
    // browser never sends one, and a client that sends one anyway gets the same fresh snapshot.
    for (const headers of [{ 'last-event-id': String(seen.at(-1)!.id) }, undefined]) {
      const again = await open(headers === undefined ? undefined : { headers });
      const snapshot = (await again.waitFor('snapshot')).json as DashboardSnapshotEvent;
      const byName = new Map(snapshot.breakers.map((b) => [b.name, b]));
      expect(byName.get('payments')).toMatchObject({ state: 'open', failureRate: 100, retryAfterMs: 10_000 });
      expect(byName.get('payments')!.transitions.map((t) => [t.id, t.from, t.to, t.reason])).toEqual([
        [1, 'closed', 'forced_open', 'forced_open'],
        [2, 'forced_open', 'closed', 'manual_reset'],
        [3, 'closed', 'open', 'failure_rate'],
      ]);
      expect(byName.get('inventory')!.transitions.map((t) => [t.id, t.to])).toEqual([[4, 'disabled']]);
      expect(again.ofType('snapshot')).toHaveLength(1); // and no replay of the events it missed
      expect(again.events.map((e) => e.type)).toEqual(['snapshot']);
    }
  });

  it('a snapshot (every connection\'s first event, a reconnect\'s too) carries each breaker\'s last TRANSITIONS_PER_BREAKER transitions, no older ones', async () => {
    const { open, payments, flush } = await setup();
    for (let i = 0; i < TRANSITIONS_PER_BREAKER; i++) {
      payments.forceOpen();
      payments.reset();
    }
    flush();
    const client = await open();
    const snapshot = (await client.waitFor('snapshot')).json as DashboardSnapshotEvent;
    const ids = snapshot.breakers.find((b) => b.name === 'payments')!.transitions.map((t) => t.id);
    expect(ids).toEqual(Array.from({ length: TRANSITIONS_PER_BREAKER }, (_, i) => TRANSITIONS_PER_BREAKER + 1 + i));
  });

  describe('a client that stops reading', () => {
    const names = Array.from({ length: 200 }, (_, i) => `b${i}`);

    /** 200 breakers all change state every flush: about 130 KB per batch, so a paused client's socket fills quickly. */
    async function congest() {
      const ctx = await setup({ breakers: Object.fromEntries(names.map((name) => [name, {}])) });
      const { open, clock, registry, hub } = ctx;
      const slow = await open({ keepEvents: false });
      const reader = await open({ keepEvents: false });
      await slow.waitFor('snapshot');
      await reader.waitFor('snapshot');
      slow.pause();
      let round = 0;
      /** One round: every breaker changes; one flush; the reading client takes all of it. */
      const churn = async () => {
        round++;
        for (const name of names) {
          if (round % 2 === 1) registry.get(name).forceOpen();
          else registry.get(name).reset();
        }
        clock.advance(MIN_FLUSH_INTERVAL_MS);
        await until(() => (reader.last.get('transitions')?.json as DashboardTransition[] | undefined)?.at(-1)?.id === round * names.length, () => `round ${round} at the reading client`);
      };
      while (hub.stats().congestedViewers === 0) {
        await churn();
        if (round > 2_000) throw new Error(`the paused client never backed up: ${JSON.stringify(hub.stats())}`);
      }
      // the round whose batch backed up: everything written to the paused client was written by then
      return { ...ctx, slow, reader, churn, rounds: () => round, congestedAt: round };
    }

    it('is written nothing more once its socket is full; when it reads again it gets the newest state, not the backlog', async () => {
      const { slow, reader, churn, rounds, congestedAt, hub, clock, registry } = await congest();
      const stuck = hub.stats().bufferedBytes;
      for (let i = 0; i < 50; i++) await churn();

      expect(hub.stats()).toMatchObject({ viewers: 2, congestedViewers: 1, bufferedBytes: stuck });
      expect(stuck).toBeLessThan(1024 * 1024); // at most about one batch waits in the server
      expect(reader.counts.get('breaker')).toBe(rounds() * names.length); // the reading client missed nothing

      slow.resume();
      await until(() => hub.stats().congestedViewers === 0, () => 'the paused client to drain');
      clock.advance(MIN_FLUSH_INTERVAL_MS);
      const finalState = registry.get('b0').state;
      await until(() => slow.counts.get('snapshot') === 2, () => `a fresh snapshot at the resumed client; ${JSON.stringify([...slow.counts])}`);
      // 10 000 transitions went by while it was stuck, more than the 256 kept: instead of the
      // backlog, it gets a fresh snapshot with every breaker in its newest state
      const snapshot = slow.last.get('snapshot')!.json as DashboardSnapshotEvent;
      expect(snapshot.breakers.find((b) => b.name === 'b0')!.state).toBe(finalState);
      expect(snapshot.breakers).toHaveLength(names.length);
      // and nothing of the 50 rounds it missed: only what had left the server before it backed up
      expect(slow.counts.get('breaker')).toBeLessThanOrEqual(congestedAt * names.length);
      expect(slow.counts.get('transitions')).toBeLessThanOrEqual(congestedAt);
    }, 30_000);

    it('is disconnected once it has read nothing for STALL_LIMIT_MS (its EventSource would reconnect afresh)', async () => {
      const { slow, reader, hub, clock } = await congest();
      // Time passes in steps the reading client keeps up with (it is not stalled, only the paused one is).
      for (let ms = 0; ms < STALL_LIMIT_MS + HEARTBEAT_INTERVAL_MS; ms += 1_000) {
        clock.advance(1_000);
        await until(() => hub.stats().congestedViewers <= 1, () => 'the reading client to keep up');
      }
      await until(() => hub.stats().viewers === 1 && hub.stats().bufferedBytes === 0, () => `only the reading client left; ${JSON.stringify(hub.stats())}`);
      expect(hub.stats()).toMatchObject({ viewers: 1, congestedViewers: 0 });
      expect(reader.ended).toBe(false);
      slow.resume(); // reads what was in flight, then the end of the stream
      await slow.waitForEnd();
    }, 30_000);
  });

  it('100 viewers at once: each gets every change, and what the server holds does not grow with the number of changes', async () => {
    const { open, flush, hub, payments, drained } = await setup({ dashboard: { maxViewers: 100 } });
    const clients = await Promise.all(Array.from({ length: 100 }, () => open({ keepEvents: false })));
    await Promise.all(clients.map((client) => client.waitFor('snapshot')));
    expect(hub.stats().viewers).toBe(100);
    const gc = collectGarbage();
    const heap = async () => {
      await drained();
      gc();
      return process.memoryUsage().heapUsed;
    };

    const rounds = async (count: number) => {
      for (let i = 0; i < count; i++) {
        if (payments.state === 'closed') payments.forceOpen();
        else payments.reset();
        flush();
        await drained();
      }
    };
    await rounds(50);
    const after50 = await heap();
    await rounds(300);
    const after350 = await heap();

    for (const client of clients) expect(client.counts.get('transitions')).toBe(350);
    expect(hub.stats()).toEqual({ viewers: 100, congestedViewers: 0, bufferedBytes: 0, breakers: 2 });
    // 300 more changes to 100 viewers (30 000 events) leave the heap where it was, within noise
    expect(after350 - after50).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);

  it('a client that leaves while the guards run is never counted as a viewer', async () => {
    const { app, hub, base } = await setup({ dashboard: { guards: [GateGuard] } });
    const connect = jest.spyOn(hub, 'connect');
    const req = request(`${base}/circuit-breakers/events`);
    req.on('error', () => undefined);
    req.end();
    await until(() => GateGuard.entered === 1, () => 'the request to reach the guard');
    req.destroy();
    const server = app.getHttpServer() as Server;
    const connections = () => new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count)));
    let open = 1;
    await until(() => (void connections().then((n) => (open = n)), open === 0), () => 'the server to see the client leave');
    GateGuard.open();
    await until(() => connect.mock.calls.length === 1, () => 'the handler to run');
    expect(hub.stats().viewers).toBe(0);
  });

  it('HEAD gets the stream headers and no stream', async () => {
    const { base, hub } = await setup();
    const res = await fetch(`${base}/circuit-breakers/events`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(hub.stats().viewers).toBe(0);
  });

  it('answers 503 beyond maxViewers, and lets a new viewer in once one leaves', async () => {
    const { open, hub } = await setup({ dashboard: { maxViewers: 2 } });
    const [a, b] = [await open(), await open()];
    await a.waitFor('snapshot');
    await b.waitFor('snapshot');
    const third = await open();
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('5');
    a.close();
    await until(() => hub.stats().viewers === 1, () => 'the closed client to leave');
    const fourth = await open();
    expect(fourth.status).toBe(200);
    await fourth.waitFor('snapshot');
  });

  it.each([
    ['Express', false],
    ['Fastify', true],
  ])('%s: app.close() ends every stream, clears every timer and leaves no connection open', async (_platform, fastify) => {
    const { app, open, clock, payments, flush, base } = await setup({ fastify });
    const clients = [await open(), await open()];
    await Promise.all(clients.map((client) => client.waitFor('snapshot')));
    payments.forceOpen();
    flush();
    await Promise.all(clients.map((client) => client.waitFor('breaker')));
    expect(clients[0]!.ofType('breaker').map((e) => (e.json as DashboardBreakerView).state)).toEqual(['forced_open']);

    await app.close();
    apps.splice(apps.indexOf(app), 1);
    await Promise.all(clients.map((client) => client.waitForEnd()));
    expect(clock.pendingTimers).toBe(0);
    await expect(SseClient.open(`${base}/circuit-breakers/events`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

/** The engine's own gc(), reachable without starting Node with --expose-gc. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
