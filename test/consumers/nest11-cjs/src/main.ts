import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { ConsumerModule } from './consumer.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(ConsumerModule);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`consumer listening on port ${(app.getHttpServer().address() as AddressInfo).port}`);
}
bootstrap();
