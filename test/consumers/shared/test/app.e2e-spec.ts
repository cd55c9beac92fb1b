/**
 * The app under Jest, the way `nest new` tests an app: ts-jest (CommonJS) in the NestJS 11 app,
 * Jest's ESM mode in the NestJS 12 app. Jest ignores the package's module-sync condition and loads
 * the `require` (CommonJS) or `import` (ESM) build, so this checks the build each mode loads.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { AppModule } from '../src/app.module.js';
import { PaymentsApi } from '../src/payments-api.js';

describe('the app under Jest', () => {
  let app: INestApplication;
  let url = '';
  const call = async (method: string, path: string): Promise<{ status: number; retryAfter: string | null; body: any }> => {
    const res = await fetch(url + path, { method });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app.close();
  });

  it('falls back while payments fails, opens, then answers 503 with Retry-After on the decorated route and reports the breaker open', async () => {
    expect(await call('GET', '/orders/7/price')).toMatchObject({ status: 200, body: { orderId: '7', price: 10.5 } });
    app.get(PaymentsApi).mode = 'fail';
    const payments = app.get(CircuitBreakerRegistry).get('payments');
    for (let calls = 0; payments.state !== 'open'; calls++) {
      expect(calls).toBeLessThan(20);
      expect(await call('GET', '/orders/7/price')).toMatchObject({ status: 200, body: { orderId: '7', price: 10.5 } });
    }
    const paid = await call('POST', '/orders/7/pay');
    expect(paid).toMatchObject({ status: 503, body: { statusCode: 503, breaker: 'payments' } });
    expect(paid.retryAfter).toMatch(/^[1-9]\d*$/);
    const health = await call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.details.circuit_breakers.breakers.payments.state).toBe('open');
  });
});
