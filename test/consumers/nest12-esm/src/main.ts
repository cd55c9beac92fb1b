import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { ConsumerModule } from './consumer.module.js';

/**
 * The same package reached through require(), as a CommonJS dependency of this ES module app
 * would: it must be one copy, or Nest would know only one of two CircuitBreakerRegistry classes.
 */
function expectOneCopy(app: INestApplication): void {
  const required = createRequire(import.meta.url)('nestjs-breaker') as typeof import('nestjs-breaker');
  if (required.CircuitBreakerRegistry !== CircuitBreakerRegistry) {
    throw new Error("dual package: require('nestjs-breaker') gave other classes than import");
  }
  if (app.get(required.CircuitBreakerRegistry) !== app.get(CircuitBreakerRegistry)) {
    throw new Error('dual package: app.get() answered two registries');
  }
  console.log('one copy: require and import of nestjs-breaker give the same CircuitBreakerRegistry');
}

const app = await NestFactory.create(ConsumerModule);
app.enableShutdownHooks();
expectOneCopy(app);
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`consumer listening on port ${(app.getHttpServer().address() as AddressInfo).port}`);
