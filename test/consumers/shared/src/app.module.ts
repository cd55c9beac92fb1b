/** The application module of README Usage. */
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerModule } from 'nestjs-breaker';
import { CircuitBreakerHealthModule } from 'nestjs-breaker/health';
import { ControlsController } from './controls.controller.js';
import { HealthController } from './health.controller.js';
import { OrdersController } from './orders.controller.js';
import { PaymentsApi } from './payments-api.js';
import { PricingService } from './pricing.service.js';

@Module({
  imports: [
    CircuitBreakerModule.forRoot({ breakers: { payments: { failureRateThreshold: 50, timeoutMs: 2_000 } } }),
    TerminusModule,
    CircuitBreakerHealthModule,
  ],
  controllers: [OrdersController, HealthController, ControlsController],
  providers: [PricingService, PaymentsApi],
})
export class AppModule {}
