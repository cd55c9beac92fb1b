/**
 * The module logs every transition. A trip's line gives the rates that caused it; a manual one
 * (forceOpen, disable, metricsOnly, reset) has no rates that mean anything ("failure rate 0% over
 * 0 calls" misleads an operator reading the log): it says it was done by hand, with which call and
 * from where (the admin API, or code).
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerAdminModule, CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  transitions(): { level: string; message: string }[] {
    return this.lines.filter((l) => l.message.includes(' -> '));
  }
}

describe('transition log lines', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup() {
    const logger = new CapturingLogger();
    const clock = new ManualClock(1_000_000);
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({ logger, defaults: { clock, ...tripFast() }, breakers: { payments: {} } }),
          CircuitBreakerAdminModule.register({ path: 'admin/breakers' }),
        ],
      }),
    );
    const post = (path: string) => request(app.getHttpServer() as App).post(`/admin/breakers${path}`).set('content-type', 'application/json').send({});
    return { app, logger, registry: app.get(CircuitBreakerRegistry), post };
  }

  it('force-open over the admin API: a warning saying so, without rates', async () => {
    const { logger, post } = await setup();
    await post('/payments/force-open').expect(200);
    const [line] = logger.transitions();
    expect(line).toEqual({
      level: 'warn',
      message: 'Circuit breaker "payments" closed -> forced_open by hand (forceOpen(), over the admin API): every call is refused until reset()',
    });
  });

  it('each manual call made in code says "in code"; none gives rates', async () => {
    const { logger, registry } = await setup();
    const payments = registry.get('payments');
    payments.disable();
    payments.metricsOnly();
    payments.forceOpen();
    payments.reset();
    const lines = logger.transitions().map((l) => l.message);
    expect(lines).toEqual([
      'Circuit breaker "payments" closed -> disabled by hand (disable(), in code): every call is admitted and none is recorded until reset()',
      'Circuit breaker "payments" disabled -> metrics_only by hand (metricsOnly(), in code): calls are recorded, none is refused, until reset()',
      'Circuit breaker "payments" metrics_only -> forced_open by hand (forceOpen(), in code): every call is refused until reset()',
      'Circuit breaker "payments" forced_open -> closed by hand (reset(), in code): the window is cleared',
    ]);
  });

  it('a trip still gives the rates that caused it', async () => {
    const { logger, registry } = await setup();
    const payments = registry.get('payments');
    for (let i = 0; i < 2; i++) await payments.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    const [line] = logger.transitions();
    expect(line!.level).toBe('warn');
    expect(line!.message).toMatch(/^Circuit breaker "payments" closed -> open \(failure_rate\): failure rate 100%, slow-call rate 0% over 2 calls; next trial in 10000 ms$/);
  });
});
