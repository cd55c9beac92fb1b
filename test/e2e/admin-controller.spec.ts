/**
 * CircuitBreakerAdminModule over HTTP: list and read snapshots, manual control, reconfigure; unknown
 * names answer 404 and create nothing, bad requests answer 400 naming the option and change
 * nothing, the app's guard protects every route, and no call's error text ever leaks.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Module, Param } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerAdminModule, CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerAdminOptions, CircuitBreakerSnapshot } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

const SECRET = 'password=hunter2 at db-7.internal';
const KEY = 's3cret-admin-key';
const ADMIN_KEY = Symbol('ADMIN_KEY');

@Module({ providers: [{ provide: ADMIN_KEY, useValue: KEY }], exports: [ADMIN_KEY] })
class AdminKeyModule {}

/** The app's own guard, with a dependency of its own (resolved through the `imports` option). */
@Injectable()
class ApiKeyGuard implements CanActivate {
  constructor(@Inject(ADMIN_KEY) private readonly key: string) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    return req.headers['x-api-key'] === this.key;
  }
}

@Controller('payments')
class PaymentsController {
  healthy = false;

  @Get(':id')
  @UseCircuitBreaker('payments')
  async pay(@Param('id') id: string): Promise<string> {
    if (!this.healthy) throw new Error(`upstream said: ${SECRET}`);
    return `paid ${id}`;
  }
}

