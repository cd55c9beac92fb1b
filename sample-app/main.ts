import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { PaymentsDownstream } from './payments/payments-downstream.js';

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} must be a port number (0-65535), got "${raw}"`);
  return port;
}

async function bootstrap(): Promise<void> {
  const port = portFromEnv('PORT', 3000);
  const paymentsPort = portFromEnv('PAYMENTS_PORT', port === 0 ? 0 : port + 1);
  const app = await NestFactory.create(AppModule.forRoot({ paymentsPort }));
  app.enableShutdownHooks();
  await app.listen(port, '127.0.0.1');
  const url = `http://localhost:${new URL(await app.getUrl()).port}`;
  const payments = app.get(PaymentsDownstream).url.replace('127.0.0.1', 'localhost');
  console.log(
    [
      '',
      `Sample app listening on ${url}`,
      `  GET  ${url}/orders/42/quote      price through the "payments" breaker (fallback: last known price)`,
      `  POST ${url}/orders/42/pay        charge through the breaker (open: 503 + Retry-After, timeout: 504)`,
      `  GET  ${url}/health               breaker states (open = degraded, HTTP 200)`,
      `  GET  ${url}/health/ready         readiness (open = down, HTTP 503)`,
      `  POST ${url}/chaos/payments       {"mode":"ok"|"fail"|"slow"|"flaky","percent":50}`,
      `  GET  ${url}/metrics              Prometheus metrics of the breakers`,
      `  GET  ${url}/admin/circuit-breakers  manual control (header x-api-key: $ADMIN_API_KEY, default change-me)`,
      `Payments dependency on ${payments}`,
      '',
    ].join('\n'),
  );
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
