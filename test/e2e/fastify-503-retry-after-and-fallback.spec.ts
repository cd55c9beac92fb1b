import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param, ParseIntPipe } from '@nestjs/common';
import type { ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, tripFast, until } from './helpers.js';

@Controller('quotes')
class FastifyQuotesController {
  calls = 0;
  hangs = 0;
  fallbackArgs: unknown[][] = [];

  @Get('hang')
  @UseCircuitBreaker('fastify-hang')
  hang(): Promise<string> {
    this.hangs++;
    return new Promise<string>(() => undefined);
  }

  @Get('cached/:id')
  @UseCircuitBreaker('fastify-cached', { fallback: 'fromCache' })
  async cached(@Param('id', ParseIntPipe) id: number): Promise<{ id: number; source: string }> {
    this.calls++;
    throw new Error('quotes down');
  }

  fromCache(id: number, error: unknown): { id: number; source: string; reason: string } {
    this.fallbackArgs.push([id, error]);
    return { id, source: 'cache', reason: (error as Error).name };
  }

  @Get(':id')
  @UseCircuitBreaker('fastify-quotes')
  async get(@Param('id') id: string): Promise<{ id: string }> {
    this.calls++;
    throw new Error(`quote ${id} unavailable`);
  }
}

describe('Fastify platform', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup() {
    const clock = new ManualClock();
    const metadata: ModuleMetadata = {
      imports: [
        CircuitBreakerModule.forRoot({
          logger: false,
          defaults: { clock, ...tripFast({ openDurationMs: 2_500 }) },
          breakers: { 'fastify-hang': { timeoutMs: 300 } },
        }),
      ],
      controllers: [FastifyQuotesController],
    };
    const moduleRef = await Test.createTestingModule(metadata).compile();
    const app = apps.track(moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false }));
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return { app, clock, controller: app.get(FastifyQuotesController), registry: app.get(CircuitBreakerRegistry) };
  }

  it('open circuit -> 503 with the body and a Retry-After header in whole seconds, rounded up', async () => {
    const { app, clock, controller, registry } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/quotes/1').expect(500);
    await request(server).get('/quotes/1').expect(500);
    expect(registry.get('fastify-quotes').state).toBe('open');

    let res = await request(server).get('/quotes/1').expect(503);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringContaining('fastify-quotes'),
      breaker: 'fastify-quotes',
      retryAfterMs: 2_500,
    });
    expect(res.headers['retry-after']).toBe('3');

    clock.advance(1_600);
    res = await request(server).get('/quotes/1').expect(503);
    expect(res.body.retryAfterMs).toBe(900);
    expect(res.headers['retry-after']).toBe('1');
    expect(controller.calls).toBe(2);
  });

  it('timeout -> 504', async () => {
    const { app, clock, controller } = await setup();
    const pending = request(app.getHttpServer()).get('/quotes/hang').then((r) => r);
    await until(() => controller.hangs === 1, 'the handler to run');
    clock.advance(300);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ statusCode: 504, error: 'Gateway Timeout', breaker: 'fastify-hang', timeoutMs: 300 });
  });

  it('a fallback gets the piped arguments and the error, on failures and on an open circuit', async () => {
    const { app, controller, registry } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/quotes/cached/5').expect(200, { id: 5, source: 'cache', reason: 'Error' });
    await request(server).get('/quotes/cached/6').expect(200, { id: 6, source: 'cache', reason: 'Error' });
    expect(registry.get('fastify-cached').state).toBe('open');
    const res = await request(server).get('/quotes/cached/7').expect(200, { id: 7, source: 'cache', reason: 'CircuitOpenError' });
    expect(res.headers['retry-after']).toBeUndefined();
    expect(controller.calls).toBe(2);
    expect(controller.fallbackArgs.map(([id]) => id)).toEqual([5, 6, 7]);
    expect(controller.fallbackArgs[2]![1]).toBeInstanceOf(CircuitOpenError);
  });
});
