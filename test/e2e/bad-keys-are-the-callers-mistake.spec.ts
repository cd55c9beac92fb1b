/**
 * A key a family refuses (too long, reserved, invisible characters, not a string) comes from the
 * request, so over HTTP it is a 400 with a short body naming the family and the problem, and Nest
 * logs nothing: it was a 500 with an ERROR and a stack per request, which let any client flood the
 * logs. A key function that throws is the developer's code: its error passes through (a 500 here).
 * errorFactory does not see key errors; a filter of yours naming CircuitBreakerKeyError does.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ArgumentsHost, Catch, Controller, Get, Param, ParseIntPipe } from '@nestjs/common';
import type { ExceptionFilter, LoggerService } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerKeyError, CircuitBreakerModule, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { Apps } from './helpers.js';

@Controller('tenants')
class TenantsController {
  @Get(':tenant')
  @UseCircuitBreaker('tenant-dbs', { key: (tenant: string) => tenant })
  async get(@Param('tenant') tenant: string): Promise<string> {
    return `ok ${tenant}`;
  }

  // The key function returns what the pipe made: a number, not a string.
  @Get('by-number/:id')
  @UseCircuitBreaker('tenant-dbs', { key: (id: number) => id as unknown as string })
  async byNumber(@Param('id', ParseIntPipe) id: number): Promise<string> {
    return `ok ${id}`;
  }

  @Get('throwing/:tenant')
  @UseCircuitBreaker('tenant-dbs', {
    key: () => {
      throw new Error('no tenant in the request context');
    },
  })
  async throwing(@Param('tenant') tenant: string): Promise<string> {
    return `ok ${tenant}`;
  }
}

class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push([message, ...rest].map(String).join(' '));
  }
}

@Catch(CircuitBreakerKeyError)
class OwnKeyErrorFilter implements ExceptionFilter<CircuitBreakerKeyError> {
  catch(error: CircuitBreakerKeyError, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>().status(422).json({ mine: error.familyName });
  }
}

describe('a key the family refuses, over HTTP', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(options: CircuitBreakerModuleOptions = {}, providers: { provide: symbol | string; useClass: new () => unknown }[] = []) {
    const logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger: false, families: { 'tenant-dbs': {} }, ...options })],
      controllers: [TenantsController],
      providers,
    }).compile();
    const app = apps.track(moduleRef.createNestApplication({ logger }));
    await app.init();
    return { server: app.getHttpServer() as App, logger };
  }

  it.each<[string, string, string]>([
    ['a reserved key', '_other', 'is reserved'],
    ['a key with a zero-width space', 'a%E2%80%8Bb', 'contains U+200B'],
    ['a key too long for a breaker name', 'y'.repeat(5_000), 'characters long'],
  ])('%s answers 400 naming the family and the problem, and logs nothing', async (_what, key, problem) => {
    const { server, logger } = await setup();
    const res = await request(server).get(`/tenants/${key}`).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', family: 'tenant-dbs', message: expect.stringContaining(problem) });
    expect(res.body.message).toMatch(/^Circuit breaker family "tenant-dbs": key /);
    // Never more than 60 characters of the key: a 5,000-character key is not echoed.
    expect(res.text.length).toBeLessThan(400);
    expect(res.text).not.toContain('y'.repeat(61));
    expect(logger.errors).toEqual([]);
  });

  it('a key that is not a string answers 400 without showing the value', async () => {
    const { server, logger } = await setup();
    const res = await request(server).get('/tenants/by-number/7').expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, family: 'tenant-dbs', message: 'Circuit breaker family "tenant-dbs": key 7 is not a string (a key must be a non-empty string)' });
    expect(logger.errors).toEqual([]);
  });

  it('a good key still answers 200', async () => {
    const { server } = await setup();
    await request(server).get('/tenants/acme').expect(200, 'ok acme');
  });

  it('a key function that throws passes its own error through: a 500, logged as Nest logs any error', async () => {
    const { server, logger } = await setup();
    const res = await request(server).get('/tenants/throwing/acme').expect(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    expect(logger.errors.join('\n')).toContain('no tenant in the request context');
  });

  it('errorFactory is not asked about a refused key (it maps open circuits and timeouts)', async () => {
    const seen: unknown[] = [];
    const { server } = await setup({
      errorFactory: (error) => {
        seen.push(error);
        return undefined;
      },
    });
    await request(server).get('/tenants/_overflow').expect(400);
    expect(seen).toEqual([]);
  });

  it('a global filter of yours that names CircuitBreakerKeyError receives it as it is', async () => {
    const { server } = await setup({}, [{ provide: APP_FILTER, useClass: OwnKeyErrorFilter }]);
    await request(server).get('/tenants/_other').expect(422, { mine: 'tenant-dbs' });
  });
});
