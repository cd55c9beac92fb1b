import { Injectable, Module } from '@nestjs/common';
import { CircuitBreaker, InjectCircuitBreaker } from '../../../../lib/index.js';

@Injectable()
export class PaymentsService {
  constructor(
    @InjectCircuitBreaker('payments') readonly payments: CircuitBreaker,
    @InjectCircuitBreaker('ledger') readonly ledger: CircuitBreaker,
  ) {}
}

@Module({ providers: [PaymentsService], exports: [PaymentsService] })
export class PaymentsModule {}
