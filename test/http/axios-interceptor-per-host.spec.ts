// CircuitBreakerHttpModule with the real @nestjs/axios HttpService and axios, against real HTTP
// servers on loopback: one breaker per host, the HTTP classification, Retry-After, no connection
// while open, and the breaker's AbortSignal reaching the socket.
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { CircuitBreakerModule, CircuitBreakerRegistry, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../../lib/index.js';
import { CircuitBreakerHttpModule } from '../../lib/http/index.js';
import type { CircuitBreakerHttpOptions } from '../../lib/http/index.js';
import { Apps, startApp } from '../e2e/helpers.js';
import { LoopbackHost, until } from './loopback-hosts.js';

@Injectable()
class PaymentsClient {
  constructor(readonly http: HttpService) {}

  async status(url: string): Promise<number | unknown> {
    return lastValueFrom(this.http.get(url)).then(
      (res) => res.status,
      (error: unknown) => error,
    );
  }
}

const apps = new Apps();
let hosts: LoopbackHost[] = [];
beforeEach(async () => {
  hosts = await Promise.all([LoopbackHost.start(), LoopbackHost.start(), LoopbackHost.start()]);
});
afterEach(async () => {
  await apps.closeAll();
  await Promise.all(hosts.map((host) => host.stop()));
});

async function setup(http: CircuitBreakerHttpOptions, clock?: ManualClock) {
  const app = apps.track(
    await startApp({
      imports: [CircuitBreakerModule.forRoot(clock === undefined ? {} : { defaults: { clock } }), HttpModule, CircuitBreakerHttpModule.register(http)],
      providers: [PaymentsClient],
    }),
  );
  return { client: app.get(PaymentsClient), registry: app.get(CircuitBreakerRegistry) };
}

describe('CircuitBreakerHttpModule (axios)', () => {
  it('one bad host of three opens only its own breaker, and its open circuit makes no connection', async () => {
    const [good1, bad, good2] = hosts as [LoopbackHost, LoopbackHost, LoopbackHost];
    const { client, registry } = await setup({ family: 'payment-hosts', options: { consecutiveFailureThreshold: 3, openDurationMs: 10_000 } }, new ManualClock());
    bad.behaviour = { kind: 'status', status: 500 };
    for (let i = 0; i < 3; i++) {
      expect(await client.status(good1.url())).toBe(200);
      expect(await client.status(bad.url())).toMatchObject({ name: 'AxiosError', response: { status: 500 } });
      expect(await client.status(good2.url())).toBe(200);
    }
    const family = registry.family('payment-hosts');
    expect(family.find(bad.hostKey)?.state).toBe('open');
    expect(family.summary().states).toMatchObject({ closed: 2, open: 1 });
    const connections = bad.connections;
    const requests = bad.requests;
    const refused = await client.status(bad.url('/charge'));
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toMatchObject({ breakerName: `payment-hosts:${bad.hostKey}` });
    expect([bad.connections, bad.requests]).toEqual([connections, requests]);
    expect(await client.status(good2.url())).toBe(200);
  });

  it('ignores 4xx, counts 429 and network errors', async () => {
    const [host] = hosts as [LoopbackHost];
    const { client, registry } = await setup({ options: { minimumCalls: 100 } }, new ManualClock());
    host.behaviour = { kind: 'status', status: 404 };
    expect(await client.status(host.url())).toMatchObject({ response: { status: 404 } });
    host.behaviour = { kind: 'status', status: 429 };
    expect(await client.status(host.url())).toMatchObject({ response: { status: 429 } });
    await host.stop();
    hosts = hosts.slice(1);
    // Refused, or reset (a kept-alive socket the stopped server destroyed): a network error either way.
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain((await client.status(host.url()) as { code?: string }).code);
    expect(registry.family('http').find(host.hostKey)?.totals()).toMatchObject({ ignoredCalls: 1, failedCalls: 2, successfulCalls: 0 });
  });

  it('honours Retry-After on a 429: the circuit stays open that long', async () => {
    const [host] = hosts as [LoopbackHost];
    const clock = new ManualClock();
    const { client, registry } = await setup({ options: { consecutiveFailureThreshold: 1, openDurationMs: 1_000 } }, clock);
    host.behaviour = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    await client.status(host.url());
    const breaker = registry.family('http').find(host.hostKey)!;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', retryAfterMs: 30_000 });
    clock.advance(29_999);
    expect(await client.status(host.url())).toBeInstanceOf(CircuitOpenError);
    host.behaviour = { kind: 'ok' };
    clock.advance(1);
    expect(await client.status(host.url())).toBe(200);
  });

  it("cancels a request that outlives timeoutMs through the breaker's AbortSignal: the server sees its connection closed", async () => {
    const [host] = hosts as [LoopbackHost];
    host.behaviour = { kind: 'hang' };
    const { client, registry } = await setup({ options: { timeoutMs: 100 } });
    expect(await client.status(host.url())).toBeInstanceOf(CircuitBreakerTimeoutError);
    await until(() => host.abandoned === 1);
    expect(registry.family('http').find(host.hostKey)?.totals().timeoutCalls).toBe(1);
  });

  it('perHost: false puts every request through one breaker', async () => {
    const [a, b] = hosts as [LoopbackHost, LoopbackHost];
    const { client, registry } = await setup({ family: 'outbound', perHost: false, options: { consecutiveFailureThreshold: 1 } }, new ManualClock());
    a.behaviour = { kind: 'status', status: 503 };
    await client.status(a.url());
    expect(await client.status(b.url())).toMatchObject({ name: 'CircuitOpenError', breakerName: 'outbound' });
    expect(registry.get('outbound').state).toBe('open');
  });

  it('fails bootstrap when the application has no HttpService', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot(), CircuitBreakerHttpModule.register()] });
    expect((error as Error).message).toContain('found none (import HttpModule from @nestjs/axios)');
  });

  it('refuses unknown options at once', () => {
    expect(() => CircuitBreakerHttpModule.register({ perhost: true } as never)).toThrow('CircuitBreakerHttpModule.register: option "perhost" must be absent');
  });
});
