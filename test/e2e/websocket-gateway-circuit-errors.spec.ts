/**
 * WebSocket gateways (socket.io) over a real connection: an open circuit or a timeout in a decorated
 * gateway handler, or in a decorated provider behind one, reaches the client as the `exception`
 * event of a WsException carrying code, breaker and retryAfterMs / timeoutMs. Nest applies no global
 * filter to gateways; nothing is registered here but CircuitBreakerModule.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Catch, Injectable, Module, UseFilters } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter, INestApplication } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA } from '@nestjs/common/constants.js';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { BaseWsExceptionFilter, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, tripFast, until } from './helpers.js';

@Injectable()
class ExchangeApi {
  healthy = true;
  hang = false;
  calls = 0;

  async price(symbol: string) {
    this.calls++;
    if (this.hang) return new Promise<number>(() => undefined);
    if (!this.healthy) throw new Error('exchange down');
    return symbol.length * 10;
  }
}

@Injectable()
class RatesService {
  constructor(private readonly exchange: ExchangeApi) {}

  @UseCircuitBreaker('ws-rates')
  async rate(pair: string) {
    return this.exchange.price(pair);
  }
}

@Catch(CircuitOpenError)
class BusyWsFilter implements ExceptionFilter {
  catch(error: CircuitOpenError, host: ArgumentsHost) {
    host.switchToWs().getClient<{ emit(event: string, data: unknown): void }>().emit('busy', { breaker: error.breakerName });
  }
}

@WebSocketGateway()
class QuotesGateway {
  constructor(
    private readonly exchange: ExchangeApi,
    private readonly rates: RatesService,
  ) {}

  @SubscribeMessage('quote')
  @UseCircuitBreaker('ws-quotes')
  async quote(@MessageBody() symbol: string) {
    return { symbol, price: await this.exchange.price(symbol) };
  }

  /** Not decorated: the breaker is on RatesService. */
  @SubscribeMessage('rate')
  rate(@MessageBody() pair: string) {
    return this.rates.rate(pair);
  }

  /** Keyed by the message: a reserved key is the client's mistake. */
  @SubscribeMessage('venue-quote')
  @UseCircuitBreaker('ws-venues', { key: (venue: string) => venue })
  venueQuote(@MessageBody() venue: string) {
    return { venue };
  }

  @SubscribeMessage('busy-rate')
  @UseFilters(new BusyWsFilter())
  busyRate(@MessageBody() pair: string) {
    return this.rates.rate(pair);
  }
}

/** A gateway whose own catch-all comes before the library's filter. */
@WebSocketGateway()
@UseFilters(new BaseWsExceptionFilter())
class CatchAllGateway {
  constructor(private readonly rates: RatesService) {}

  @SubscribeMessage('guarded-rate')
  rate(@MessageBody() pair: string) {
    return this.rates.rate(pair);
  }
}

