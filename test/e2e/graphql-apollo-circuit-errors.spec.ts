/**
 * GraphQL (@nestjs/graphql, Apollo driver, code-first) over HTTP POST /graphql: an open circuit or
 * a timeout in a decorated resolver, or in a decorated provider behind one, is a GraphQL error with
 * `extensions.code` CIRCUIT_OPEN / CIRCUIT_TIMEOUT; the other fields of the query keep their data.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, ParseIntPipe } from '@nestjs/common';
import { ApolloDriver } from '@nestjs/apollo';
import type { ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Field, Float, GraphQLModule, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { GraphQLError } from 'graphql';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerErrorFactory } from '../../lib/index.js';
import { Apps, tripFast, until } from './helpers.js';

@ObjectType()
class Quote {
  @Field()
  symbol!: string;

  @Field(() => Float)
  price!: number;

  @Field()
  source!: string;
}

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

/** The breaker on a provider the resolver calls. */
@Injectable()
class RatesService {
  constructor(private readonly exchange: ExchangeApi) {}

  @UseCircuitBreaker('rates')
  async rate(pair: string) {
    return this.exchange.price(pair);
  }
}

@Resolver(() => Quote)
class QuotesResolver {
  fallbackCalls: unknown[][] = [];

  constructor(
    private readonly exchange: ExchangeApi,
    private readonly rates: RatesService,
  ) {}

  @Query(() => String)
  status() {
    return 'ok';
  }

  /** The breaker on the resolver itself. */
  @Query(() => Quote, { nullable: true })
  @UseCircuitBreaker('quotes')
  async quote(@Args('symbol') symbol: string) {
    return { symbol, price: await this.exchange.price(symbol), source: 'live' };
  }

  /** Not decorated: the breaker is on RatesService. */
  @Query(() => Float, { nullable: true })
  rate(@Args('pair') pair: string) {
    return this.rates.rate(pair);
  }

  /** Keyed by an argument: a reserved venue is the client's mistake. */
  @Query(() => String, { nullable: true })
  @UseCircuitBreaker('venues', { key: (venue: string) => venue })
  async venue(@Args('venue') venue: string) {
    return `open: ${venue}`;
  }

  @Query(() => Quote)
  @UseCircuitBreaker('cached-quotes', { fallback: 'lastQuote' })
  async cachedQuote(@Args('symbol') symbol: string, @Args('maxAgeS', { type: () => String }, ParseIntPipe) maxAgeS: number) {
    return { symbol, price: await this.exchange.price(symbol), source: `live<${maxAgeS}s` };
  }

  lastQuote(symbol: string, maxAgeS: number, error: unknown) {
    this.fallbackCalls.push([symbol, maxAgeS, error]);
    return { symbol, price: 1, source: `cache<${maxAgeS}s` };
  }
}

