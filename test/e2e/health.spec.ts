import 'reflect-metadata';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import type { CircuitBreaker, CircuitBreakerSettings } from '../../lib/index.js';
import { CircuitBreakerHealthIndicator, CircuitBreakerHealthModule } from '../../lib/health/index.js';
import type { CircuitBreakerHealthDetails } from '../../lib/health/index.js';

// Terminus 12 has `degraded` (HTTP 200, overall "degraded"); Terminus 11 reports those breakers `up`.
// CI runs this file against both: the expectations branch on the installed version, nothing is skipped.
const terminusVersion = (createRequire(import.meta.url)('@nestjs/terminus/package.json') as { version: string }).version;
const hasDegraded = Number(terminusVersion.split('.')[0]) >= 12;
const DEGRADED = hasDegraded ? 'degraded' : 'up';
const OVERALL_DEGRADED = hasDegraded ? 'degraded' : 'ok';

const SECRET = 'upstream said: password=hunter2 at db-7.internal';
const OPEN_MS = 1_000;

interface HealthBody {
  status: string;
  info?: Record<string, KeyDetails>;
  error?: Record<string, KeyDetails>;
  details: Record<string, KeyDetails>;
}
interface KeyDetails {
  status: string;
  message?: string;
  breakers?: Record<string, CircuitBreakerHealthDetails>;
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

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { openAs: 'down' })]);
  }

  @Get('payments')
  @HealthCheck()
  payments(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('payments_breaker', { breakers: ['payments'] })]);
  }

  @Get('typo')
  @HealthCheck()
  typo(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { breakers: ['payments', 'paymnets'] })]);
  }

  @Get('bad-option')
  @HealthCheck()
  badOption(): Promise<HealthCheckResult> {
    const openAs = 'off' as unknown as 'down';
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { openAs })]);
  }
}

const breakerOptions: CircuitBreakerSettings = {
  slidingWindow: { type: 'count', size: 10 },
  minimumCalls: 2,
  failureRateThreshold: 50,
  openDurationMs: OPEN_MS,
  halfOpenMaxCalls: 2,
};

let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(breakers: Record<string, CircuitBreakerSettings> = { payments: breakerOptions, inventory: breakerOptions }) {
  const clock = new ManualClock();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TerminusModule.forRoot({ logger: false }),
      CircuitBreakerHealthModule,
      CircuitBreakerModule.forRoot({ defaults: { clock }, breakers, logger: false }),
    ],
    controllers: [HealthController],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  const registry = app.get(CircuitBreakerRegistry);
  const get = async (path: string) => {
    const res = await request(app!.getHttpServer()).get(path);
    return { code: res.status, body: res.body as HealthBody, text: res.text };
  };
  return { clock, registry, get };
}

function fail(breaker: CircuitBreaker): void {
  expect(() =>
    breaker.executeSync(() => {
      throw new Error(SECRET);
    }),
  ).toThrow(SECRET);
}

function trip(breaker: CircuitBreaker): void {
  fail(breaker);
  fail(breaker);
  expect(breaker.state).toBe('open');
}

function breakersOf(body: HealthBody, key = 'circuit_breakers'): Record<string, CircuitBreakerHealthDetails> {
  return body.details[key]!.breakers!;
}