const platforms = [
  ['Express', () => undefined],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('WebSocket gateway (socket.io, %s): breaker errors as WsException', (_platform, adapter) => {
  const apps = new Apps();
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await apps.closeAll();
  });

  async function setup() {
    const clock = new ManualClock(1_000_000);
    @Module({
      imports: [
        CircuitBreakerModule.forRoot({
          logger: false,
          defaults: { clock, ...tripFast() },
          breakers: { 'ws-quotes': { timeoutMs: 2_500 } },
        }),
      ],
      providers: [ExchangeApi, RatesService, QuotesGateway, CatchAllGateway],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const httpAdapter = adapter();
    const app: INestApplication = apps.track(
      httpAdapter === undefined ? moduleRef.createNestApplication({ logger: false }) : moduleRef.createNestApplication(httpAdapter, { logger: false }),
    );
    await app.listen(0, '127.0.0.1');
    const socket = io(await app.getUrl(), { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return { clock, socket, registry: app.get(CircuitBreakerRegistry), exchange: app.get(ExchangeApi) };
  }

  /** The next event `event` the server sends this client. */
  function next(socket: Socket, event: string): Promise<unknown> {
    return new Promise((resolve) => socket.once(event, resolve));
  }

  it('a decorated gateway handler: an exception event with code CIRCUIT_OPEN, breaker and retryAfterMs', async () => {
    const { socket, registry, exchange, clock } = await setup();
    await expect(socket.emitWithAck('quote', 'ACME')).resolves.toEqual({ symbol: 'ACME', price: 40 });
    exchange.healthy = false;
    let exception = next(socket, 'exception');
    socket.emit('quote', 'ACME');
    await expect(exception).resolves.toEqual({ status: 'error', message: 'Internal server error', cause: { pattern: 'quote', data: 'ACME' } });
    expect(registry.get('ws-quotes').state).toBe('open');

    clock.advance(4_000);
    exception = next(socket, 'exception');
    socket.emit('quote', 'ACME');
    await expect(exception).resolves.toEqual({
      status: 'error',
      code: 'CIRCUIT_OPEN',
      message: 'Circuit breaker "ws-quotes" is open',
      breaker: 'ws-quotes',
      retryAfterMs: 6_000,
    });
    expect(exchange.calls).toBe(2);
  });

  it('a decorated provider behind an undecorated handler: the same exception (forced_open: no retryAfterMs)', async () => {
    const { socket, registry } = await setup();
    registry.get('ws-rates').forceOpen();
    const exception = next(socket, 'exception');
    socket.emit('rate', 'EURUSD');
    await expect(exception).resolves.toEqual({ status: 'error', code: 'CIRCUIT_OPEN', message: 'Circuit breaker "ws-rates" is open', breaker: 'ws-rates' });
  });

  it('a key the family refuses: code CIRCUIT_BREAKER_INVALID_KEY naming the family, not "Internal server error"', async () => {
    const { socket } = await setup();
    await expect(socket.emitWithAck('venue-quote', 'xnys')).resolves.toEqual({ venue: 'xnys' });
    const exception = next(socket, 'exception');
    socket.emit('venue-quote', '_overflow');
    await expect(exception).resolves.toEqual({
      status: 'error',
      code: 'CIRCUIT_BREAKER_INVALID_KEY',
      family: 'ws-venues',
      message: expect.stringMatching(/^Circuit breaker family "ws-venues": key "_overflow" is reserved/),
    });
  });

  it('a timeout: code CIRCUIT_TIMEOUT with timeoutMs', async () => {
    const { socket, exchange, clock } = await setup();
    exchange.hang = true;
    const exception = next(socket, 'exception');
    socket.emit('quote', 'SLOW');
    await until(() => exchange.calls === 1, 'the handler to call the exchange');
    clock.advance(2_500);
    await expect(exception).resolves.toEqual({
      status: 'error',
      code: 'CIRCUIT_TIMEOUT',
      message: 'Circuit breaker "ws-quotes": call timed out after 2500 ms',
      breaker: 'ws-quotes',
      timeoutMs: 2_500,
    });
  });

  it("the gateway's own filters come first: a @Catch(CircuitOpenError) filter wins; a catch-all receives the raw error", async () => {
    const { socket, registry } = await setup();
    registry.get('ws-rates').forceOpen();
    const busy = next(socket, 'busy');
    socket.emit('busy-rate', 'EURUSD');
    await expect(busy).resolves.toEqual({ breaker: 'ws-rates' });

    // BaseWsExceptionFilter bound to the gateway answers what is not a WsException as unknown
    const exception = next(socket, 'exception');
    socket.emit('guarded-rate', 'EURUSD');
    await expect(exception).resolves.toEqual({ status: 'error', message: 'Internal server error', cause: { pattern: 'guarded-rate', data: 'EURUSD' } });
  });

  it('once the application is up, the gateway classes carry only their own filters again', async () => {
    await setup();
    expect(Reflect.getOwnMetadata(EXCEPTION_FILTERS_METADATA, QuotesGateway)).toBeUndefined();
    const own = Reflect.getOwnMetadata(EXCEPTION_FILTERS_METADATA, CatchAllGateway) as unknown[];
    expect(own).toHaveLength(1);
    expect(own[0]).toBeInstanceOf(BaseWsExceptionFilter);
  });
});
