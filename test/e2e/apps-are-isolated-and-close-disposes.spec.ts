import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Scope } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  CircuitBreakerTimeoutError,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { CircuitBreakerSettings } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

@Controller('shared')
class SharedController {
  @Get()
  @UseCircuitBreaker('shared')
  async get(): Promise<string> {
    throw new Error('down');
  }

  @Get('unnamed')
  @UseCircuitBreaker()
  async unnamed(): Promise<string> {
    throw new Error('down');
  }
}

@Controller({ path: 'scoped', scope: Scope.REQUEST })
class ScopedSharedController {
  @Get()
  @UseCircuitBreaker('scoped-shared')
  async get(): Promise<string> {
    throw new Error('down');
  }
}

@Injectable()
class SharedClient {
  constructor(@InjectCircuitBreaker('injected-shared') readonly breaker: CircuitBreaker) {}

  @UseCircuitBreaker('shared')
  async call(): Promise<string> {
    throw new Error('down');
  }
}

async function twoApps(a: CircuitBreakerSettings, b: CircuitBreakerSettings, apps: Apps) {
  const clockA = new ManualClock();
  const clockB = new ManualClock();
  const build = (clock: ManualClock, settings: CircuitBreakerSettings, extra: Record<string, CircuitBreakerSettings>) =>
    startApp({
      imports: [
        CircuitBreakerModule.forRoot({
          logger: false,
          defaults: { clock, ...tripFast() },
          breakers: { shared: settings, 'scoped-shared': settings, 'injected-shared': settings, ...extra },
        }),
      ],
      controllers: [SharedController, ScopedSharedController],
      providers: [SharedClient],
    });
  const appA = apps.track(await build(clockA, a, { 'only-in-a': {} }));
  const appB = apps.track(await build(clockB, b, {}));
  return { appA, appB, clockA, clockB, registryA: appA.get(CircuitBreakerRegistry), registryB: appB.get(CircuitBreakerRegistry) };
}

describe('applications in one process', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('same controller class, same breaker name, different options: each app has its own breaker', async () => {
    const { appA, appB, registryA, registryB } = await twoApps({ openDurationMs: 1_000 }, { openDurationMs: 5_000 }, apps);
    expect(registryA.get('shared')).not.toBe(registryB.get('shared'));
    expect(registryA.get('shared').options.openDurationMs).toBe(1_000);
    expect(registryB.get('shared').options.openDurationMs).toBe(5_000);

    const serverA = appA.getHttpServer();
    const serverB = appB.getHttpServer();
    await request(serverA).get('/shared').expect(500);
    await request(serverA).get('/shared').expect(500);
    const openA = await request(serverA).get('/shared').expect(503);
    expect(openA.headers['retry-after']).toBe('1');
    expect(registryB.get('shared').state).toBe('closed');
    expect(registryB.get('shared').snapshot().calls).toBe(0);

    await request(serverB).get('/shared').expect(500);
    await request(serverB).get('/shared').expect(500);
    const openB = await request(serverB).get('/shared').expect(503);
    expect(openB.headers['retry-after']).toBe('5');
    expect(registryA.get('shared').snapshot().calls).toBe(2);
  });

  it('the unnamed breaker (ClassName.methodName) is per app too', async () => {
    const { appA, registryA, registryB } = await twoApps({}, {}, apps);
    await request(appA.getHttpServer()).get('/shared/unnamed').expect(500);
    expect(registryA.get('SharedController.unnamed').snapshot().calls).toBe(1);
    expect(registryB.get('SharedController.unnamed').snapshot().calls).toBe(0);
  });

  it('same provider class in two apps: each instance uses its own app breaker', async () => {
    const { appA, appB, registryA, registryB } = await twoApps({}, {}, apps);
    await appA.get(SharedClient).call().catch(() => undefined);
    expect(registryA.get('shared').snapshot().calls).toBe(1);
    expect(registryB.get('shared').snapshot().calls).toBe(0);
    expect(appA.get(SharedClient).breaker).toBe(registryA.get('injected-shared'));
    expect(appB.get(SharedClient).breaker).toBe(registryB.get('injected-shared'));
  });

  it('same request-scoped controller class in two apps: each app trips only its own breaker', async () => {
    const { appA, appB, registryA, registryB } = await twoApps({ openDurationMs: 1_000 }, { openDurationMs: 5_000 }, apps);
    await request(appA.getHttpServer()).get('/scoped').expect(500);
    expect(registryA.get('scoped-shared').snapshot().calls).toBe(1);
    expect(registryB.get('scoped-shared').snapshot().calls).toBe(0);

    await request(appA.getHttpServer()).get('/scoped').expect(500);
    const res = await request(appA.getHttpServer()).get('/scoped').expect(503);
    expect(res.headers['retry-after']).toBe('1');
    await request(appB.getHttpServer()).get('/scoped').expect(500);
  });

  it('names declared by one app are not visible in the other', async () => {
    const { registryA, registryB } = await twoApps({}, {}, apps);
    expect(registryA.has('only-in-a')).toBe(true);
    expect(registryA.isDeclared('only-in-a')).toBe(true);
    expect(registryB.has('only-in-a')).toBe(false);
    expect(registryB.isDeclared('only-in-a')).toBe(false);
  });

  it('strict mode is per app: a name declared only by the running app does not satisfy another', async () => {
    const clock = new ManualClock();
    apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, strict: true, defaults: { clock }, breakers: { shared: {}, 'scoped-shared': {}, 'injected-shared': {} } })],
        controllers: [SharedController],
        providers: [SharedClient],
      }),
    );
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ logger: false, strict: true, defaults: { clock }, breakers: { 'injected-shared': {} } })],
      providers: [SharedClient],
    });
    expect((error as Error).name).toBe('CircuitBreakerConfigError');
    expect((error as Error).message).toContain('"shared"');
  });
});

describe('app.close() disposes the breakers', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('an open breaker with a healthCheck leaves no pending timer once the app is closed', async () => {
    const clock = new ManualClock();
    let checks = 0;
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock },
            breakers: {
              shared: tripFast({
                healthCheck: {
                  check: () => {
                    checks++;
                    return false;
                  },
                  intervalMs: 1_000,
                },
              }),
            },
          }),
        ],
        controllers: [SharedController],
      }),
    );
    const registry = app.get(CircuitBreakerRegistry);
    await request(app.getHttpServer()).get('/shared').expect(500);
    await request(app.getHttpServer()).get('/shared').expect(500);
    expect(registry.get('shared').state).toBe('open');
    expect(clock.pendingTimers).toBeGreaterThan(0);
    clock.advance(1_000);
    expect(checks).toBe(1);
    expect(clock.pendingTimers).toBeGreaterThan(0);

    await apps.close(app);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10_000);
    expect(checks).toBe(1);
  });

  it('a pending per-call deadline outlives close until it fires: the call times out (nothing hangs), then no timer is left', async () => {
    const clock = new ManualClock();
    @Injectable()
    class Hanging {
      @UseCircuitBreaker('hanging')
      hang(): Promise<never> {
        return new Promise<never>(() => undefined);
      }
    }
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, breakers: { hanging: { timeoutMs: 5_000 } } })],
        providers: [Hanging],
      }),
    );
    const outcome = app.get(Hanging).hang().then(() => 'resolved', (error: unknown) => error);
    expect(clock.pendingTimers).toBe(1);
    await apps.close(app);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5_000);
    expect(await outcome).toBeInstanceOf(CircuitBreakerTimeoutError);
    expect(clock.pendingTimers).toBe(0);
  });
});
