/**
 * docs/api.md: `CircuitBreakerExceptionFilter` is exported so that it can be bound by hand where Nest
 * applies no global filter: a hybrid app's microservice connected without `inheritAppConfig`. There
 * the client receives the breaker's RPC error; without the filter, Nest's unknown-error answer.
 */
import 'reflect-metadata';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, UseFilters } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import type { ClientProxy, MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { CircuitBreakerExceptionFilter, CircuitBreakerModule, CircuitBreakerRegistry, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, errorOf } from './helpers.js';

@Injectable()
class ExchangeClient {
  calls = 0;

  @UseCircuitBreaker('exchange')
  async rate(pair: string) {
    this.calls++;
    return `${pair}=1.1`;
  }
}

@Controller()
@UseFilters(CircuitBreakerExceptionFilter)
class FilteredRpcController {
  constructor(private readonly exchange: ExchangeClient) {}

  @MessagePattern('rate')
  rate(@Payload() pair: string) {
    return this.exchange.rate(pair);
  }
}

@Controller()
class UnfilteredRpcController {
  constructor(private readonly exchange: ExchangeClient) {}

  @MessagePattern('rate-unfiltered')
  rate(@Payload() pair: string) {
    return this.exchange.rate(pair);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

describe('CircuitBreakerExceptionFilter bound by hand (a microservice without inheritAppConfig)', () => {
  const apps = new Apps();
  let client: ClientProxy | undefined;

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await apps.closeAll();
  });

  it('@UseFilters(CircuitBreakerExceptionFilter) sends the RPC error; a handler without it answers an unknown error', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { exchange: {} } })],
      controllers: [FilteredRpcController, UnfilteredRpcController],
      providers: [ExchangeClient],
    }).compile();
    const app = apps.track(moduleRef.createNestApplication({ logger: false }));
    const port = await freePort();
    app.connectMicroservice<MicroserviceOptions>({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await app.startAllMicroservices();
    await app.init();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();

    app.get(CircuitBreakerRegistry).get('exchange').forceOpen();
    expect(await errorOf(firstValueFrom(client.send('rate', 'EURUSD')))).toEqual({
      status: 'circuit_open',
      message: 'Circuit breaker "exchange" is open',
      breaker: 'exchange',
    });
    expect(await errorOf(firstValueFrom(client.send('rate-unfiltered', 'EURUSD')))).toEqual({ status: 'error', message: 'Internal server error' });
    expect(app.get(ExchangeClient).calls).toBe(0);
  });
});
