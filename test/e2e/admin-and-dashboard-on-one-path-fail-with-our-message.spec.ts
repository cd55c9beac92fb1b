/**
 * CircuitBreakerAdminModule and CircuitBreakerDashboardModule both default to the path
 * "circuit-breakers". Registering both with their defaults must fail bootstrap with the library's
 * message, which says what to pass, on Express and on Fastify alike: on Fastify the router refuses
 * the second `GET /circuit-breakers` with a message of its own unless the check runs first.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { CircuitBreakerAdminModule, CircuitBreakerModule } from '../../lib/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';

/** The registration a user writes first: both modules with their defaults. */
@Module({
  imports: [CircuitBreakerModule.forRoot({ logger: false }), CircuitBreakerAdminModule.register(), CircuitBreakerDashboardModule.register()],
})
class BothOnDefaultsModule {}

/** The admin API under the dashboard's path: its GET /:name would answer the dashboard's page. */
@Module({
  imports: [
    CircuitBreakerModule.forRoot({ logger: false }),
    CircuitBreakerAdminModule.register({ path: 'ops' }),
    CircuitBreakerDashboardModule.register({ path: 'ops/board' }),
  ],
})
class AdminAboveDashboardModule {}

/** What the README and docs/dashboard.md show. */
@Module({
  imports: [
    CircuitBreakerModule.forRoot({ logger: false }),
    CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers' }),
    CircuitBreakerDashboardModule.register(),
  ],
})
class ApartModule {}

const SAYS_WHAT_TO_PASS = "Pass the admin API a path of its own: CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers' })";

describe.each(['express', 'fastify'] as const)('admin API and dashboard on one path (%s, as main.ts creates the app)', (platform) => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  /** NestFactory.create + init, the way main.ts does it (abortOnError off so the error is seen here). */
  async function bootstrap(module: object): Promise<INestApplication> {
    const options = { logger: false as const, abortOnError: false };
    const app = platform === 'fastify' ? await NestFactory.create(module, new FastifyAdapter(), options) : await NestFactory.create(module, options);
    apps.push(app);
    await app.init();
    return app;
  }

  async function bootstrapError(module: object): Promise<string> {
    try {
      await bootstrap(module);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected bootstrap to fail');
  }

  it('both on their defaults: the library says they collide and what to pass', async () => {
    const message = await bootstrapError(BothOnDefaultsModule);
    expect(message).toContain('CircuitBreakerDashboardModule: path "circuit-breakers" collides with the CircuitBreakerAdminModule at "circuit-breakers"');
    expect(message).toContain('both default to "circuit-breakers"');
    expect(message).toContain(SAYS_WHAT_TO_PASS);
  });

  it('the admin API one level above the dashboard: the same message, with a path that does not collide', async () => {
    const message = await bootstrapError(AdminAboveDashboardModule);
    expect(message).toContain('path "ops/board" collides with the CircuitBreakerAdminModule at "ops"');
    expect(message).toContain(SAYS_WHAT_TO_PASS);
  });

  it('mounted apart as the README shows, both start', async () => {
    const app = await bootstrap(ApartModule);
    expect(app).toBeDefined();
  });
});
