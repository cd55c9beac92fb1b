/** A decorated provider method with a fallback, as README Usage shows it. */
import { Injectable } from '@nestjs/common';
import { UseCircuitBreaker } from 'nestjs-breaker';
import { PaymentsApi } from './payments-api.js';

@Injectable()
export class PricingService {
  private readonly cache = new Map<string, number>();

  constructor(private readonly paymentsApi: PaymentsApi) {}

  @UseCircuitBreaker('payments', { fallback: 'cachedPrice' })
  async price(orderId: string): Promise<number> {
    const price = await this.paymentsApi.price(orderId);
    this.cache.set(orderId, price);
    return price;
  }

  cachedPrice(orderId: string, error: unknown): number {
    const price = this.cache.get(orderId);
    if (price === undefined) throw error;
    return price;
  }
}
