/**
 * The sample app's OpenTelemetry wiring (sample-app/telemetry/opentelemetry.ts, what main.ts calls
 * before creating the app): with OTEL_EXPORTER_OTLP_ENDPOINT the real OTLP/HTTP exporter posts the
 * breaker metrics to that endpoint (a local HTTP server here, standing in for a collector); with
 * OTEL_METRICS_EXPORTER=console the console exporter prints them; otherwise nothing is set up.
 */
import 'reflect-metadata';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import { AppModule } from '../../sample-app/app.module.js';
import { startOpenTelemetry } from '../../sample-app/telemetry/opentelemetry.js';
import type { SampleTelemetry } from '../../sample-app/telemetry/opentelemetry.js';

/** A stand-in for an OpenTelemetry collector: keeps every OTLP/HTTP request it receives. */
class FakeCollector {
  readonly received: { path: string; contentType: string; body: string }[] = [];
  private readonly server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints: { attributes: OtlpAttribute[]; asInt?: string | number; asDouble?: number }[] };
  gauge?: { dataPoints: { attributes: OtlpAttribute[]; asInt?: string | number; asDouble?: number }[] };
}
interface OtlpExport {
  resourceMetrics: { scopeMetrics: { scope: { name: string; version?: string }; metrics: OtlpMetric[] }[] }[];
}

const attributes = (list: OtlpAttribute[]) => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue]));

describe('sample app: OpenTelemetry metrics from the environment', () => {
  let app: INestApplication | undefined;
  let telemetry: SampleTelemetry | undefined;
  let collector: FakeCollector | undefined;

  afterEach(async () => {
    await app?.close(); // TelemetryShutdown flushes and stops the telemetry
    app = undefined;
    await telemetry?.shutdown().catch(() => undefined);
    telemetry = undefined;
    await collector?.close();
    collector = undefined;
    jest.restoreAllMocks();
  });

  async function startApp(): Promise<App> {
    const clock = new ManualClock(1_000_000);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ paymentsPort: 0, clock, ...(telemetry ? { telemetry } : {}) })] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app.getHttpServer() as App;
  }

  it('OTEL_EXPORTER_OTLP_ENDPOINT: the breaker metrics reach the collector over OTLP/HTTP when the app closes', async () => {
    collector = new FakeCollector();
    const endpoint = await collector.start();
    telemetry = await startOpenTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/` });
    expect(telemetry?.banner).toBe(`OpenTelemetry metrics: OTLP/HTTP to ${endpoint}/v1/metrics, every 10 s`);
    const server = await startApp();
    await request(server).get('/orders/42/quote').expect(200);
    await request(server).post('/chaos/payments').send({ mode: 'fail' }).expect(201);
    await request(server).get('/orders/42/quote').expect(200); // a failure the fallback answers

    await app!.close(); // the breakers' module flushes their last values, then the telemetry shuts down (a final export)
    app = undefined;
    telemetry = undefined;

    expect(collector.received.map((r) => [r.path, r.contentType])).toEqual([
      ['/v1/metrics', 'application/json'],
      ['/v1/metrics', 'application/json'],
    ]);
    const body = JSON.parse(collector.received[0]!.body) as OtlpExport;
    const scope = body.resourceMetrics.flatMap((rm) => rm.scopeMetrics).find((sm) => sm.scope.name === 'nestjs-breaker');
    expect(scope?.scope.version).toBe('0.1.0');
    const byName = new Map(scope!.metrics.map((m) => [m.name, m]));
    expect([...byName.keys()].sort()).toEqual([
      'circuitbreaker.call.duration', // payments has timeoutMs: its durations are known
      'circuitbreaker.calls',
      'circuitbreaker.failure_rate',
      'circuitbreaker.slow_call_rate',
      'circuitbreaker.state',
    ]);
    const calls = byName.get('circuitbreaker.calls')!.sum!.dataPoints.map((p) => ({ ...attributes(p.attributes), value: Number(p.asInt) }));
    expect(calls).toContainEqual({ 'circuitbreaker.name': 'payments', 'circuitbreaker.outcome': 'success', value: 1 });
    expect(calls).toContainEqual({ 'circuitbreaker.name': 'payments', 'circuitbreaker.outcome': 'failure', value: 1 });
    const closed = byName.get('circuitbreaker.state')!.gauge!.dataPoints.find((p) => attributes(p.attributes)['circuitbreaker.state'] === 'closed');
    expect(Number(closed?.asInt)).toBe(1);
    expect(byName.get('circuitbreaker.failure_rate')!.unit).toBe('%');
  });

  it('OTEL_METRICS_EXPORTER=console: the console exporter prints the breaker metrics', async () => {
    const printed: unknown[] = [];
    jest.spyOn(console, 'dir').mockImplementation((item: unknown) => {
      printed.push(item);
    });
    telemetry = await startOpenTelemetry({ OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '5000' });
    expect(telemetry?.banner).toBe('OpenTelemetry metrics: printed to stdout (OTEL_METRICS_EXPORTER=console), every 5 s');
    const server = await startApp();
    await request(server).get('/orders/42/quote').expect(200);
    await app!.close();
    app = undefined;
    telemetry = undefined;

    const calls = printed.find((item) => (item as { descriptor?: { name?: string } }).descriptor?.name === 'circuitbreaker.calls') as
      | { dataPoints: { attributes: Record<string, string>; value: number }[] }
      | undefined;
    expect(calls?.dataPoints).toContainEqual(expect.objectContaining({ attributes: { 'circuitbreaker.name': 'payments', 'circuitbreaker.outcome': 'success' }, value: 1 }));
  });

  it('no exporter asked for: nothing is set up and the breakers have no listener', async () => {
    expect(await startOpenTelemetry({})).toBeUndefined();
    expect(await startOpenTelemetry({ OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' })).toBeUndefined();
    await startApp();
    expect(app!.get(CircuitBreakerRegistry).getAll().map((b) => [b.name, b.listening])).toEqual([['payments', false]]);
  });

  it('a wrong exporter name or interval is an error at start-up, naming the variable', async () => {
    await expect(startOpenTelemetry({ OTEL_METRICS_EXPORTER: 'prometheus' })).rejects.toThrow('OTEL_METRICS_EXPORTER must be otlp, console or none, got "prometheus"');
    await expect(startOpenTelemetry({ OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '10s' })).rejects.toThrow(
      'OTEL_METRIC_EXPORT_INTERVAL must be a positive whole number of milliseconds, got "10s"',
    );
  });
});
