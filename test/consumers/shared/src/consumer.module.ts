/**
 * The consumer app: README Usage as it is (src/usage.ts, copied out of README.md by run.mjs, never
 * edited by hand), plus what the matrix checks beside it: an @nestjs/axios HttpService client
 * whose methods have no return type (quotes.ts) and a readiness probe (readiness.controller.ts).
 */
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerHealthModule } from 'nestjs-breaker/health';
import { QuotesModule } from './quotes.js';
import { ReadinessController } from './readiness.controller.js';
import { AppModule } from './usage.js';

@Module({
  imports: [AppModule, QuotesModule, TerminusModule, CircuitBreakerHealthModule],
  controllers: [ReadinessController],
})
export class ConsumerModule {}
