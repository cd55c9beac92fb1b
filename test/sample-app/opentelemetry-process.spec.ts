/**
 * The sample app as `npm start` runs it (the built dist-sample/main.js in a process of its own,
 * importing the package's dist/ by its public name), with OpenTelemetry chosen by environment
 * variables only: OTEL_METRICS_EXPORTER=console prints the breaker metrics on its stdout, and
 * OTEL_EXPORTER_OTLP_ENDPOINT posts them over OTLP/HTTP to a collector (a local HTTP server here).
 * test/sample-app/opentelemetry-exports.spec.ts checks the same wiring in-process, with exact values;
 * this proves main.ts sets it up before the application, as the docs say.
 *
 * The only waits are for the process's periodic export (OTEL_METRIC_EXPORT_INTERVAL, 500 ms here).
 */
import 'reflect-metadata';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SampleInstance, ensureSampleBuilt, waitFor } from '../fleet/fleet.js';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpPoint {
  attributes: OtlpAttribute[];
  asInt?: string | number;
}
interface OtlpExport {
  resourceMetrics: { scopeMetrics: { scope: { name: string }; metrics: { name: string; sum?: { dataPoints: OtlpPoint[] } }[] }[] }[];
}

/** The OTLP/HTTP metrics requests a collector at `url` received, as parsed JSON. */
class Collector {
  readonly exports: OtlpExport[] = [];
  readonly paths: string[] = [];
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      this.paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      this.exports.push(JSON.parse(body) as OtlpExport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The value of `circuitbreaker.calls` for payments' successes in the newest export that has it. */
  paymentsSuccesses(): number | undefined {
    for (const body of [...this.exports].reverse()) {
      for (const scope of body.resourceMetrics.flatMap((rm) => rm.scopeMetrics)) {
        if (scope.scope.name !== 'nestjs-breaker') continue;
        const calls = scope.metrics.find((m) => m.name === 'circuitbreaker.calls');
        const point = calls?.sum?.dataPoints.find((p) => {
          const attributes = Object.fromEntries(p.attributes.map((a) => [a.key, a.value.stringValue]));
          return attributes['circuitbreaker.name'] === 'payments' && attributes['circuitbreaker.outcome'] === 'success';
        });
        if (point !== undefined) return Number(point.asInt);
      }
    }
    return undefined;
  }
}

describe('the sample app process exports OpenTelemetry metrics when its environment asks', () => {
  let instance: SampleInstance | undefined;
  let collector: Collector | undefined;

  beforeAll(async () => {
    const built = await ensureSampleBuilt();
    if (built.length > 0) console.log(`sample app process: built ${built.join(' and ')} (missing, or older than their sources)`);
  }, 180_000);

  afterEach(async () => {
    await instance?.stop();
    instance = undefined;
    await collector?.close();
    collector = undefined;
  });

  it('OTEL_METRICS_EXPORTER=console: the banner says so, and the console exporter prints the breaker metrics on stdout', async () => {
    instance = await new SampleInstance('otel-console', { OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '500', OTEL_EXPORTER_OTLP_ENDPOINT: '' }).ready();
    expect(instance.log).toContain('OpenTelemetry metrics: printed to stdout (OTEL_METRICS_EXPORTER=console), every 0.5 s');
    await instance.http().get('/orders/42/quote').expect(200);

    // ConsoleMetricExporter prints each instrument with console.dir: its descriptor, then its points.
    const instruments = ['circuitbreaker.calls', 'circuitbreaker.state', 'circuitbreaker.failure_rate', 'circuitbreaker.slow_call_rate'];
    const successes = /'circuitbreaker\.name': 'payments',\s+'circuitbreaker\.outcome': 'success'\s+\},\s+startTime: \[[^\]]*\],\s+endTime: \[[^\]]*\],\s+value: (\d+)/g;
    /** payments' successes in each collection printed so far, oldest first. */
    const printed = () => [...instance!.log.matchAll(successes)].map((match) => Number(match[1]));
    await waitFor(
      async () => (instruments.every((name) => instance!.log.includes(`name: '${name}'`)) && printed().at(-1) === 1 ? true : undefined),
      () => `the console exporter to print ${instruments.join(', ')} and payments' one success; the process printed:\n${instance!.log}`,
    );
    // a cumulative count: 0 in the collections before the request (if any), 1 since
    expect(printed().join(' ')).toMatch(/^(0 )*1( 1)*$/);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT: the banner names the endpoint, and the breaker metrics reach the collector over OTLP/HTTP', async () => {
    collector = new Collector();
    const endpoint = await collector.start();
    instance = await new SampleInstance('otel-otlp', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: '500', OTEL_METRICS_EXPORTER: '' }).ready();
    expect(instance.log).toContain(`OpenTelemetry metrics: OTLP/HTTP to ${endpoint}/v1/metrics, every 0.5 s`);
    await instance.http().get('/orders/42/quote').expect(200);
    await instance.http().get('/orders/43/quote').expect(200);

    await waitFor(
      async () => ((collector!.paymentsSuccesses() ?? 0) >= 2 ? true : undefined),
      () => `two payments successes at the collector; it received ${collector!.exports.length} export(s): ${JSON.stringify(collector!.paths)}\n${instance!.log}`,
    );
    expect(new Set(collector.paths)).toEqual(new Set(['POST /v1/metrics application/json']));
    expect(collector.paymentsSuccesses()).toBe(2);
  });

  it('neither variable: the banner says metrics are off', async () => {
    instance = await new SampleInstance('otel-off', { OTEL_METRICS_EXPORTER: '', OTEL_EXPORTER_OTLP_ENDPOINT: '' }).ready();
    expect(instance.log).toContain('OpenTelemetry metrics: off (set OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_METRICS_EXPORTER=console)');
  });
});
