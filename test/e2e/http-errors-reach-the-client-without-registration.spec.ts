/**
 * README Usage: a decorated provider method behind an undecorated route answers 503 with
 * Retry-After (504 on a timeout) with nothing registered but CircuitBreakerModule, on Express and
 * Fastify; from guards and interceptors too. A filter of the user's for the breaker errors wins; a
 * catch-all of the user's receives the HTTP error already made.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Catch,
  Controller,
  Get,
  HttpException,
  HttpStatus,
  Injectable,
  Module,
  Param,
  Scope,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { ArgumentsHost, CallHandler, CanActivate, ExceptionFilter, INestApplication, NestInterceptor } from '@nestjs/common';
import { APP_FILTER, BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, tripFast, until } from './helpers.js';

@Injectable()
class PaymentsApi {
  healthy = true;
  hang = false;
  calls = 0;

  async price(orderId: string) {
    this.calls++;
    if (this.hang) return new Promise<number>(() => undefined);
    if (!this.healthy) throw new Error('payments down');
    return 40 + orderId.length;
  }
}

/** README Usage, as written there. */
@Injectable()
class PricingService {
  private readonly cache = new Map<string, number>();

  constructor(private readonly paymentsApi: PaymentsApi) {}

  @UseCircuitBreaker('payments', { fallback: 'cachedPrice' })
  async price(orderId: string) {
    const price = await this.paymentsApi.price(orderId);
    this.cache.set(orderId, price);
    return price;
  }

  cachedPrice(orderId: string, error: unknown) {
    const price = this.cache.get(orderId);
    if (price === undefined) throw error; // nothing cached: the 503 stands
    return price;
  }
}

@Injectable()
class QuotesClient {
  calls = 0;

  @UseCircuitBreaker('quotes')
  async quote(symbol: string) {
    this.calls++;
    return new Promise<string>(() => undefined).then(() => symbol);
  }
}

/** Guards and interceptors call decorated providers too (an auth service, an audit log). */
@Injectable()
class TenantsClient {
  @UseCircuitBreaker('tenants')
  async isActive() {
    return true;
  }
}

@Injectable()
class TenantGuard implements CanActivate {
  constructor(private readonly tenants: TenantsClient) {}

  canActivate() {
    return this.tenants.isActive();
  }
}

@Injectable()
class AuditClient {
  @UseCircuitBreaker('audit')
  async record(what: string) {
    return what;
  }
}

@Injectable()
class AuditInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditClient) {}

  async intercept(_context: unknown, next: CallHandler) {
    await this.audit.record('read');
    return next.handle();
  }
}

/** What the user's filters below received, in order. */
let caught: unknown[] = [];

/** A filter of the user's that answers open circuits its own way. */
@Catch(CircuitOpenError)
class BusyFilter implements ExceptionFilter {
  constructor(private readonly httpAdapterHost: HttpAdapterHost) {}

  catch(error: CircuitOpenError, host: ArgumentsHost) {
    caught.push(error);
    this.httpAdapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), { busy: error.breakerName }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** Nest's documented catch-all (docs.nestjs.com/exception-filters#catch-everything), timestamp left out. */
@Catch()
class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly httpAdapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost) {
    caught.push(exception);
    const { httpAdapter } = this.httpAdapterHost;
    const ctx = host.switchToHttp();
    const status = exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    httpAdapter.reply(ctx.getResponse(), { statusCode: status, path: httpAdapter.getRequestUrl(ctx.getRequest()) }, status);
  }
}

/** A catch-all that reports then lets Nest answer (the shape of error-tracking SDK filters). */
@Catch()
class ReportingFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost) {
    caught.push(exception);
    super.catch(exception, host);
  }
}

@Catch(HttpException)
class HttpErrorEnvelopeFilter implements ExceptionFilter {
  constructor(private readonly httpAdapterHost: HttpAdapterHost) {}

  catch(exception: HttpException, host: ArgumentsHost) {
    caught.push(exception);
    const body = { ok: false, status: exception.getStatus(), detail: exception.getResponse() };
    this.httpAdapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, exception.getStatus());
  }
}

@Controller()
class OrdersController {
  constructor(
    private readonly pricing: PricingService,
    private readonly quotes: QuotesClient,
  ) {}

  @Get('orders/:id/price')
  async price(@Param('id') id: string) {
    return { id, price: await this.pricing.price(id) };
  }

  @Get('quotes/:symbol')
  quote(@Param('symbol') symbol: string) {
    return this.quotes.quote(symbol);
  }

  @Get('tenant')
  @UseGuards(TenantGuard)
  tenant() {
    return { ok: true };
  }

  @Get('audited')
  @UseInterceptors(AuditInterceptor)
  audited() {
    return { ok: true };
  }

  @Get('busy-route/:id')
  @UseFilters(BusyFilter)
  async busyRoute(@Param('id') id: string) {
    return { id, price: await this.pricing.price(id) };
  }

  @Get('catch-all-route/:id')
  @UseFilters(AllExceptionsFilter)
  async catchAllRoute(@Param('id') id: string) {
    return { id, price: await this.pricing.price(id) };
  }

