import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { UseCircuitBreaker } from 'nestjs-breaker';
import { PaymentsClient } from '../payments/payments.client.js';
import type { Charge, Quote } from '../payments/payments.client.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly payments: PaymentsClient) {}

  /** The provider's breaker protects this route; its fallback serves the last known price. */
  @Get(':id/quote')
  quote(@Param('id') id: string): Promise<Quote> {
    return this.payments.quote(id);
  }

  /**
   * Decorated on the route too: with no fallback, an open circuit answers 503 + Retry-After and a
   * timeout 504. The provider's call on the same breaker inside it is not counted twice.
   */
  @Post(':id/pay')
  @HttpCode(201)
  @UseCircuitBreaker('payments')
  pay(@Param('id') id: string): Promise<Charge> {
    return this.payments.charge(id);
  }
}
