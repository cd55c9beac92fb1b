/**
 * `isHealthy(key, { fleet: true })` adds the fleet view to the health details (`details.fleet`:
 * live instances from the store's heartbeats, each with its view of each breaker) without changing
 * the status; without the option the details are as before.
 */
import 'reflect-metadata';
import { afterEach, expect, test } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerModule, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import { CircuitBreakerHealthIndicator, CircuitBreakerHealthModule } from '../../lib/health/index.js';
import { Apps, startApp } from './helpers.js';

const SYNC_MS = 100;

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
  ) {}

  @Get('fleet')
  @HealthCheck()
  fleet(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { fleet: true })]);
  }

  @Get()
  @HealthCheck()
  plain(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy()]);
  }
}

const apps = new Apps();
afterEach(() => apps.closeAll());

test('details.fleet lists the live instances; the status is the breakers’ own', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new InMemoryCircuitBreakerStore({ clock, syncIntervalMs: SYNC_MS });
  const app = apps.track(
    await startApp({
      imports: [TerminusModule, CircuitBreakerHealthModule, CircuitBreakerModule.forRoot({ defaults: { clock, store }, breakers: { payments: {} }, logger: false })],
      controllers: [HealthController],
    }),
  );
  for (let i = 0; i < 2; i++) {
    clock.advance(SYNC_MS);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const withFleet = await request(app.getHttpServer() as App).get('/health/fleet');
  expect(withFleet.status).toBe(200);
  const details = withFleet.body.details.circuit_breakers;
  expect(details.status).toBe('up');
  expect(details.breakers.payments).toMatchObject({ state: 'closed', store: 'shared' });
  expect(details.fleet).toMatchObject({ unreachableStores: 0, instances: [{ self: true, pid: process.pid, breakers: { payments: { state: 'closed' } } }] });

  const plain = await request(app.getHttpServer() as App).get('/health');
  expect(plain.body.details.circuit_breakers.fleet).toBeUndefined();
});