describe(`GET /health with CircuitBreakerHealthModule (Terminus ${terminusVersion})`, () => {
  it('reports every breaker up, with state, rates and window size, when all are closed', async () => {
    const { registry, get } = await start();
    const payments = registry.get('payments');
    payments.executeSync(() => 'ok');
    payments.executeSync(() => 'ok');
    fail(payments); // 1 of 3: 33.33 %, below the 50 % threshold

    const { code, body } = await get('/health');

    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.details.circuit_breakers!.status).toBe('up');
    expect(breakersOf(body)).toEqual({
      payments: { status: 'up', state: 'closed', failureRate: 33.33, slowCallRate: 0, calls: 3 },
      inventory: { status: 'up', state: 'closed', failureRate: 0, slowCallRate: 0, calls: 0 },
    });
  });

  it(`reports an open breaker ${DEGRADED} with HTTP 200 by default, with the time left before a trial`, async () => {
    const { clock, registry, get } = await start();
    trip(registry.get('payments'));
    clock.advance(400);

    const { code, body } = await get('/health');

    expect(code).toBe(200);
    expect(body.status).toBe(OVERALL_DEGRADED);
    expect(body.details.circuit_breakers!.status).toBe(DEGRADED);
    expect(breakersOf(body).payments).toEqual({
      status: DEGRADED,
      state: 'open',
      failureRate: 100,
      slowCallRate: 0,
      calls: 2,
      retryAfterMs: 600,
    });
    expect(breakersOf(body).inventory).toMatchObject({ status: 'up', state: 'closed' });
  });

  it("reports an open breaker down with HTTP 503 when openAs is 'down'", async () => {
    const { registry, get } = await start();
    trip(registry.get('payments'));

    const { code, body } = await get('/health/ready');

    expect(code).toBe(503);
    expect(body.status).toBe('error');
    expect(body.error!.circuit_breakers!.status).toBe('down');
    expect(breakersOf(body).payments).toMatchObject({ status: 'down', state: 'open', retryAfterMs: OPEN_MS });
    // the healthy breaker is still listed, up, so the operator sees which one failed the probe
    expect(breakersOf(body).inventory).toMatchObject({ status: 'up', state: 'closed' });
  });

  it(`reports an open breaker whose open duration is over ${DEGRADED}, even with openAs 'down': its next call is a trial`, async () => {
    const { clock, registry, get } = await start();
    const payments = registry.get('payments');
    trip(payments);
    clock.advance(OPEN_MS - 1);
    expect((await get('/health/ready')).code).toBe(503);

    clock.advance(1);
    const { code, body } = await get('/health/ready');

    // the move to half_open is lazy (on the next call): a probe answering 503 here would keep the
    // instance out of rotation, and with no traffic the circuit would never be tried again
    expect(payments.state).toBe('open');
    expect(code).toBe(200);
    expect(body.status).toBe(OVERALL_DEGRADED);
    expect(breakersOf(body).payments).toMatchObject({ status: DEGRADED, state: 'open', retryAfterMs: 0 });
  });

  it(`reports half_open ${DEGRADED} whatever openAs says: trial calls are being admitted`, async () => {
    const { clock, registry, get } = await start();
    const payments = registry.get('payments');
    trip(payments);
    clock.advance(OPEN_MS);
    payments.executeSync(() => 'trial ok'); // 1 of the 2 trials needed to close
    expect(payments.state).toBe('half_open');

    for (const path of ['/health', '/health/ready']) {
      const { code, body } = await get(path);
      expect(code).toBe(200);
      expect(body.status).toBe(OVERALL_DEGRADED);
      expect(breakersOf(body).payments).toMatchObject({ status: DEGRADED, state: 'half_open' });
      // a trial slot is free: nothing to wait for
      expect(breakersOf(body).payments).not.toHaveProperty('retryAfterMs');
    }
  });

  it('reports retryAfterMs in half_open while every trial slot is taken', async () => {
    const { clock, registry, get } = await start({ payments: { ...breakerOptions, halfOpenMaxCalls: 1, halfOpenProbeTimeoutMs: OPEN_MS } });
    const payments = registry.get('payments');
    trip(payments);
    clock.advance(OPEN_MS);
    let finish: (value: string) => void = () => undefined;
    const trial = payments.execute(() => new Promise<string>((resolve) => (finish = resolve)));
    clock.advance(300); // the probe times out OPEN_MS after it started

    const { body } = await get('/health');

    expect(breakersOf(body).payments).toMatchObject({ status: DEGRADED, state: 'half_open', retryAfterMs: 700 });
    finish('done');
    await expect(trial).resolves.toBe('done');
  });

  it(`reports forced_open ${DEGRADED} by default and down with openAs 'down', without retryAfterMs`, async () => {
    const { registry, get } = await start();
    registry.get('inventory').forceOpen();

    const lenient = await get('/health');
    expect(lenient.code).toBe(200);
    expect(lenient.body.status).toBe(OVERALL_DEGRADED);
    expect(breakersOf(lenient.body).inventory).toEqual({ status: DEGRADED, state: 'forced_open', failureRate: 0, slowCallRate: 0, calls: 0 });

    const strict = await get('/health/ready');
    expect(strict.code).toBe(503);
    expect(breakersOf(strict.body).inventory).toEqual({ status: 'down', state: 'forced_open', failureRate: 0, slowCallRate: 0, calls: 0 });
  });

  it('reports disabled and metrics_only up even when metrics_only would have tripped', async () => {
    const { registry, get } = await start();
    registry.get('payments').disable();
    const inventory = registry.get('inventory');
    inventory.metricsOnly();
    fail(inventory);
    fail(inventory);
    expect(inventory.snapshot().wouldTrip).toBe(true);

    for (const path of ['/health', '/health/ready']) {
      const { code, body } = await get(path);
      expect(code).toBe(200);
      expect(body.status).toBe('ok');
      expect(breakersOf(body).payments).toMatchObject({ status: 'up', state: 'disabled' });
      expect(breakersOf(body).inventory).toMatchObject({ status: 'up', state: 'metrics_only', failureRate: 100, calls: 2 });
    }
  });

  it('follows the breaker back to up once its trials close it', async () => {
    const { clock, registry, get } = await start();
    const payments = registry.get('payments');
    trip(payments);
    clock.advance(OPEN_MS);
    payments.executeSync(() => 1);
    payments.executeSync(() => 2);
    expect(payments.state).toBe('closed');

    const { code, body } = await get('/health/ready');

    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(breakersOf(body).payments).toEqual({ status: 'up', state: 'closed', failureRate: 0, slowCallRate: 0, calls: 0 });
  });

  it('puts no error message or stack trace in the details', async () => {
    const { registry, get } = await start();
    trip(registry.get('payments'));
    fail(registry.get('inventory'));

    for (const path of ['/health', '/health/ready']) {
      const { text } = await get(path);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('Error');
      expect(text).not.toMatch(/stack|message/i);
    }
  });

  it('reports only the breakers named in `breakers`, under the given key', async () => {
    const { registry, get } = await start();
    trip(registry.get('inventory'));

    const { code, body } = await get('/health/payments');

    expect(code).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.details)).toEqual(['payments_breaker']);
    expect(Object.keys(breakersOf(body, 'payments_breaker'))).toEqual(['payments']);
  });

  it("reports a name no breaker has as down with state 'unknown', and does not create that breaker", async () => {
    const { registry, get } = await start();

    const { code, body } = await get('/health/typo');

    expect(code).toBe(503);
    expect(body.status).toBe('error');
    expect(breakersOf(body)).toEqual({
      payments: { status: 'up', state: 'closed', failureRate: 0, slowCallRate: 0, calls: 0 },
      paymnets: { status: 'down', state: 'unknown' },
    });
    expect(registry.has('paymnets')).toBe(false);
  });

  it('reports up with an empty list when the application has no breakers', async () => {
    const { get } = await start({});

    const { code, body } = await get('/health');

    expect(code).toBe(200);
    expect(body.details.circuit_breakers).toEqual({ status: 'up', breakers: {} });
  });

  it('lists breakers built at runtime from defaults (undeclared names) as well', async () => {
    const { registry, get } = await start({});
    registry.get('adhoc', 'test').forceOpen();

    const { body } = await get('/health');

    expect(breakersOf(body).adhoc).toMatchObject({ status: DEGRADED, state: 'forced_open' });
  });

  it('answers down with a generic message instead of throwing when reading a breaker fails', async () => {
    const { registry, get } = await start();
    jest.spyOn(registry.get('payments'), 'snapshot').mockImplementation(() => {
      throw new Error(SECRET);
    });

    const { code, body, text } = await get('/health');

    expect(code).toBe(503); // a throwing indicator would make Terminus answer 500
    expect(body.status).toBe('error');
    expect(body.details.circuit_breakers).toEqual({ status: 'down', message: 'The circuit breaker health check failed unexpectedly' });
    expect(text).not.toContain('hunter2');
  });

  it('answers down instead of throwing on an invalid openAs', async () => {
    const { get } = await start();

    const { code, body } = await get('/health/bad-option');

    expect(code).toBe(503);
    expect(body.details.circuit_breakers!.status).toBe('down');
    expect(body.details.circuit_breakers!.message).toContain('openAs');
  });

  it('returns the Terminus result directly when called outside a health check', async () => {
    const { registry } = await start();
    trip(registry.get('payments'));
    const indicator = app!.get(CircuitBreakerHealthIndicator);

    expect(indicator.isHealthy('cb', { breakers: ['payments'], openAs: 'down' })).toEqual({
      cb: { status: 'down', breakers: { payments: { status: 'down', state: 'open', failureRate: 100, slowCallRate: 0, calls: 2, retryAfterMs: OPEN_MS } } },
    });
  });
});

describe('CircuitBreakerHealthModule bootstrap', () => {
  it('fails with a message naming CircuitBreakerModule.forRoot when the application has no CircuitBreakerModule', async () => {
    const compiling = Test.createTestingModule({
      imports: [TerminusModule.forRoot({ logger: false }), CircuitBreakerHealthModule],
      controllers: [HealthController],
    }).compile();

    await expect(compiling).rejects.toThrow(/import CircuitBreakerModule\.forRoot\(\)/i);
  });

  it('finds the registry of a CircuitBreakerModule.forRootAsync application', async () => {
    const clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        CircuitBreakerHealthModule,
        CircuitBreakerModule.forRootAsync({ useFactory: () => ({ defaults: { clock }, breakers: { payments: breakerOptions }, logger: false }) }),
      ],
      controllers: [HealthController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    app.get(CircuitBreakerRegistry).get('payments').forceOpen();

    const res = await request(app.getHttpServer()).get('/health/ready');

    expect(res.status).toBe(503);
    expect((res.body as HealthBody).details.circuit_breakers!.breakers!.payments).toMatchObject({ state: 'forced_open' });
  });
});
