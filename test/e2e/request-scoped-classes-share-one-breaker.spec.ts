import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Scope } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

const created = { client: 0, controller: 0 };
const state = { clientCalls: 0, controllerCalls: 0, healthy: false };

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
}

@Injectable({ scope: Scope.REQUEST })
class PerRequestClient {
  constructor(@Inject(REQUEST) private readonly req: RequestLike) {
    created.client++;
  }

  @UseCircuitBreaker('per-request')
  async fetch(): Promise<string> {
    state.clientCalls++;
    if (!state.healthy) throw new Error('backend down');
    return `ok for ${String(this.req.headers['x-user'])}`;
  }
}

/** Implicitly request-scoped (it depends on a request-scoped provider); its route is not decorated. */
@Controller('via-provider')
class ViaProviderController {
  constructor(private readonly client: PerRequestClient) {}

  @Get()
  async get(): Promise<{ result?: string; failed?: string }> {
    try {
      return { result: await this.client.fetch() };
    } catch (error) {
      return { failed: (error as Error).name };
    }
  }
}

@Controller({ path: 'scoped', scope: Scope.REQUEST })
class ScopedController {
  constructor() {
    created.controller++;
  }

  @Get()
  @UseCircuitBreaker()
  async get(): Promise<{ ok: true }> {
    state.controllerCalls++;
    if (!state.healthy) throw new Error('backend down');
    return { ok: true };
  }
}

describe('request-scoped classes with decorated methods', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; clock: ManualClock; registry: CircuitBreakerRegistry }> {
    created.client = created.controller = 0;
    state.clientCalls = state.controllerCalls = 0;
    state.healthy = false;
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast({ minimumCalls: 3 }) } })],
        controllers: [ViaProviderController, ScopedController],
        providers: [PerRequestClient],
      }),
    );
    return { app, clock, registry: app.get(CircuitBreakerRegistry) };
  }

  it('a request-scoped provider: one breaker across requests, tripped by failures of several requests', async () => {
    const { app, clock, registry } = await setup();
    const server = app.getHttpServer();
    const before = created.client;
    for (let i = 0; i < 3; i++) {
      await request(server).get('/via-provider').expect(200, { failed: 'Error' });
    }
    expect(created.client - before).toBe(3);
    expect(registry.get('per-request').state).toBe('open');

    await request(server).get('/via-provider').expect(200, { failed: 'CircuitOpenError' });
    expect(state.clientCalls).toBe(3);

    clock.advance(10_000);
    state.healthy = true;
    await request(server).get('/via-provider').set('x-user', 'ada').expect(200, { result: 'ok for ada' });
    expect(registry.get('per-request').state).toBe('closed');
  });

  it('a request-scoped controller: an instance per request, one breaker (ClassName.methodName) that trips to 503', async () => {
    const { app, registry } = await setup();
    const server = app.getHttpServer();
    const before = created.controller;
    for (let i = 0; i < 3; i++) await request(server).get('/scoped').expect(500);
    expect(created.controller - before).toBe(3);
    expect(registry.has('ScopedController.get')).toBe(true);
    expect(registry.get('ScopedController.get').state).toBe('open');

    const res = await request(server).get('/scoped').expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, breaker: 'ScopedController.get', retryAfterMs: 10_000 });
    expect(res.headers['retry-after']).toBe('10');
    expect(state.controllerCalls).toBe(3);
  });
});
