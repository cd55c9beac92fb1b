/**
 * app.close() while a request waits on a dependency that never answers: the breaker's dispose()
 * (onModuleDestroy) must not take the in-flight call's deadline away. The request still gets its
 * 504 (or its fallback) when timeoutMs passes, the HTTP server can then close, and nothing is left
 * armed afterwards. Before the fix, dispose() cleared the deadline, the request hung forever, and
 * so did app.close() (the HTTP server waits for its open requests).
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Observable } from 'rxjs';
import { CircuitBreakerModule, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, until } from './helpers.js';

const TIMEOUT_MS = 2_000;

@Injectable()
class HungDependency {
  calls = 0;

  /** A dependency that accepted the request and will never answer. */
  @UseCircuitBreaker('hung-provider', { fallback: 'cached' })
  fetch(): Promise<string> {
    this.calls++;
    return new Promise<string>(() => undefined);
  }

  cached(): string {
    return 'from the fallback';
  }
}

@Controller()
class HungController {
  constructor(private readonly dependency: HungDependency) {}

  @Get('route')
  @UseCircuitBreaker('hung-route')
  route(): Promise<string> {
    this.dependency.calls++;
    return new Promise<string>(() => undefined);
  }

  @Get('provider')
  provider(): Promise<string> {
    return this.dependency.fetch();
  }

  @Get('observable')
  @UseCircuitBreaker('hung-observable')
  observable(): Observable<string> {
    this.dependency.calls++;
    return new Observable<string>(() => undefined);
  }
}

async function listening(clock: ManualClock, apps: Apps): Promise<{ app: INestApplication; url: string; dependency: HungDependency }> {
  const app = await startApp({
    imports: [
      CircuitBreakerModule.forRoot({
        logger: false,
        defaults: { clock, timeoutMs: TIMEOUT_MS },
        breakers: { 'hung-route': {}, 'hung-provider': {}, 'hung-observable': {} },
      }),
    ],
    controllers: [HungController],
    providers: [HungDependency],
  });
  await app.listen(0, '127.0.0.1');
  apps.track(app);
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, dependency: app.get(HungDependency) };
}

/** Closes the app, waits until the HTTP server stopped accepting (the breakers are disposed by then), then lets `afterDispose` move time. */
async function closeWhileInFlight(app: INestApplication, afterDispose: () => void): Promise<void> {
  const server = app.getHttpServer() as Server;
  let closed = false;
  const closing = app.close().then(() => {
    closed = true;
  });
  // Nest disposes providers (onModuleDestroy) before it closes the HTTP server.
  await until(() => !server.listening, 'the HTTP server to stop listening');
  expect(closed).toBe(false); // waiting for the request in flight
  afterDispose();
  await closing;
}

describe('app.close() with a call in flight to a dependency that never settles', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it.each([
    ['a decorated route', '/route', 504, 'hung-route'],
    ['a decorated provider with a fallback', '/provider', 200, 'from the fallback'],
    ['a decorated Observable route', '/observable', 504, 'hung-observable'],
  ])('%s: the request gets its answer at the deadline, close() completes, no timer is left', async (_what, path, status, body) => {
    const clock = new ManualClock(1_000_000);
    const { app, url, dependency } = await listening(clock, apps);
    const response = fetch(`${url}${path}`, { headers: { connection: 'close' } });
    await until(() => dependency.calls === 1, 'the request to reach the dependency');

    await closeWhileInFlight(app, () => clock.advance(TIMEOUT_MS));
    apps.forget(app);

    const answer = await response;
    expect(answer.status).toBe(status);
    expect(await answer.text()).toContain(body);
    expect(clock.pendingTimers).toBe(0);
  });
});
