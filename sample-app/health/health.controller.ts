import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { CircuitBreakerHealthIndicator } from 'nestjs-breaker/health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
  ) {}

  /** Liveness: an open breaker is "degraded" (HTTP 200); a dependency's outage must not restart us. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers')]);
  }

  /** Readiness: an open breaker answers 503, to shed traffic while payments is down. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { openAs: 'down' })]);
  }
}
