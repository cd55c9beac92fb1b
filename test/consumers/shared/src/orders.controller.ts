/**
 * Routes over the breaker: an undecorated route over the decorated provider (its fallback answers
 * while payments fails), and a decorated route with no fallback (503 + Retry-After while open).
 */
import { Controller, Get, Param, Post } from '@nestjs/common';
import { UseCircuitBreaker } from 'nestjs-breaker';
import { PaymentsApi } from './payments-api.js';
import { PricingService } from './pricing.service.js';

@Controller('orders')
export class OrdersController {
  constructor(
    private readonly pricing: PricingService,
    private readonly paymentsApi: PaymentsApi,
  ) {}

  @Get(':id/price')
  async price(@Param('id') id: string): Promise<{ orderId: string; price: number }> {
    return { orderId: id, price: await this.pricing.price(id) };
  }

  @Post(':id/pay')
  @UseCircuitBreaker('payments')
  pay(@Param('id') id: string): Promise<{ orderId: string; charged: true }> {
    return this.paymentsApi.charge(id);
  }
}
