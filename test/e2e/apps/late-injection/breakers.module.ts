/**
 * The module that registers CircuitBreakerModule, written in its own file and imported by the app
 * module BEFORE the feature modules: forRoot / forRootAsync run before any @InjectCircuitBreaker
 * of the features has been evaluated.
 */
import { Module } from '@nestjs/common';
import { CircuitBreakerModule, ManualClock } from '../../../../lib/index.js';

export const clock = new ManualClock();

const payments = { slidingWindow: { type: 'count' as const, size: 4 }, minimumCalls: 2, openDurationMs: 5_000 };

@Module({ imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, breakers: { payments } })] })
export class BreakersModule {}

@Module({
  imports: [
    CircuitBreakerModule.forRootAsync({
      useFactory: async () => ({ logger: false, defaults: { clock }, breakers: { payments } }),
    }),
  ],
})
export class AsyncBreakersModule {}