  /** A decorated route: the same mapping, and the same precedence of the user's filters. */
  @Get('decorated/:id')
  @UseCircuitBreaker('payments')
  async decorated(@Param('id') id: string) {
    return { id, price: await this.pricing.price(id) };
  }

  @Get('decorated-busy/:id')
  @UseFilters(BusyFilter)
  @UseCircuitBreaker('payments')
  async decoratedBusy(@Param('id') id: string) {
    return { id, price: await this.pricing.price(id) };
  }
}

/** Request-scoped: Nest builds its handler, filters included, per request. */
@Controller({ path: 'scoped', scope: Scope.REQUEST })
class ScopedOrdersController {
  constructor(private readonly pricing: PricingService) {}

  @Get(':id/price')
  async price(@Param('id') id: string) {
    return { id, price: await this.pricing.price(id) };
  }
}

const platforms = [
  ['Express', () => undefined],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('%s: breaker errors reach the client with no registration', (_platform, adapter) => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  interface Setup {
    /** Providers of the application module besides the app's own (APP_FILTER etc.). */
    providers?: unknown[];
    /** Runs between create and init, like main.ts (app.useGlobalFilters). */
    beforeInit?: (app: INestApplication) => void;
  }

  async function setup({ providers = [], beforeInit }: Setup = {}) {
    caught = [];
    const clock = new ManualClock(5_000_000);
    @Module({
      imports: [
        CircuitBreakerModule.forRoot({
          logger: false,
          defaults: { clock },
          breakers: { payments: tripFast(), quotes: { timeoutMs: 2_000 } },
        }),
      ],
      controllers: [OrdersController, ScopedOrdersController],
      providers: [PaymentsApi, PricingService, QuotesClient, TenantsClient, TenantGuard, AuditClient, AuditInterceptor, ...(providers as [])],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const httpAdapter = adapter();
    const app = apps.track(
      httpAdapter === undefined ? moduleRef.createNestApplication({ logger: false }) : moduleRef.createNestApplication(httpAdapter, { logger: false }),
    );
    beforeInit?.(app);
    await app.init();
    if (httpAdapter !== undefined) await httpAdapter.getInstance().ready();
    const registry = app.get(CircuitBreakerRegistry);
    return { app, clock, server: app.getHttpServer(), registry, paymentsApi: app.get(PaymentsApi), quotes: app.get(QuotesClient) };
  }

  /** One live price for order 1 (cached by the service), then a failure: 50 % of 2 calls, the circuit opens. */
  async function tripPayments(server: unknown, paymentsApi: PaymentsApi, registry: CircuitBreakerRegistry) {
    await request(server as never).get('/orders/1/price').expect(200, { id: '1', price: 41 });
    paymentsApi.healthy = false;
    await request(server as never).get('/orders/2/price').expect(500);
    expect(registry.get('payments').state).toBe('open');
  }

  it('README Usage: an open circuit answers 503 with Retry-After; the fallback serves what it has cached', async () => {
    const { server, registry, paymentsApi, clock } = await setup();
    await tripPayments(server, paymentsApi, registry);
    const callsWhenOpened = paymentsApi.calls;

    clock.advance(2_500);
    const res = await request(server).get('/orders/2/price').expect(503);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Circuit breaker "payments" is open',
      breaker: 'payments',
      retryAfterMs: 7_500,
    });
    expect(res.headers['retry-after']).toBe('8');
    await request(server).get('/orders/1/price').expect(200, { id: '1', price: 41 });
    expect(paymentsApi.calls).toBe(callsWhenOpened);
  });

  it('a decorated route over the same provider answers the same 503', async () => {
    const { server, registry, paymentsApi } = await setup();
    await tripPayments(server, paymentsApi, registry);
    const res = await request(server).get('/decorated/3').expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, breaker: 'payments', retryAfterMs: 10_000 });
    expect(res.headers['retry-after']).toBe('10');
  });

  it('a request-scoped controller answers the same 503; a catch-all added in main.ts still receives the HttpException', async () => {
    const { server, registry, paymentsApi } = await setup({ beforeInit: (app) => app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost))) });
    await tripPayments(server, paymentsApi, registry);
    const res = await request(server).get('/scoped/2/price').expect(503, { statusCode: 503, path: '/scoped/2/price' });
    expect(res.headers['retry-after']).toBe('10');
    expect(caught.at(-1)).toBeInstanceOf(HttpException);
  });

  it('a timeout in a provider answers 504', async () => {
    const { clock, server, registry, quotes } = await setup();
    const pending = request(server).get('/quotes/ACME').then((r) => r);
    await until(() => quotes.calls === 1, 'the call to start');
    clock.advance(2_000);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(res.body).toEqual({
      statusCode: 504,
      error: 'Gateway Timeout',
      message: 'Circuit breaker "quotes": call timed out after 2000 ms',
      breaker: 'quotes',
      timeoutMs: 2_000,
    });
    expect(res.headers['retry-after']).toBeUndefined();
    expect(registry.get('quotes').totals().timeoutCalls).toBe(1);
  });

  it('forced_open: 503 without Retry-After, and no retryAfterMs in the body', async () => {
    const { server, registry } = await setup();
    registry.get('payments').forceOpen();
    const res = await request(server).get('/orders/9/price').expect(503);
    expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Circuit breaker "payments" is open', breaker: 'payments' });
    expect(res.headers['retry-after']).toBeUndefined();
  });

  it('a guard and an interceptor that call decorated providers: 503 as well', async () => {
    const { server, registry } = await setup();
    registry.get('tenants').forceOpen();
    registry.get('audit').forceOpen();
    const guarded = await request(server).get('/tenant').expect(503);
    expect(guarded.body).toMatchObject({ statusCode: 503, breaker: 'tenants' });
    const intercepted = await request(server).get('/audited').expect(503);
    expect(intercepted.body).toMatchObject({ statusCode: 503, breaker: 'audit' });
  });

  describe("the user's own filters", () => {
    it('a global @Catch(CircuitOpenError) filter (APP_FILTER) wins, on undecorated and decorated routes', async () => {
      const { server, registry, paymentsApi } = await setup({ providers: [{ provide: APP_FILTER, useClass: BusyFilter }] });
      await tripPayments(server, paymentsApi, registry);
      await request(server).get('/orders/2/price').expect(429, { busy: 'payments' });
      await request(server).get('/decorated/2').expect(429, { busy: 'payments' });
      expect(caught).toHaveLength(2);
      expect(caught[0]).toBeInstanceOf(CircuitOpenError);
    });

    it('a global @Catch(CircuitOpenError) filter added with app.useGlobalFilters() wins', async () => {
      const { server, registry, paymentsApi } = await setup({ beforeInit: (app) => app.useGlobalFilters(new BusyFilter(app.get(HttpAdapterHost))) });
      await tripPayments(server, paymentsApi, registry);
      await request(server).get('/orders/2/price').expect(429, { busy: 'payments' });
      await request(server).get('/decorated/2').expect(429, { busy: 'payments' });
      expect(caught).toHaveLength(2);
      expect(caught[1]).toBeInstanceOf(CircuitOpenError);
    });

    it('a route-level @Catch(CircuitOpenError) filter wins, on undecorated and decorated routes', async () => {
      const { server, registry, paymentsApi } = await setup();
      await tripPayments(server, paymentsApi, registry);
      await request(server).get('/busy-route/2').expect(429, { busy: 'payments' });
      await request(server).get('/decorated-busy/2').expect(429, { busy: 'payments' });
      await request(server).get('/orders/2/price').expect(503);
      expect(caught).toHaveLength(2);
    });

    it("a global catch-all (Nest's AllExceptionsFilter, in main.ts) receives the 503 HttpException, Retry-After already set", async () => {
      const { server, registry, paymentsApi } = await setup({ beforeInit: (app) => app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost))) });
      await tripPayments(server, paymentsApi, registry);
      const res = await request(server).get('/orders/2/price').expect(503, { statusCode: 503, path: '/orders/2/price' });
      expect(res.headers['retry-after']).toBe('10');
      const seen = caught.at(-1);
      expect(seen).toBeInstanceOf(HttpException);
      expect((seen as HttpException).cause).toBeInstanceOf(CircuitOpenError);
    });

    it('a global catch-all that reports and calls super.catch (APP_FILTER) lets the 503 body through', async () => {
      const { server, registry, paymentsApi } = await setup({ providers: [{ provide: APP_FILTER, useClass: ReportingFilter }] });
      await tripPayments(server, paymentsApi, registry);
      const res = await request(server).get('/orders/2/price').expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', breaker: 'payments', retryAfterMs: 10_000 });
      expect(res.headers['retry-after']).toBe('10');
      expect(caught.at(-1)).toBeInstanceOf(HttpException);
    });

    it('a global @Catch(HttpException) filter receives the 503', async () => {
      const { server, registry, paymentsApi } = await setup({ beforeInit: (app) => app.useGlobalFilters(new HttpErrorEnvelopeFilter(app.get(HttpAdapterHost))) });
      await tripPayments(server, paymentsApi, registry);
      const res = await request(server).get('/orders/2/price').expect(503);
      expect(res.body).toEqual({
        ok: false,
        status: 503,
        detail: { statusCode: 503, error: 'Service Unavailable', message: 'Circuit breaker "payments" is open', breaker: 'payments', retryAfterMs: 10_000 },
      });
    });

    it('a catch-all bound to the route comes before every global filter: it receives the raw CircuitOpenError', async () => {
      const { server, registry, paymentsApi } = await setup();
      await tripPayments(server, paymentsApi, registry);
      caught = [];
      // AllExceptionsFilter answers 500 for what is not an HttpException: that is its own choice
      await request(server).get('/catch-all-route/2').expect(500, { statusCode: 500, path: '/catch-all-route/2' });
      expect(caught).toHaveLength(1);
      expect(caught[0]).toBeInstanceOf(CircuitOpenError);
    });
  });
});
