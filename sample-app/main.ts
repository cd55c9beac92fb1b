import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { CircuitBreakerStore } from 'nestjs-breaker';
import { AppModule } from './app.module.js';
import { PaymentsEndpoint } from './payments/payments-endpoint.js';
import { startOpenTelemetry } from './telemetry/opentelemetry.js';

/** An environment variable, `undefined` when unset or empty. */
function env(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function portFromEnv(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a port number (0-65535), got "${raw}"`);
  return port;
}

function msFromEnv(name: string): number | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`${name} must be a positive whole number of milliseconds, got "${raw}"`);
  return ms;
}

/** The URL without its password, for the banner. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * REDIS_URL set: every breaker shares its state with the other instances on that Redis (and key
 * prefix). The Redis store, and with it ioredis, is loaded only then.
 */
async function storeFromEnv(): Promise<{ store?: CircuitBreakerStore; banner: string }> {
  const url = env('REDIS_URL');
  if (url === undefined) return { banner: 'local to this instance (set REDIS_URL to share it across instances)' };
  const { RedisCircuitBreakerStore } = await import('nestjs-breaker/redis');
  const keyPrefix = env('CIRCUIT_BREAKER_KEY_PREFIX') ?? 'sample:';
  const commandTimeoutMs = msFromEnv('REDIS_COMMAND_TIMEOUT_MS');
  const store = RedisCircuitBreakerStore.fromUrl(url, { keyPrefix, ...(commandTimeoutMs !== undefined ? { commandTimeoutMs } : {}) });
  return { store, banner: `shared through Redis at ${redact(url)} (key prefix "${keyPrefix}")` };
}

async function bootstrap(): Promise<void> {
  const port = portFromEnv('PORT', 3000);
  const paymentsPort = portFromEnv('PAYMENTS_PORT', port === 0 ? 0 : port + 1);
  const paymentsUrl = env('PAYMENTS_URL');
  const paymentsOpenDurationMs = msFromEnv('PAYMENTS_OPEN_DURATION_MS');
  const { store, banner: storeBanner } = await storeFromEnv();
  const recordCallsFile = env('RECORD_CALLS');
  // Before the app: the OpenTelemetry module takes the global meter provider when the app initialises.
  const telemetry = await startOpenTelemetry();
  const app = await NestFactory.create(
    AppModule.forRoot({
      paymentsPort,
      ...(paymentsUrl !== undefined ? { paymentsUrl } : {}),
      ...(paymentsOpenDurationMs !== undefined ? { paymentsOpenDurationMs } : {}),
      ...(store !== undefined ? { store } : {}),
      ...(telemetry !== undefined ? { telemetry } : {}),
      ...(recordCallsFile !== undefined ? { recordCallsFile } : {}),
    }),
  );
  app.enableShutdownHooks();
  await app.listen(port, '127.0.0.1');
  const url = `http://localhost:${new URL(await app.getUrl()).port}`;
  const payments = app.get(PaymentsEndpoint);
  console.log(
    [
      '',
      `Sample app listening on ${url}`,
      `  GET  ${url}/orders/42/quote      price through the "payments" breaker (fallback: last known price)`,
      `  POST ${url}/orders/42/pay        charge through the breaker (open: 503 + Retry-After, timeout: 504)`,
      `  GET  ${url}/health               breaker states (open = degraded, HTTP 200)`,
      `  GET  ${url}/health/ready         readiness (open = down, HTTP 503)`,
      payments.external
        ? `  POST ${url}/chaos/payments       409 here: payments is external, switch it where it runs`
        : `  POST ${url}/chaos/payments       {"mode":"ok"|"fail"|"slow"|"flaky","percent":50}`,
      `  GET  ${url}/metrics              Prometheus metrics of the breakers`,
      `  GET  ${url}/admin/circuit-breakers  manual control (header x-api-key: $ADMIN_API_KEY, default change-me)`,
      `  open ${url}/circuit-breakers     live dashboard in a browser (this machine only; its buttons need the key)`,
      `Payments dependency on ${payments.url.replace('127.0.0.1', 'localhost')}${payments.external ? ' (external: PAYMENTS_URL)' : ' (started by this app)'}`,
      `Breaker state: ${storeBanner}`,
      telemetry?.banner ?? 'OpenTelemetry metrics: off (set OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_METRICS_EXPORTER=console)',
      recordCallsFile !== undefined
        ? `Recording every call to ${recordCallsFile} (replay it: npx nestjs-breaker replay --trace ${recordCallsFile} --config a.json --config b.json)`
        : 'Call recording: off (set RECORD_CALLS=calls.ndjson to record a trace for npx nestjs-breaker replay)',
      '',
    ].join('\n'),
  );
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
