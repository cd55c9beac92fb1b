/**
 * A breaker whose store fails keeps protecting on local state, and operators see it: /health
 * details and Prometheus report the fallback, and the store's warning goes through the app's Logger.
 * The store is the in-memory one with a switch; time comes from a ManualClock.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import { CircuitBreakerHealthIndicator, CircuitBreakerHealthModule } from '../../lib/health/index.js';
import { CircuitBreakerPrometheusModule } from '../../lib/prometheus/index.js';
import { Apps, startApp } from './helpers.js';

const SYNC_MS = 100;

class SwitchableStore extends InMemoryCircuitBreakerStore {
  down = false;
  override ping(): Promise<void> {
    return this.down ? Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')) : super.ping();
  }
  override sync(...args: Parameters<InMemoryCircuitBreakerStore['sync']>) {
    return this.down ? Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')) : super.sync(...args);
  }
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy()]);
  }
}

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly logs: string[] = [];
  log(message: string): void {
    this.logs.push(message);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
  error(): void {}
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
async function pass(clock: ManualClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 10) {
    clock.advance(Math.min(10, left));
    await settle();
  }
}

describe('a store outage, as operators see it', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('health details and metrics report the fallback and the rejoin; the warning goes through the Logger', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new SwitchableStore({ clock, syncIntervalMs: SYNC_MS, commandTimeoutMs: 50 });
    const logger = new CapturingLogger();
    const registry = new Registry();
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: { payments: { store }, inventory: {} }, logger }),
          TerminusModule,
          CircuitBreakerHealthModule,
          CircuitBreakerPrometheusModule.forRoot({ registry }),
        ],
        controllers: [HealthController],
      }),
    );
    const payments = app.get(CircuitBreakerRegistry).get('payments');
    const health = async () => (await request(app.getHttpServer()).get('/health').expect(200)).body.details.circuit_breakers.breakers;

    expect(await health()).toMatchObject({
      payments: { status: 'up', state: 'closed', store: 'shared', storeFallbacks: 0 },
      inventory: { status: 'up', state: 'closed' },
    });
    expect((await health()).inventory).not.toHaveProperty('store');
    let metrics = await registry.metrics();
    expect(metrics).toContain('circuit_breaker_store_shared{name="payments"} 1');
    expect(metrics).not.toContain('circuit_breaker_store_shared{name="inventory"}');

    store.down = true;
    await payments.execute(async () => 'ok'); // a delta to send
    await pass(clock, SYNC_MS);
    expect(await health()).toMatchObject({ payments: { status: 'up', state: 'closed', store: 'local_fallback', storeFallbacks: 1 } });
    metrics = await registry.metrics();
    expect(metrics).toContain('circuit_breaker_store_shared{name="payments"} 0');
    expect(metrics).toContain('circuit_breaker_store_fallbacks_total{name="payments"} 1');
    expect(logger.warnings.filter((w) => w.includes('store unavailable'))).toEqual([expect.stringContaining('ECONNREFUSED 127.0.0.1:6379')]);

    store.down = false;
    await pass(clock, SYNC_MS);
    expect(await health()).toMatchObject({ payments: { store: 'shared', storeFallbacks: 1 } });
    expect(logger.logs).toContainEqual(expect.stringContaining('reachable again'));
  });
});
