import { BadGatewayException, Injectable } from '@nestjs/common';
import { CircuitBreakerTimeoutError, CircuitOpenError, UseCircuitBreaker, circuitBreakerSignal } from 'nestjs-breaker';
import { PaymentsEndpoint } from './payments-endpoint.js';

export interface Quote {
  orderId: string;
  price: number;
  currency: string;
  /** live: from the payments service; cache: the last known price, served by the fallback. */
  source: 'live' | 'cache';
  /** Why the cache was used (the breaker's error name). */
  reason?: string;
}

export interface Charge {
  orderId: string;
  chargeId: string;
  status: string;
}

/** Calls the payments service over HTTP (its own or PAYMENTS_URL); every call goes through the "payments" breaker. */
@Injectable()
export class PaymentsClient {
  private readonly lastKnown = new Map<string, Quote>();

  constructor(private readonly payments: PaymentsEndpoint) {}

  @UseCircuitBreaker('payments', { fallback: 'lastKnownPrice' })
  async quote(orderId: string): Promise<Quote> {
    // The breaker's signal aborts the request when the call times out (timeoutMs).
    const response = await fetch(`${this.payments.url}/prices/${encodeURIComponent(orderId)}`, { signal: circuitBreakerSignal() });
    if (!response.ok) throw new Error(`payments answered ${response.status}`);
    const body = (await response.json()) as { price: number; currency: string };
    const quote: Quote = { orderId, price: body.price, currency: body.currency, source: 'live' };
    this.lastKnown.set(orderId, quote);
    return quote;
  }

  /** Fallback: the method's arguments, then the error. */
  lastKnownPrice(orderId: string, error: unknown): Quote {
    const cached = this.lastKnown.get(orderId);
    if (cached) return { ...cached, source: 'cache', reason: error instanceof Error ? error.name : 'Error' };
    // Nothing cached: let the breaker's own errors map to 503/504; anything else is a 502.
    if (error instanceof CircuitOpenError || error instanceof CircuitBreakerTimeoutError) throw error;
    throw new BadGatewayException(`payments failed and no price is cached for order ${orderId}`);
  }

  /** Same breaker as the controller route that calls it: recorded once, as the route's call. */
  @UseCircuitBreaker('payments')
  async charge(orderId: string): Promise<Charge> {
    const response = await fetch(`${this.payments.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId }),
      signal: circuitBreakerSignal(),
    });
    if (!response.ok) throw new Error(`payments answered ${response.status}`);
    const body = (await response.json()) as { chargeId: string; status: string };
    return { orderId, chargeId: body.chargeId, status: body.status };
  }
}