describe('CircuitBreakerAdminModule', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(admin: CircuitBreakerAdminOptions | null = { path: 'admin/breakers', guards: [ApiKeyGuard], imports: [AdminKeyModule] }) {
    const clock = new ManualClock(1_000_000);
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: { payments: tripFast(), inventory: {} }, logger: false }),
          ...(admin === null ? [] : [CircuitBreakerAdminModule.register(admin)]),
        ],
        controllers: [PaymentsController],
      }),
    );
    const server = app.getHttpServer() as App;
    const registry = app.get(CircuitBreakerRegistry);
    const payments = registry.get('payments');
    /** Everything a request could change, to compare before and after a rejected one. */
    const state = () => JSON.stringify({ snapshots: registry.getAll().map((b) => b.snapshot()), options: payments.options, names: registry.getAll().map((b) => b.name) });
    const get = (path: string) => request(server).get(`/admin/breakers${path}`).set('x-api-key', KEY);
    /** A JSON post (the only kind the admin routes take), `{}` when the action needs no body. */
    const post = (path: string, body: unknown = {}) => request(server).post(`/admin/breakers${path}`).set('x-api-key', KEY).send(body as object);
    return { app, server, clock, registry, payments, state, get, post };
  }

  it('lists every breaker (sorted by name) and reads one, never exposing a call’s error text', async () => {
    const { server, get } = await setup();
    await request(server).get('/payments/1').expect(500);
    await request(server).get('/payments/2').expect(500); // 2 of 2 failed: trips
    await request(server).get('/payments/3').expect(503);

    const list = await get('').expect(200);
    const breakers = list.body as CircuitBreakerSnapshot[];
    expect(breakers.map((b) => b.name)).toEqual(['inventory', 'payments']);
    expect(breakers[1]).toMatchObject({ name: 'payments', state: 'open', calls: 2, failures: 2, failureRate: 100, notPermittedCalls: 1, retryAfterMs: 10_000 });
    expect(breakers[0]).toMatchObject({ name: 'inventory', state: 'closed', calls: 0 });

    const one = await get('/payments').expect(200);
    expect(one.body).toEqual(breakers[1]);
    expect(one.body.openedAt).toBe(1_000_000);

    expect(list.text + one.text).not.toContain('hunter2');
    expect(list.text + one.text).not.toMatch(/stack|Error/);
  });

  it('answers 404 for an unknown breaker on every route, and creates no breaker', async () => {
    const { registry, get, post, state } = await setup();
    const before = state();
    const res = await get('/nope').expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, message: 'Circuit breaker "nope" does not exist' });
    for (const action of ['force-open', 'disable', 'metrics-only', 'reset']) await post(`/nope/${action}`).expect(404);
    await post('/nope/reconfigure', { failureRateThreshold: 30 }).expect(404);
    expect(registry.has('nope')).toBe(false);
    expect(state()).toBe(before);
  });

  it('echoes at most 100 characters of an unknown name or action in a 404, however long the path', async () => {
    const { get, post } = await setup();
    const long = 'x'.repeat(5_000);
    const res = await get(`/${long}`).expect(404);
    expect(res.body.message).toBe(`Circuit breaker "${'x'.repeat(100)}…" does not exist`);
    expect(res.text.length).toBeLessThan(300);
    for (const path of [`/${long}/reset`, `/${long}/reconfigure`]) {
      const answer = await post(path, {}).expect(404);
      expect(answer.text.length).toBeLessThan(300);
    }
    const action = await post(`/payments/${long}`).expect(404);
    expect(action.body.message).toMatch(new RegExp(`^Unknown action "${'x'.repeat(100)}…"; actions: `));
    expect(action.text.length).toBeLessThan(400);
  });

  it('forces open, disables, switches to metrics-only and resets, answering the new snapshot', async () => {
    const { server, post, payments, clock } = await setup();

    const forced = await post('/payments/force-open').expect(200);
    expect(forced.body).toMatchObject({ name: 'payments', state: 'forced_open' });
    expect(payments.state).toBe('forced_open');
    const rejected = await request(server).get('/payments/1').expect(503);
    expect(rejected.headers['retry-after']).toBeUndefined();

    expect((await post('/payments/disable').expect(200)).body).toMatchObject({ state: 'disabled' });
    await request(server).get('/payments/1').expect(500); // admitted, not recorded
    await request(server).get('/payments/1').expect(500);
    expect(payments.snapshot().calls).toBe(0);

    expect((await post('/payments/metrics-only').expect(200)).body).toMatchObject({ state: 'metrics_only', wouldTrip: false });
    await request(server).get('/payments/1').expect(500);
    await request(server).get('/payments/1').expect(500); // would trip, but is never rejected
    expect((await post('/payments/metrics-only').expect(200)).body).toMatchObject({ state: 'metrics_only', calls: 2, wouldTrip: true });

    clock.advance(1);
    const reset = await post('/payments/reset').expect(200);
    expect(reset.body).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
    expect(payments.state).toBe('closed');
  });

  it('reconfigures a breaker from a JSON body; null sets an option back to its default', async () => {
    const { post, payments } = await setup();
    const res = await post('/payments/reconfigure', { failureRateThreshold: 30, timeoutMs: 2_000, slidingWindow: { type: 'count', size: 50 } }).expect(200);
    expect(res.body).toMatchObject({ name: 'payments', state: 'closed' });
    expect(payments.options).toMatchObject({ failureRateThreshold: 30, timeoutMs: 2_000, slidingWindow: { type: 'count', size: 50 } });
    // the declared options not in the body are kept
    expect(payments.options.openDurationMs).toBe(10_000);

    await post('/payments/reconfigure', { timeoutMs: null }).expect(200);
    expect(payments.options.timeoutMs).toBeUndefined();
    expect(payments.options.failureRateThreshold).toBe(30);
  });

  it('rejects code-only, unknown and invalid options with 400 naming the option, and changes nothing', async () => {
    const { post, state } = await setup();
    const before = state();
    const cases: [unknown, string, RegExp][] = [
      [{ failureRateThreshold: 30, isFailure: 'x => true' }, 'isFailure', /"isFailure" cannot be set over HTTP/],
      [{ isResultFailure: true }, 'isResultFailure', /"isResultFailure" cannot be set over HTTP/],
      [{ healthCheck: { intervalMs: 1_000 } }, 'healthCheck', /"healthCheck" cannot be set over HTTP/],
      [{ clock: { now: 0 } }, 'clock', /"clock" cannot be set over HTTP/],
      [{ store: 'redis://127.0.0.1:6379' }, 'store', /"store" cannot be set over HTTP/],
      [{ name: 'other' }, 'name', /"name" cannot be set over HTTP/],
      [{ failureRate: 30 }, 'failureRate', /Unknown option "failureRate"/],
      [JSON.parse('{"__proto__": {"failureRateThreshold": 1}}'), '__proto__', /Unknown option "__proto__"/],
      [{ failureRateThreshold: 150 }, 'failureRateThreshold', /option "failureRateThreshold" must be a percentage in \(0, 100\], got 150/],
      [{ openDurationMs: 'soon' }, 'openDurationMs', /option "openDurationMs"/],
      [{ timeoutMs: 1_000, slidingWindow: { type: 'count', size: 0 } }, 'slidingWindow.size', /option "slidingWindow.size"/],
      [{ openDurationBackoff: { multiplier: 2, factor: 3 } }, 'openDurationBackoff.factor', /option "openDurationBackoff.factor"/],
    ];
    for (const [body, option, message] of cases) {
      const res = await post('/payments/reconfigure', body).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', option });
      expect(res.body.message).toMatch(message);
      expect(state()).toBe(before);
    }
  });

  it('rejects a body that is not a JSON object with 400, changing nothing', async () => {
    const { server, post, state } = await setup();
    const before = state();
    const array = await post('/payments/reconfigure', [{ failureRateThreshold: 30 }]).expect(400);
    expect(array.body.message).toMatch(/The body must be a JSON object of breaker options/);
    await request(server)
      .post('/admin/breakers/payments/reconfigure')
      .set('x-api-key', KEY)
      .set('content-type', 'application/json')
      .send('{"failureRateThreshold": 30')
      .expect(400);
    expect(state()).toBe(before);
  });

  it('is protected by the guards given: 403 without the right key, and nothing changes', async () => {
    const { server, state } = await setup();
    const before = state();
    const routes: [string, string][] = [
      ['get', ''],
      ['get', '/payments'],
      ['post', '/payments/force-open'],
      ['post', '/payments/disable'],
      ['post', '/payments/metrics-only'],
      ['post', '/payments/reset'],
      ['post', '/payments/reconfigure'],
    ];
    for (const [method, path] of routes) {
      const agent = request(server);
      const call = method === 'get' ? agent.get(`/admin/breakers${path}`) : agent.post(`/admin/breakers${path}`).send({ failureRateThreshold: 10 });
      const res = await call.set('x-api-key', 'wrong');
      // a guard returning false answers 403; the sample app's guard throws 401 instead
      expect(res.status).toBe(403);
      expect(res.text).not.toContain('payments"');
    }
    expect(state()).toBe(before);
  });

  it("mounts at 'circuit-breakers' by default and is absent unless imported", async () => {
    const withAdmin = await setup({});
    await request(withAdmin.server).get('/circuit-breakers').expect(200);
    await request(withAdmin.server).post('/circuit-breakers/inventory/force-open').send({}).expect(200);

    const without = await setup(null);
    await request(without.server).get('/circuit-breakers').expect(404);
    await request(without.server).get('/admin/breakers').expect(404);
  });

  it('can be registered twice at different paths with different guards', async () => {
    const clock = new ManualClock(0);
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: { payments: {} }, logger: false }),
          CircuitBreakerAdminModule.register({ path: 'internal/breakers' }),
          CircuitBreakerAdminModule.register({ path: 'admin/breakers', guards: [ApiKeyGuard], imports: [AdminKeyModule] }),
        ],
      }),
    );
    const server = app.getHttpServer() as App;
    await request(server).get('/internal/breakers/payments').expect(200);
    await request(server).get('/admin/breakers/payments').expect(403);
    await request(server).get('/admin/breakers/payments').set('x-api-key', KEY).expect(200);
  });

  it('fails bootstrap with an explanation when CircuitBreakerModule is missing', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerAdminModule.register()] });
    expect((error as Error).message).toMatch(/needs the CircuitBreakerRegistry of CircuitBreakerModule/);
  });
});
