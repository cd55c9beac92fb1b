/**
 * The dashboard page and its module over HTTP: a self-contained document whose own
 * Content-Security-Policy admits exactly its inline style and script, URLs that lead to the stream
 * and the admin API under any global prefix, guards, the warning for an unguarded registration,
 * and every bootstrap error (bad options, no admin API, a colliding path).
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext, INestApplication, LoggerService } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerAdminModule, CircuitBreakerModule } from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';
import type { CircuitBreakerDashboardOptions } from '../../lib/dashboard/index.js';
import { pageUrls } from '../../lib/dashboard/dashboard-page.js';
import { SseClient } from './sse-client.js';

/** Lets a request in when it carries the session cookie a browser would send by itself. */
@Injectable()
class SessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    return req.headers['cookie'] === 'session=ok';
  }
}

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

interface PageConfig {
  eventsUrl: string;
  adminUrl: string | null;
  credentialsHeader: string;
  readOnly: boolean;
}

function inline(html: string, tag: 'script' | 'style'): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
  if (match === null) throw new Error(`no inline <${tag}> in the page`);
  return match[1]!;
}

function configOf(html: string): PageConfig {
  const match = /<script type="application\/json" id="dashboard-config">([\s\S]*?)<\/script>/.exec(html);
  if (match === null) throw new Error('no config block in the page');
  return JSON.parse(match[1]!) as PageConfig;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('dashboard page and module', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function start(options: {
    dashboard?: CircuitBreakerDashboardOptions;
    admin?: string[];
    module?: CircuitBreakerModuleOptions;
    prefix?: string;
    logger?: LoggerService;
    fastify?: boolean;
  }): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ breakers: { payments: {} }, ...options.module }),
        ...(options.admin ?? ['admin/circuit-breakers']).map((path) => CircuitBreakerAdminModule.register({ path })),
        CircuitBreakerDashboardModule.register(options.dashboard),
      ],
    }).compile();
    const logger = options.logger ?? false;
    const app = options.fastify ? moduleRef.createNestApplication(new FastifyAdapter(), { logger }) : moduleRef.createNestApplication({ logger });
    apps.push(app);
    if (options.prefix !== undefined) app.setGlobalPrefix(options.prefix);
    await app.init();
    if (options.fastify) await (app.getHttpAdapter().getInstance() as { ready(): Promise<void> }).ready();
    return app;
  }

  const server = (app: INestApplication) => app.getHttpServer() as App;

  it.each([
    ['Express', false],
    ['Fastify', true],
  ])('%s: serves one self-contained HTML document whose policy admits exactly its own style and script', async (_name, fastify) => {
    const app = await start({ fastify });
    const res = await request(server(app)).get('/circuit-breakers').expect(200);

    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const csp = String(res.headers['content-security-policy']).split('; ');
    expect(csp).toEqual([
      "default-src 'none'",
      `script-src ${sha256(inline(res.text, 'script'))}`,
      `style-src ${sha256(inline(res.text, 'style'))}`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
    // nothing is fetched from elsewhere: no external script, stylesheet, font or image
    expect(res.text).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(res.text).not.toMatch(/@import|url\(|@font-face/);
    expect(() => new Script(inline(res.text, 'script'))).not.toThrow();
    expect(configOf(res.text)).toEqual({ eventsUrl: './circuit-breakers/events', adminUrl: './admin/circuit-breakers', credentialsHeader: 'authorization', readOnly: false });
  });

  it('read-only: no admin URL, and no admin API needed', async () => {
    const app = await start({ admin: [], dashboard: { readOnly: true } });
    const res = await request(server(app)).get('/circuit-breakers').expect(200);
    expect(configOf(res.text)).toMatchObject({ adminUrl: null, readOnly: true });
  });

  it.each(['/api/ops/breakers', '/api/ops/breakers/'])(
    'the page at %s leads to its stream and to the admin API under the global prefix',
    async (pagePath) => {
      const app = await start({ prefix: 'api', admin: ['internal/cb'], dashboard: { path: 'ops/breakers', credentialsHeader: 'X-Api-Key' } });
      await app.listen(0, '127.0.0.1');
      const origin = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const config = configOf((await request(server(app)).get(pagePath).expect(200)).text);
      const page = new URL(pagePath, origin);
      const events = new URL(config.eventsUrl, page);
      const admin = new URL(config.adminUrl!, page);

      expect([events.pathname, admin.pathname]).toEqual(['/api/ops/breakers/events', '/api/internal/cb']);
      expect(config.credentialsHeader).toBe('x-api-key');
      await request(server(app)).get(`${admin.pathname}/payments`).expect(200);
      const stream = await SseClient.open(events.href);
      try {
        await stream.waitFor('snapshot');
      } finally {
        stream.close();
      }
    },
  );

  it.each([
    // [request path, dashboard path, admin path] -> [eventsUrl, adminUrl]
    ['/circuit-breakers', 'circuit-breakers', 'admin/circuit-breakers', './circuit-breakers/events', './admin/circuit-breakers'],
    ['/circuit-breakers?x=1', 'circuit-breakers', 'circuit-breakers-admin', './circuit-breakers/events', './circuit-breakers-admin'],
    ['/v1/a/b/c', 'b/c', 'x', './c/events', '../x'],
    ['/v1/a/b/c/', 'b/c', 'x', './events', '../../x'],
    ['/ops', 'ops', 'ops2', './ops/events', './ops2'],
    ['/ops', 'ops', '/elsewhere/admin', './ops/events', '/elsewhere/admin'],
    ['/proxied/ops', 'unrelated', 'x', './ops/events', '../x'],
  ])('pageUrls(%s, %s, %s) = %s, %s', (requestPath, dashboardPath, adminPath, eventsUrl, adminUrl) => {
    expect(pageUrls(requestPath, dashboardPath, adminPath)).toEqual({ eventsUrl, adminUrl });
  });

  it('guards decide who may see the page and the stream', async () => {
    const app = await start({ dashboard: { guards: [SessionGuard] } });
    await request(server(app)).get('/circuit-breakers').expect(403);
    await request(server(app)).get('/circuit-breakers/events').expect(403);
    await request(server(app)).get('/circuit-breakers').set('cookie', 'session=ok').expect(200);
  });

  it('warns loudly when registered without guards, naming the path; not with guards, nor with logger: false', async () => {
    // The admin API these apps register has no guards either: its own warning is tested with the admin module.
    const dashboardWarnings = (logger: CapturingLogger): string[] => logger.warnings.filter((w) => !w.startsWith('UNPROTECTED ADMIN API'));
    const unguarded = new CapturingLogger();
    await start({ logger: unguarded, dashboard: { path: 'ops/breakers' } });
    expect(dashboardWarnings(unguarded)).toEqual([expect.stringContaining('registered without guards: anyone who reaches this application can watch its breakers at "ops/breakers"')]);

    const guarded = new CapturingLogger();
    await start({ logger: guarded, dashboard: { guards: [SessionGuard] } });
    expect(dashboardWarnings(guarded)).toEqual([]);

    const silenced = new CapturingLogger();
    await start({ logger: silenced, module: { logger: false } });
    expect(silenced.warnings).toEqual([]);
  });

  describe('fails bootstrap with a message that says what to do', () => {
    const bootstrapError = async (options: Parameters<typeof start>[0]) => {
      try {
        await start(options);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected bootstrap to fail');
    };

    it('when the page has actions but the application registers no admin API', async () => {
      expect(await bootstrapError({ admin: [] })).toMatch(
        /the page's actions go through the admin API, but no CircuitBreakerAdminModule is registered in this application\. Register CircuitBreakerAdminModule\.register\(.*\), or pass readOnly: true/,
      );
    });

    it('when the admin API shares the dashboard path (its GET /:name would answer the stream)', async () => {
      expect(await bootstrapError({ admin: ['circuit-breakers'] })).toMatch(/path "circuit-breakers" collides with the CircuitBreakerAdminModule at "circuit-breakers"/);
      expect(await bootstrapError({ admin: ['ops'], dashboard: { path: 'ops/board' } })).toMatch(/path "ops\/board" collides with the CircuitBreakerAdminModule at "ops"/);
    });

    it('when several admin APIs exist and adminPath does not pick one, or names none of them', async () => {
      expect(await bootstrapError({ admin: ['a', 'b'] })).toMatch(/several CircuitBreakerAdminModule registrations \(found at "a", "b"\); set option "adminPath"/);
      expect(await bootstrapError({ admin: ['a'], dashboard: { adminPath: 'c' } })).toMatch(/option "adminPath" is "c", but no CircuitBreakerAdminModule is registered at that path \(found at "a"\)/);
      const app = await start({ admin: ['a', 'b'], dashboard: { adminPath: '/b/' } });
      expect(configOf((await request(server(app)).get('/circuit-breakers')).text).adminUrl).toBe('/b');
    });

    it('when the application has no CircuitBreakerModule', async () => {
      const moduleRef = Test.createTestingModule({ imports: [CircuitBreakerDashboardModule.register({ readOnly: true })] });
      await expect(moduleRef.compile()).rejects.toThrow(/CircuitBreakerDashboardModule needs the CircuitBreakerRegistry of CircuitBreakerModule/);
    });

    it.each([
      [{ path: '' }, /option "path" must be a non-empty string path such as "ops\/circuit-breakers", got ""/],
      [{ path: 5 }, /option "path" must be a non-empty string path .*, got 5/],
      [{ guards: [null] }, /option "guards" must be an array of guard classes or instances \(CanActivate\)/],
      [{ readOnly: 'yes' }, /option "readOnly" must be a boolean, got "yes"/],
      [{ adminPath: '/' }, /option "adminPath" must be the path given to CircuitBreakerAdminModule\.register\(\), or an absolute path starting with "\/", got "\/"/],
      [{ credentialsHeader: 'x api key' }, /option "credentialsHeader" must be an HTTP header name other than cookie, host, content-type/],
      [{ credentialsHeader: 'Cookie' }, /option "credentialsHeader" must be an HTTP header name other than cookie/],
      [{ sampleIntervalMs: 50 }, /option "sampleIntervalMs" must be a whole number of milliseconds in \[100, 60000\], got 50/],
      [{ historyMs: 500 }, /option "historyMs" must be a whole number of milliseconds in \[1000, 3600000\], got 500/],
      [{ historyMs: 3_600_000, sampleIntervalMs: 100 }, /option "historyMs" must be at most 3600 x sampleIntervalMs \(360000\) with sampleIntervalMs 100, got 3600000/],
      [{ maxViewers: 0 }, /option "maxViewers" must be a whole number in \[1, 10000\], got 0/],
      [{ clock: {} }, /option "clock" must be an object with a now\(\) method/],
    ])('for bad options: %j', (options, message) => {
      expect(() => CircuitBreakerDashboardModule.register(options as CircuitBreakerDashboardOptions)).toThrow(message);
      expect(() => CircuitBreakerDashboardModule.register(options as CircuitBreakerDashboardOptions)).toThrow(/^CircuitBreakerDashboardModule: option "/);
    });
  });
});
