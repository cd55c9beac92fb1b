/** The readiness probe of docs/health.md: `openAs: 'down'` answers 503 while a breaker is open. */
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { CircuitBreakerHealthIndicator } from 'nestjs-breaker/health';

@Controller('health')
export class ReadinessController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { breakers: ['payments'], openAs: 'down' })]);
  }
}