const platforms = [
  ['Express', () => undefined],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('GraphQL (Apollo, %s): breaker errors as GraphQL errors', (_platform, adapter) => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(errorFactory?: CircuitBreakerErrorFactory) {
    const clock = new ManualClock(1_000_000);
    const httpAdapter = adapter();
    @Module({
      imports: [
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
        CircuitBreakerModule.forRoot({
          logger: false,
          errorFactory,
          defaults: { clock, ...tripFast() },
          breakers: { quotes: { timeoutMs: 3_000 } },
        }),
      ],
      providers: [ExchangeApi, RatesService, QuotesResolver],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = apps.track(
      httpAdapter === undefined ? moduleRef.createNestApplication({ logger: false }) : moduleRef.createNestApplication(httpAdapter, { logger: false }),
    );
    await app.init();
    if (httpAdapter !== undefined) await httpAdapter.getInstance().ready();
    const server = app.getHttpServer();
    const graphql = (query: string) => request(server).post('/graphql').send({ query }).expect(200);
    return { app, clock, graphql, registry: app.get(CircuitBreakerRegistry), exchange: app.get(ExchangeApi), resolver: app.get(QuotesResolver) };
  }

  it('a decorated resolver: CIRCUIT_OPEN with breaker and retryAfterMs; the other fields keep their data', async () => {
    const { graphql, registry, exchange, clock } = await setup();
    let res = await graphql('{ status quote(symbol: "ACME") { symbol price source } }');
    expect(res.body).toEqual({ data: { status: 'ok', quote: { symbol: 'ACME', price: 40, source: 'live' } } });

    exchange.healthy = false;
    res = await graphql('{ quote(symbol: "ACME") { symbol } }');
    expect(res.body.errors[0].message).toBe('exchange down');
    expect(registry.get('quotes').state).toBe('open');
    const calls = exchange.calls;

    clock.advance(1_500);
    res = await graphql('{ status quote(symbol: "ACME") { symbol price } }');
    expect(res.body.data).toEqual({ status: 'ok', quote: null });
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({
      message: 'Circuit breaker "quotes" is open',
      path: ['quote'],
      extensions: { code: 'CIRCUIT_OPEN', breaker: 'quotes', retryAfterMs: 8_500 },
    });
    expect(exchange.calls).toBe(calls);
  });

  it('a key the family refuses: extensions.code CIRCUIT_BREAKER_INVALID_KEY naming the family', async () => {
    const { graphql } = await setup();
    const res = await graphql('{ status venue(venue: "_other") }');
    expect(res.body.data).toEqual({ status: 'ok', venue: null });
    expect(res.body.errors[0]).toMatchObject({
      message: expect.stringMatching(/^Circuit breaker family "venues": key "_other" is reserved/),
      path: ['venue'],
      extensions: { code: 'CIRCUIT_BREAKER_INVALID_KEY', family: 'venues' },
    });
  });

  it('a decorated provider behind an undecorated resolver: the same error (forced_open: no retryAfterMs)', async () => {
    const { graphql, registry } = await setup();
    registry.get('rates').forceOpen();
    const res = await graphql('{ status rate(pair: "EURUSD") }');
    expect(res.body.data).toEqual({ status: 'ok', rate: null });
    expect(res.body.errors[0]).toMatchObject({ message: 'Circuit breaker "rates" is open', path: ['rate'], extensions: { code: 'CIRCUIT_OPEN', breaker: 'rates' } });
    expect(res.body.errors[0].extensions).not.toHaveProperty('retryAfterMs');
  });

  it('a timeout: CIRCUIT_TIMEOUT with breaker and timeoutMs', async () => {
    const { graphql, exchange, clock } = await setup();
    exchange.hang = true;
    const pending = graphql('{ status quote(symbol: "SLOW") { symbol } }').then((r) => r);
    await until(() => exchange.calls === 1, 'the resolver to call the exchange');
    clock.advance(3_000);
    const res = await pending;
    expect(res.body.data).toEqual({ status: 'ok', quote: null });
    expect(res.body.errors[0]).toMatchObject({
      message: 'Circuit breaker "quotes": call timed out after 3000 ms',
      path: ['quote'],
      extensions: { code: 'CIRCUIT_TIMEOUT', breaker: 'quotes', timeoutMs: 3_000 },
    });
  });

  it("a fallback on a resolver method gets the resolver's arguments (after pipes) and the error", async () => {
    const { graphql, exchange, registry, resolver } = await setup();
    exchange.healthy = false;
    let res = await graphql('{ cachedQuote(symbol: "ACME", maxAgeS: "60") { symbol price source } }');
    expect(res.body).toEqual({ data: { cachedQuote: { symbol: 'ACME', price: 1, source: 'cache<60s' } } });
    res = await graphql('{ cachedQuote(symbol: "ACME", maxAgeS: "30") { source } }');
    expect(registry.get('cached-quotes').state).toBe('open');
    res = await graphql('{ cachedQuote(symbol: "ACME", maxAgeS: "5") { source } }');
    expect(res.body).toEqual({ data: { cachedQuote: { source: 'cache<5s' } } });
    expect(resolver.fallbackCalls.map(([symbol, maxAgeS]) => [symbol, maxAgeS])).toEqual([
      ['ACME', 60],
      ['ACME', 30],
      ['ACME', 5],
    ]);
    expect(resolver.fallbackCalls[2]![2]).toBeInstanceOf(CircuitOpenError);
  });

  it('errorFactory replaces the GraphQL error', async () => {
    const seen: string[] = [];
    const { graphql, registry } = await setup((error, host) => {
      seen.push(host.getType());
      return new GraphQLError(`${error.breakerName} is resting`, { extensions: { code: 'TRY_LATER' } });
    });
    registry.get('rates').forceOpen();
    const res = await graphql('{ status rate(pair: "EURUSD") }');
    expect(res.body.data).toEqual({ status: 'ok', rate: null });
    expect(res.body.errors[0]).toMatchObject({ message: 'rates is resting', extensions: { code: 'TRY_LATER' } });
    expect(seen).toEqual(['graphql']);
  });
});
