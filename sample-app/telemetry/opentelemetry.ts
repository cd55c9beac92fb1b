/**
 * OpenTelemetry metrics for the sample app, chosen by the SDK's usual environment variables:
 *
 * - `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318`: OTLP over HTTP to that collector
 *   (`/v1/metrics` is appended), through `@opentelemetry/exporter-metrics-otlp-http`, loaded only
 *   then: an optional package (a dev dependency of this repository; install it in your own app).
 * - `OTEL_METRICS_EXPORTER=console`: the console exporter prints each collection to stdout.
 *   `otlp` is the same as setting the endpoint; `none` turns metrics off.
 * - `OTEL_METRIC_EXPORT_INTERVAL`: ms between collections (10 000 here; the SDK's default is 60 000).
 *
 * Called before the Nest application is created: `CircuitBreakerOpenTelemetryModule` takes the
 * global meter provider when the application initialises (and attaches nothing without one).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';

export const SAMPLE_TELEMETRY = Symbol('SAMPLE_TELEMETRY');
export const OTLP_EXPORTER_PACKAGE = '@opentelemetry/exporter-metrics-otlp-http';
const DEFAULT_INTERVAL_MS = 10_000;

export interface SampleTelemetry {
  /** One line for the start-up banner. */
  readonly banner: string;
  /** Exports what is pending and stops (call it when the app closes). */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

const value = (env: Env, name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

/** Sets up the global MeterProvider from `env`; undefined when no exporter is asked for. */
export async function startOpenTelemetry(env: Env = process.env): Promise<SampleTelemetry | undefined> {
  // The signal's own endpoint is used as given; the base endpoint gets the signal's path.
  const base = value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const endpoint = value(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') ?? (base === undefined ? undefined : `${base.replace(/\/+$/, '')}/v1/metrics`);
  const chosen = value(env, 'OTEL_METRICS_EXPORTER') ?? (endpoint !== undefined ? 'otlp' : 'none');
  if (chosen === 'none') return undefined;
  let exporter: PushMetricExporter;
  let banner: string;
  if (chosen === 'console') {
    exporter = new ConsoleMetricExporter();
    banner = 'printed to stdout (OTEL_METRICS_EXPORTER=console)';
  } else if (chosen === 'otlp') {
    exporter = await otlpExporter(endpoint);
    banner = `OTLP/HTTP to ${endpoint ?? 'http://localhost:4318/v1/metrics (the exporter default)'}`;
  } else {
    throw new Error(`OTEL_METRICS_EXPORTER must be otlp, console or none, got "${chosen}"`);
  }
  const intervalMs = intervalFrom(value(env, 'OTEL_METRIC_EXPORT_INTERVAL'));
  const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: intervalMs })] });
  metrics.setGlobalMeterProvider(provider);
  return {
    banner: `OpenTelemetry metrics: ${banner}, every ${intervalMs / 1000} s`,
    async shutdown() {
      await provider.shutdown();
      metrics.disable();
    },
  };
}

async function otlpExporter(endpoint: string | undefined): Promise<PushMetricExporter> {
  let loaded: { OTLPMetricExporter: new (config?: { url?: string }) => PushMetricExporter };
  try {
    loaded = (await import(OTLP_EXPORTER_PACKAGE)) as typeof loaded;
  } catch (error) {
    throw new Error(
      `OTLP metrics need ${OTLP_EXPORTER_PACKAGE}, which is not installed (${(error as Error).message}). ` +
        `Install it (npm install ${OTLP_EXPORTER_PACKAGE}@^0.223.0, the release that matches @opentelemetry/sdk-metrics 2.12), ` +
        'or use OTEL_METRICS_EXPORTER=console.',
    );
  }
  return new loaded.OTLPMetricExporter(endpoint === undefined ? {} : { url: endpoint });
}

function intervalFrom(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_INTERVAL_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`OTEL_METRIC_EXPORT_INTERVAL must be a positive whole number of milliseconds, got "${raw}"`);
  return ms;
}

/** Flushes and stops the telemetry when the application closes (SIGTERM included, with shutdown hooks). */
@Injectable()
export class TelemetryShutdown implements OnApplicationShutdown {
  constructor(@Inject(SAMPLE_TELEMETRY) private readonly telemetry: SampleTelemetry) {}

  async onApplicationShutdown(): Promise<void> {
    await this.telemetry.shutdown();
  }
}
