/**
 * The app under Jest, the way `nest new` tests an app: ts-jest (CommonJS) in the NestJS 11 app,
 * Jest's ESM mode in the NestJS 12 app. Jest ignores the package's module-sync condition and loads
 * the `require` (CommonJS) or `import` (ESM) build, so this checks the build each mode loads, with
 * README Usage (src/usage.ts) and the HttpService client against a real local HTTP dependency.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { ConsumerModule } from '../src/consumer.module.js';

describe('the app under Jest', () => {
  let app: INestApplication;
  let dependency: Server;
  let failing = false;
  let url = '';
  const call = async (method: string, path: string): Promise<{ status: number; retryAfter: string | null; body: any }> => {
    const res = await fetch(url + path, { method });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  };

  beforeAll(async () => {
    dependency = createServer((req, res) => {
      const [, resource, id] = (req.url ?? '').split('/');
      const body = failing ? { error: 'unavailable' } : resource === 'quotes' ? { id, price: 101.5 } : { price: 10.5 };
      res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => dependency.listen(0, '127.0.0.1', resolve));
    process.env.PAYMENTS_URL = process.env.QUOTES_URL = `http://127.0.0.1:${(dependency.address() as AddressInfo).port}`;
    const moduleRef = await Test.createTestingModule({ imports: [ConsumerModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    dependency?.closeAllConnections();
    await new Promise((resolve) => dependency?.close(resolve));
  });

  it('README Usage: falls back while payments fails, opens, then answers 503 with Retry-After on the undecorated route and reports the breaker open', async () => {
    expect(await call('GET', '/orders/7/price')).toMatchObject({ status: 200, body: { id: '7', price: 10.5 } });
    failing = true;
    const payments = app.get(CircuitBreakerRegistry).get('payments');
    for (let calls = 0; payments.state !== 'open'; calls++) {
      expect(calls).toBeLessThan(20);
      expect(await call('GET', '/orders/7/price')).toMatchObject({ status: 200, body: { id: '7', price: 10.5 } });
    }
    const uncached = await call('GET', '/orders/8/price');
    expect(uncached).toMatchObject({ status: 503, body: { statusCode: 503, breaker: 'payments' } });
    expect(uncached.retryAfter).toMatch(/^[1-9]\d*$/);
    const health = await call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.details.circuit_breakers.breakers.payments.state).toBe('open');
  });

  it('an HttpService method without a return type: failures counted, the fallback served, 503 once open without one', async () => {
    failing = true;
    const quotes = app.get(CircuitBreakerRegistry).get('quotes');
    for (let calls = 0; quotes.state !== 'open'; calls++) {
      expect(calls).toBeLessThan(10);
      expect(await call('GET', '/quotes/ACME')).toMatchObject({ status: 200, body: { id: 'ACME', price: null, stale: true } });
    }
    expect(await call('GET', '/quotes/ACME/live')).toMatchObject({ status: 503, body: { breaker: 'quotes' } });
  });
});
