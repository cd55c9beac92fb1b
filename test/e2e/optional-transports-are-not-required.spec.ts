/**
 * @nestjs/microservices, @nestjs/websockets and graphql are optional: an application that has none
 * of them installed bootstraps, and its HTTP routes still answer 503. Here they are made unresolvable
 * for the library (as in an app that never installed them).
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Injectable } from '@nestjs/common';
import request from 'supertest';

// Nest itself looks for the first two through these subpaths (and does without them).
const OPTIONAL = [
  '@nestjs/microservices',
  '@nestjs/microservices/microservices-module.js',
  '@nestjs/websockets',
  '@nestjs/websockets/socket-module.js',
  '@nestjs/graphql',
  'graphql',
];
for (const name of OPTIONAL) {
  jest.unstable_mockModule(name, () => {
    throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  });
}

const { CircuitBreakerModule, CircuitBreakerRegistry, UseCircuitBreaker } = await import('../../lib/index.js');
const { loadTransport, transportClasses } = await import('../../lib/transport-errors.js');
const { Apps, startApp } = await import('./helpers.js');

@Injectable()
class InventoryClient {
  @UseCircuitBreaker('inventory')
  async stock(sku: string) {
    return { sku, stock: 3 };
  }
}

@Controller('stock')
class StockController {
  constructor(private readonly inventory: InventoryClient) {}

  @Get()
  get() {
    return this.inventory.stock('A-1');
  }
}

describe('an application without the optional transport packages', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('the library finds none of them', async () => {
    await expect(import('graphql')).rejects.toThrow("Cannot find module 'graphql'");
    for (const type of ['rpc', 'ws', 'graphql']) await loadTransport(type);
    for (const type of ['rpc', 'ws', 'graphql', 'http']) expect(loadTransport(type)).toBeUndefined(); // tried once, not again
    expect(transportClasses).toEqual({
      RpcException: null,
      BaseRpcExceptionFilter: null,
      WsException: null,
      BaseWsExceptionFilter: null,
      GraphQLError: null,
    });
  });

  it('bootstraps, and an open circuit still answers 503 with Retry-After', async () => {
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false })],
        controllers: [StockController],
        providers: [InventoryClient],
      }),
    );
    await request(app.getHttpServer()).get('/stock').expect(200, { sku: 'A-1', stock: 3 });
    app.get(CircuitBreakerRegistry).get('inventory').forceOpen();
    const res = await request(app.getHttpServer()).get('/stock').expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, breaker: 'inventory' });
  });
});
