import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, HttpStatus } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerErrorFactory, CircuitBreakerTimeoutError } from '../../lib/index.js';
import { Apps, startApp, tripFast, until } from './helpers.js';

@Controller('rated')
class RatedController {
  hangs = 0;

  @Get()
  @UseCircuitBreaker('rated')
  async get(): Promise<string> {
    throw new Error('down');
  }

  @Get('hang')
  @UseCircuitBreaker('rated-hang')
  hang(): Promise<string> {
    this.hangs++;
    return new Promise<string>(() => undefined);
  }

  @Get('plain-error')
  @UseCircuitBreaker('plain')
  async plain(): Promise<string> {
    throw new Error('plain failure');
  }
}

describe('errorFactory module option', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup() {
    const clock = new ManualClock();
    const seen: { error: CircuitOpenError | CircuitBreakerTimeoutError; type: string; path: string }[] = [];
    const errorFactory: CircuitBreakerErrorFactory = (error, host: ArgumentsHost) => {
      seen.push({ error, type: host.getType(), path: host.switchToHttp().getRequest<{ url: string }>().url });
      if (error instanceof CircuitOpenError) {
        return new HttpException(
          { statusCode: 429, message: `slow down, ${error.breakerName} is resting`, retryInMs: error.retryAfterMs },
          HttpStatus.TOO_MANY_REQUESTS,
        );
      }
      return undefined; // timeouts keep the built-in mapping
    };
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            errorFactory,
            defaults: { clock, ...tripFast() },
            breakers: { 'rated-hang': { timeoutMs: 500 } },
          }),
        ],
        controllers: [RatedController],
      }),
    );
    return { app, clock, seen, server: app.getHttpServer() };
  }

  it('maps an open circuit to what the factory returns (429), with the filter host (transport, request)', async () => {
    const { app, server, seen } = await setup();
    await request(server).get('/rated').expect(500);
    await request(server).get('/rated').expect(500);
    expect(seen).toHaveLength(0);
    expect(app.get(CircuitBreakerRegistry).get('rated').state).toBe('open');

    const res = await request(server).get('/rated').expect(429);
    expect(res.body).toEqual({ statusCode: 429, message: 'slow down, rated is resting', retryInMs: 10_000 });
    expect(res.headers['retry-after']).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.error).toBeInstanceOf(CircuitOpenError);
    expect(seen[0]!.type).toBe('http');
    expect(seen[0]!.path).toBe('/rated');
  });

  it('a factory returning undefined keeps the built-in mapping (timeout -> 504)', async () => {
    const { app, clock, server, seen } = await setup();
    const pending = request(server).get('/rated/hang').then((r) => r);
    await until(() => app.get(RatedController).hangs === 1, 'the handler to run');
    clock.advance(500);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ statusCode: 504, breaker: 'rated-hang', timeoutMs: 500 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.error.name).toBe('CircuitBreakerTimeoutError');
  });

  it('is not asked about other errors', async () => {
    const { server, seen } = await setup();
    await request(server).get('/rated/plain-error').expect(500);
    expect(seen).toHaveLength(0);
  });
});
