import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { CircuitBreakerRegistry } from 'nestjs-breaker';
import { CircuitBreakerHealthIndicator } from 'nestjs-breaker/health';
import { ConsumerModule } from './consumer.module.js';

/**
 * This file compiles to CommonJS (no "type": "module" in package.json), so the static imports above
 * become require(). With "module": "nodenext", `import()` stays a real import(), as it would in an
 * ES module dependency of the app: the package reached both ways must be one copy, or Nest would
 * know only one of two CircuitBreakerRegistry classes. (TypeScript types the two from the
 * package's `import` and `require` declarations, hence the casts; Node loads one file.)
 */
async function expectOneCopy(app: NestFastifyApplication): Promise<void> {
  const imported = await import('nestjs-breaker');
  const importedHealth = await import('nestjs-breaker/health');
  if (
    (imported.CircuitBreakerRegistry as unknown) !== CircuitBreakerRegistry ||
    (importedHealth.CircuitBreakerHealthIndicator as unknown) !== CircuitBreakerHealthIndicator
  ) {
    throw new Error("dual package: import('nestjs-breaker') gave other classes than require('nestjs-breaker')");
  }
  if ((app.get(imported.CircuitBreakerRegistry) as unknown) !== app.get(CircuitBreakerRegistry)) {
    throw new Error('dual package: app.get() answered two registries');
  }
  console.log('one copy: require and import() of nestjs-breaker give the same CircuitBreakerRegistry');
}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(ConsumerModule, new FastifyAdapter());
  app.enableShutdownHooks();
  await expectOneCopy(app);
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`consumer listening on port ${(app.getHttpServer().address() as AddressInfo).port}`);
}
bootstrap();
