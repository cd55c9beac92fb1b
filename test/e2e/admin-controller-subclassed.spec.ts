/**
 * docs/admin.md, "Protecting it": instead of `CircuitBreakerAdminModule.register()`, mount the admin
 * routes yourself by subclassing the exported `CircuitBreakerAdminController` under your own
 * `@Controller(path)` and guards. The routes, the JSON-only POSTs and the guards all apply.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, UseGuards } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerAdminController, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

@Injectable()
class OpsGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-ops'] === 'yes';
  }
}

@Controller('ops/breakers')
@UseGuards(OpsGuard)
class OpsBreakersController extends CircuitBreakerAdminController {}

describe('CircuitBreakerAdminController subclassed by the application', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('serves the admin routes under its own path, behind its own guard', async () => {
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: {}, inventory: {} } })],
        controllers: [OpsBreakersController],
        providers: [OpsGuard],
      }),
    );
    const server = app.getHttpServer();

    await request(server).get('/ops/breakers').expect(403);
    const list = await request(server).get('/ops/breakers').set('x-ops', 'yes').expect(200);
    expect((list.body as { name: string }[]).map((snapshot) => snapshot.name)).toEqual(['inventory', 'payments']);

    await request(server).post('/ops/breakers/payments/force-open').set('x-ops', 'yes').type('form').send('a=1').expect(415);
    const forced = await request(server).post('/ops/breakers/payments/force-open').set('x-ops', 'yes').send({}).expect(200);
    expect(forced.body).toMatchObject({ name: 'payments', state: 'forced_open' });
    expect(app.get(CircuitBreakerRegistry).get('payments').state).toBe('forced_open');
    await request(server).get('/circuit-breakers').set('x-ops', 'yes').expect(404); // nothing at the module's default path
  });
});
