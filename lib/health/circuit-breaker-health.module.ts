import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerHealthIndicator } from './circuit-breaker-health.indicator.js';

/**
 * Provides {@link CircuitBreakerHealthIndicator}. Import it beside `TerminusModule`; it reads the
 * breakers of the application's `CircuitBreakerModule.forRoot()` / `forRootAsync()` (a global
 * module by default) and fails bootstrap with an explanation when there is none.
 */
@Module({
  imports: [TerminusModule],
  providers: [CircuitBreakerHealthIndicator],
  exports: [CircuitBreakerHealthIndicator],
})
export class CircuitBreakerHealthModule {}
