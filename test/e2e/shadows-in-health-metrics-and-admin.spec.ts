/**
 * Shadow configurations in a real application: a decorated route's breaker carries a stricter
 * shadow; failures over HTTP trip the shadow while the enforced breaker stays closed and every
 * request reaches the route; health details, Prometheus and the admin API show the shadow.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Query } from '@nestjs/common';
import type { CanActivate, INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerAdminModule, CircuitBreakerModule, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { CircuitBreakerHealthIndicator, CircuitBreakerHealthModule } from '../../lib/health/index.js';
import { CircuitBreakerPrometheusModule } from '../../lib/prometheus/index.js';
import { startApp } from './helpers.js';

@Injectable()
class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

let reached = 0;

@Controller()
class PaymentsController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
    private readonly registry: Registry,
  ) {}

  @Get('pay')
  @UseCircuitBreaker('payments')
  pay(@Query('fail') fail?: string): string {
    reached++;
    if (fail === '1') throw new Error('card processor down');
    return 'paid';
  }

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy()]);
  }

  @Get('metrics')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

describe('shadow configurations in health, Prometheus and the admin API', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a stricter shadow trips on traffic the enforced breaker lets through, and every surface says so', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const registry = new Registry();
    app = await startApp({
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { clock },
          breakers: {
            payments: {
              slidingWindow: { type: 'count', size: 10 },
              minimumCalls: 10,
              failureRateThreshold: 60,
              openDurationMs: 10_000,
              shadows: { strict: { failureRateThreshold: 20 } },
            },
          },
          logger: false,
        }),
        TerminusModule,
        CircuitBreakerHealthModule,
        CircuitBreakerPrometheusModule.forRoot({ registry }),
        CircuitBreakerAdminModule.register({ path: 'admin/breakers', guards: [AllowAll] }),
      ],
      controllers: [PaymentsController],
      providers: [{ provide: Registry, useValue: registry }],
    });
    const http = () => request(app!.getHttpServer() as App);
    reached = 0;
    for (let i = 0; i < 7; i++) await http().get('/pay').expect(200);
    for (let i = 0; i < 3; i++) await http().get('/pay?fail=1').expect(500);
    // The shadow is open now; the enforced breaker (30 % < 60 %) is not, and admits everything.
    for (let i = 0; i < 4; i++) await http().get('/pay').expect(200);
    expect(reached).toBe(14);

    const health = await http().get('/health').expect(200);
    const details = health.body.details.circuit_breakers.breakers.payments;
    expect(details).toMatchObject({ status: 'up', state: 'closed', shadows: { strict: { state: 'open', wouldTrips: 1, wouldReject: 4 } } });

    const metrics = (await http().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^circuit_breaker_shadow_state\{name="payments",shadow="strict",state="open"\} 1$/m);
    expect(metrics).toMatch(/^circuit_breaker_shadow_state\{name="payments",shadow="strict",state="closed"\} 0$/m);
    expect(metrics).toMatch(/^circuit_breaker_shadow_would_trips_total\{name="payments",shadow="strict"\} 1$/m);
    expect(metrics).toMatch(/^circuit_breaker_shadow_would_reject_total\{name="payments",shadow="strict"\} 4$/m);
    expect(metrics).toMatch(/^circuit_breaker_calls_total\{name="payments",kind="not_permitted"\} 0$/m);

    const view = (await http().get('/admin/breakers/payments').expect(200)).body;
    expect(view).toMatchObject({ name: 'payments', state: 'closed', notPermittedCalls: 0, shadows: { strict: { state: 'open', wouldTrips: 1, wouldReject: 4, retryAfterMs: 10_000 } } });

    // The shadow recovers on the clock: half_open at the next call after its open duration, closed on a success.
    clock.advance(10_000);
    await http().get('/pay').expect(200);
    const after = (await http().get('/admin/breakers/payments').expect(200)).body;
    expect(after.shadows.strict).toMatchObject({ state: 'closed', wouldTrips: 1, wouldReject: 4 });

    // Shadows are JSON: the admin API replaces them (fresh would-be state) and removes them.
    const replaced = await http().post('/admin/breakers/payments/reconfigure').send({ shadows: { lax: { failureRateThreshold: 90 } } }).expect(200);
    expect(Object.keys(replaced.body.shadows)).toEqual(['lax']);
    expect(replaced.body.shadows.lax).toMatchObject({ state: 'closed', calls: 0, wouldTrips: 0 });
    const refused = await http().post('/admin/breakers/payments/reconfigure').send({ shadows: { lax: { isFailure: 'x' } } }).expect(400);
    expect(refused.body).toMatchObject({ option: 'shadows.lax.isFailure' });
    const removed = await http().post('/admin/breakers/payments/reconfigure').send({ shadows: null }).expect(200);
    expect(removed.body.shadows).toBeUndefined();
  });
});
