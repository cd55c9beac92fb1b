import { Injectable, Module } from '@nestjs/common';
import { CircuitBreaker, CircuitBreakerModule, InjectCircuitBreaker } from '../../../../lib/index.js';

@Injectable()
export class InventoryService {
  constructor(@InjectCircuitBreaker('inventory') readonly inventory: CircuitBreaker) {}
}

@Module({
  imports: [CircuitBreakerModule.forFeature({ inventory: { openDurationMs: 7_000 } })],
  providers: [InventoryService],
})
export class InventoryModule {}

/** Injects the feature's breaker from another module, which does not import the forFeature. */
@Injectable()
export class ReportsService {
  constructor(@InjectCircuitBreaker('inventory') readonly inventory: CircuitBreaker) {}
}

@Module({ providers: [ReportsService] })
export class ReportsModule {}
