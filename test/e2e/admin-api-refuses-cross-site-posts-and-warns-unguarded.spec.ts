/**
 * The admin API against CSRF and accidental exposure: its state-changing routes take JSON requests
 * only (a cross-site form post or body-less fetch is refused with 415 and changes nothing), on
 * Express and Fastify; a registration without guards logs a loud warning at bootstrap.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import type { CanActivate, ExecutionContext, INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CircuitBreakerAdminModule, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import type { CircuitBreakerAdminOptions } from '../../lib/index.js';
import { Apps } from './helpers.js';

/** Authenticates by a cookie, as an admin dashboard behind a login would: what CSRF abuses. */
@Injectable()
class SessionCookieGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const cookie = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.cookie;
    return cookie === 'session=admin';
  }
}

@Injectable()
class RateLimitGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

const platforms = [
  ['Express', () => undefined],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('admin API on %s', (_platform, adapter) => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(admin: CircuitBreakerAdminOptions, extra: ModuleMetadata = {}, beforeInit?: (app: INestApplication) => void) {
    const logger = new RecordingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger, breakers: { payments: {} } }), CircuitBreakerAdminModule.register(admin)],
      ...extra,
    }).compile();
    const httpAdapter = adapter();
    const app = apps.track(
      httpAdapter === undefined ? moduleRef.createNestApplication({ logger: false }) : moduleRef.createNestApplication(httpAdapter, { logger: false }),
    );
    beforeInit?.(app);
    await app.init();
    if (httpAdapter !== undefined) await httpAdapter.getInstance().ready();
    const payments = app.get(CircuitBreakerRegistry).get('payments');
    return { server: app.getHttpServer(), logger, payments, state: () => JSON.stringify({ snapshot: payments.snapshot(), options: payments.options }) };
  }

  const actions = ['force-open', 'disable', 'metrics-only', 'reset', 'reconfigure'];

  describe('state-changing routes take JSON only', () => {
    it('a cross-site form post (urlencoded, multipart, text/plain) or a body-less post answers 415 and changes nothing', async () => {
      const { server, state } = await setup({ path: 'admin/breakers', guards: [SessionCookieGuard] });
      const before = state();
      for (const action of actions) {
        const url = `/admin/breakers/payments/${action}`;
        const post = () => request(server).post(url).set('cookie', 'session=admin');
        const refused = [
          await post().type('form').send('failureRateThreshold=1'),
          await post().field('failureRateThreshold', '1'),
          await post().set('content-type', 'text/plain').send('{"failureRateThreshold": 1}'),
          await post(),
        ];
        expect(refused.map((res) => [action, res.status])).toEqual(refused.map(() => [action, 415]));
      }
      expect(state()).toBe(before);
    });

    it('the 415 says what to send', async () => {
      const { server } = await setup({ path: 'admin/breakers', guards: [SessionCookieGuard] });
      const res = await request(server).post('/admin/breakers/payments/force-open').set('cookie', 'session=admin').set('content-type', 'text/plain').send('x').expect(415);
      expect(res.body).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
      expect(res.body.message).toContain('content-type: application/json');
    });

    it('a JSON request goes through (charset allowed); your guards still answer first', async () => {
      const { server, payments } = await setup({ path: 'admin/breakers', guards: [SessionCookieGuard] });
      await request(server).post('/admin/breakers/payments/force-open').set('content-type', 'text/plain').send('x').expect(403);
      await request(server).post('/admin/breakers/payments/force-open').set('cookie', 'session=admin').send({}).expect(200);
      expect(payments.state).toBe('forced_open');
      await request(server)
        .post('/admin/breakers/payments/reconfigure')
        .set('cookie', 'session=admin')
        .set('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ failureRateThreshold: 30 }))
        .expect(200);
      expect(payments.options.failureRateThreshold).toBe(30);
      await request(server).get('/admin/breakers/payments').set('cookie', 'session=admin').expect(200);
    });
  });

  describe('a JSON post with no body', () => {
    it('is taken as {} by the actions that need no body, on either adapter (curl -X POST -H content-type:application/json)', async () => {
      const { server, payments } = await setup({ path: 'admin/breakers', guards: [SessionCookieGuard] });
      const emptyJson = (action: string) =>
        request(server).post(`/admin/breakers/payments/${action}`).set('cookie', 'session=admin').set('content-type', 'application/json');
      expect((await emptyJson('force-open')).status).toBe(200);
      expect(payments.state).toBe('forced_open');
      expect((await emptyJson('reset')).status).toBe(200);
      expect(payments.state).toBe('closed');
      // reconfigure with no body changes nothing, as with {}
      const before = JSON.stringify(payments.options);
      expect((await emptyJson('reconfigure')).status).toBe(200);
      expect(JSON.stringify(payments.options)).toBe(before);
    });

    it('the same in an app made the way main.ts makes it (NestFactory.create, global prefix, listen)', async () => {
      @Module({ imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: {} } }), CircuitBreakerAdminModule.register({ guards: [SessionCookieGuard] })] })
      class MainModule {}
      const httpAdapter = adapter();
      const app = apps.track(httpAdapter === undefined ? await NestFactory.create(MainModule, { logger: false }) : await NestFactory.create(MainModule, httpAdapter, { logger: false }));
      app.setGlobalPrefix('api');
      await app.listen(0, '127.0.0.1');
      const res = await fetch(`${await app.getUrl()}/api/circuit-breakers/payments/force-open`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: 'session=admin' },
      });
      expect(res.status).toBe(200);
      expect(app.get(CircuitBreakerRegistry).get('payments').state).toBe('forced_open');
    });

    it('a malformed JSON body is still a 400 (only an empty one is taken as {})', async () => {
      const { server, payments } = await setup({ path: 'admin/breakers', guards: [SessionCookieGuard] });
      const res = await request(server).post('/admin/breakers/payments/force-open').set('cookie', 'session=admin').set('content-type', 'application/json').send('{oops');
      expect(res.status).toBe(400);
      expect(payments.state).toBe('closed');
    });
  });

  describe('a registration without guards', () => {
    it('logs a loud warning at bootstrap naming the URL', async () => {
      const { logger } = await setup({ path: 'ops/breakers' }, {}, (app) => app.setGlobalPrefix('api'));
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toMatch(/^UNPROTECTED ADMIN API: CircuitBreakerAdminModule at \/api\/ops\/breakers has no guards\./);
      expect(logger.warnings[0]).toContain('guards: [YourAuthGuard]');
    });

    it('names the global guards, which do not silence it', async () => {
      const { logger } = await setup({}, { providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }] });
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toContain('at /circuit-breakers has no guards');
      expect(logger.warnings[0]).toContain('Only the global guards (RateLimitGuard) apply');
    });

    it('with guards: no warning', async () => {
      const { logger } = await setup({ guards: [SessionCookieGuard] });
      expect(logger.warnings).toEqual([]);
    });
  });
});
