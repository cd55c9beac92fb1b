/**
 * The default 503 for an open per-host breaker names the breaker, and so the upstream's host:port
 * (`payment-hosts:127.0.0.1:46143`); docs/http-clients.md shows the errorFactory that answers
 * without it. This checks both: what the default reveals, and that the documented recipe hides it
 * while other breakers keep the built-in answer.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Controller, GatewayTimeoutException, Get, ServiceUnavailableException } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitOpenError, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerErrorFactory } from '../../lib/index.js';
import { CircuitBreakerHttpModule } from '../../lib/http/index.js';
import { Apps, startApp } from '../e2e/helpers.js';
import { LoopbackHost } from './loopback-hosts.js';

let upstream: LoopbackHost;

@Controller()
class CheckoutController {
  constructor(private readonly http: HttpService) {}

  @Get('pay')
  async pay(): Promise<number> {
    return (await lastValueFrom(this.http.get(upstream.url('/charges')))).status;
  }

  @Get('stock')
  @UseCircuitBreaker('inventory')
  async stock(): Promise<string> {
    return 'in stock';
  }
}

/** As in docs/http-clients.md ("What an end user sees"). */
const hideHosts: CircuitBreakerErrorFactory = (error, host) => {
  if (host.getType() !== 'http' || !error.breakerName.startsWith('payment-hosts:')) return undefined;
  return error instanceof CircuitOpenError
    ? new ServiceUnavailableException('Payments are unavailable, try again later')
    : new GatewayTimeoutException('Payments did not answer in time');
};

describe('an open per-host breaker, answered to an end user', () => {
  const apps = new Apps();
  beforeEach(async () => {
    upstream = await LoopbackHost.start();
  });
  afterEach(async () => {
    await apps.closeAll();
    await upstream.stop();
  });

  async function setup(errorFactory?: CircuitBreakerErrorFactory) {
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, errorFactory }), HttpModule, CircuitBreakerHttpModule.register({ family: 'payment-hosts' })],
        controllers: [CheckoutController],
      }),
    );
    const registry = app.get(CircuitBreakerRegistry);
    const server = app.getHttpServer() as App;
    await request(server).get('/pay').expect(200, '200');
    registry.family('payment-hosts').find(upstream.hostKey)!.forceOpen();
    registry.get('inventory').forceOpen();
    return { server };
  }

  it('by default, the 503 body names the breaker: the family and the host:port', async () => {
    const { server } = await setup();
    const res = await request(server).get('/pay').expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, breaker: `payment-hosts:${upstream.hostKey}` });
    expect(res.text).toContain(`127.0.0.1:${upstream.port}`);
  });

  it("with the documented errorFactory, the host's breaker answers 503 without it; other breakers keep the built-in body", async () => {
    const { server } = await setup(hideHosts);
    const res = await request(server).get('/pay').expect(503);
    expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Payments are unavailable, try again later' });
    expect(res.text).not.toContain(String(upstream.port));
    const other = await request(server).get('/stock').expect(503);
    expect(other.body).toMatchObject({ statusCode: 503, breaker: 'inventory' });
  });
});
