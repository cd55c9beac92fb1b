import 'reflect-metadata';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import type { ClientProxy, MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, errorOf, tripFast } from './helpers.js';

interface QuoteRequest {
  symbol: string;
  fail?: boolean;
}

@Controller()
class QuoteRpcController {
  calls = 0;

  @MessagePattern('quote')
  @UseCircuitBreaker('rpc-quotes')
  async quote(@Payload() data: QuoteRequest): Promise<{ symbol: string; price: number }> {
    this.calls++;
    if (data.fail === true) throw new Error('exchange down');
    return { symbol: data.symbol, price: 101 };
  }

  /** Keyed by the message's venue: a reserved one is the sender's mistake. */
  @MessagePattern('venue-quote')
  @UseCircuitBreaker('rpc-venues', { key: (data: { venue: string }) => data.venue })
  async venueQuote(@Payload() data: { venue: string }): Promise<string> {
    return `quoted on ${data.venue}`;
  }
}

@Injectable()
class ExchangeClient {
  calls = 0;

  @UseCircuitBreaker('rpc-exchange')
  async rate(pair: string) {
    this.calls++;
    return `${pair}=1.1`;
  }
}

/** Not decorated: the breaker is on the provider it calls. */
@Controller()
class RateRpcController {
  constructor(private readonly exchange: ExchangeClient) {}

  @MessagePattern('rate')
  rate(@Payload() pair: string) {
    return this.exchange.rate(pair);
  }
}

/** A free loopback port: the OS picks one, we release it for the microservice. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

describe('RPC (TCP microservice on loopback)', () => {
  const apps = new Apps();
  let client: ClientProxy | undefined;

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await apps.closeAll();
  });

  async function setup() {
    const clock = new ManualClock();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, breakers: { 'rpc-quotes': tripFast({ minimumCalls: 3, openDurationMs: 4_200 }) } })],
      controllers: [QuoteRpcController, RateRpcController],
      providers: [ExchangeClient],
    }).compile();
    const app = apps.track(moduleRef.createNestApplication({ logger: false }));
    const port = await freePort();
    app.connectMicroservice<MicroserviceOptions>({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.init();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
    return { app, clock, client, registry: app.get(CircuitBreakerRegistry), controller: app.get(QuoteRpcController), exchange: app.get(ExchangeClient) };
  }

  it('a message handler is protected: failures trip it, then the client receives an error carrying breaker and retryAfterMs', async () => {
    const { clock, client, registry, controller } = await setup();
    await expect(firstValueFrom(client.send('quote', { symbol: 'ACME' }))).resolves.toEqual({ symbol: 'ACME', price: 101 });

    for (let i = 0; i < 2; i++) {
      const failure = await errorOf(firstValueFrom(client.send('quote', { symbol: 'ACME', fail: true })));
      expect(failure).toMatchObject({ status: 'error' });
    }
    expect(registry.get('rpc-quotes').state).toBe('open');
    expect(controller.calls).toBe(3);

    clock.advance(200);
    const open = await errorOf(firstValueFrom(client.send('quote', { symbol: 'ACME' })));
    expect(open).toEqual({
      status: 'circuit_open',
      message: expect.stringContaining('rpc-quotes'),
      breaker: 'rpc-quotes',
      retryAfterMs: 4_000,
    });
    expect(controller.calls).toBe(3);

    clock.advance(4_000);
    await expect(firstValueFrom(client.send('quote', { symbol: 'ACME' }))).resolves.toEqual({ symbol: 'ACME', price: 101 });
    expect(registry.get('rpc-quotes').state).toBe('closed');
  });

  it('a key the family refuses: the client receives status invalid_key naming the family', async () => {
    const { client } = await setup();
    await expect(firstValueFrom(client.send('venue-quote', { venue: 'xnys' }))).resolves.toBe('quoted on xnys');
    const refused = await errorOf(firstValueFrom(client.send('venue-quote', { venue: '_other' })));
    expect(refused).toEqual({ status: 'invalid_key', family: 'rpc-venues', message: expect.stringMatching(/^Circuit breaker family "rpc-venues": key "_other" is reserved/) });
  });

  it('an undecorated message handler over a decorated provider: the client receives the same error (forced_open: no retryAfterMs)', async () => {
    const { client, registry, exchange } = await setup();
    await expect(firstValueFrom(client.send('rate', 'EURUSD'))).resolves.toBe('EURUSD=1.1');
    registry.get('rpc-exchange').forceOpen();
    const open = await errorOf(firstValueFrom(client.send('rate', 'EURUSD')));
    expect(open).toEqual({ status: 'circuit_open', message: 'Circuit breaker "rpc-exchange" is open', breaker: 'rpc-exchange' });
    expect(exchange.calls).toBe(1);
  });
});
