/**
 * Two payments hosts, one breaker each: quotes go to the first host whose circuit admits the call,
 * through `breakerFetch` over the keyed family "payment-hosts" (one breaker per host, named
 * `payment-hosts:127.0.0.1:<port>`). When one host fails, its own circuit opens and the other
 * answers; the first host's failures never stop calls to the second.
 */
import { BadGatewayException, Controller, Get, Inject, Injectable, Param } from '@nestjs/common';
import { CircuitBreakerRegistry, CircuitOpenError } from 'nestjs-breaker';
import { breakerFetch } from 'nestjs-breaker/http';
import type { BreakerFetch } from 'nestjs-breaker/http';
import { PaymentsDownstream } from './payments-downstream.js';
import { PaymentsEndpoint } from './payments-endpoint.js';

/** The second payments host (the sample starts it on a free port beside the first). */
export const SECOND_PAYMENTS_HOST = 'SECOND_PAYMENTS_HOST';

export interface HostQuote {
  orderId: string;
  price: number;
  currency: string;
  /** The host that answered (`host:port`). */
  host: string;
  /** Hosts skipped first, with why (an open circuit, or the error). */
  skipped: { host: string; reason: string }[];
}

@Injectable()
export class PaymentHostsClient {
  private readonly fetchHost: BreakerFetch;

  constructor(
    registry: CircuitBreakerRegistry,
    private readonly first: PaymentsEndpoint,
    @Inject(SECOND_PAYMENTS_HOST) private readonly second: PaymentsDownstream,
  ) {
    // The family's options (the HTTP classification included) are declared in AppModule's forRoot.
    this.fetchHost = breakerFetch({ family: registry.family('payment-hosts') });
  }

  async quote(orderId: string): Promise<HostQuote> {
    const skipped: HostQuote['skipped'] = [];
    for (const base of [this.first.url, this.second.url]) {
      const host = new URL(base).host;
      try {
        const response = await this.fetchHost(`${base}/prices/${encodeURIComponent(orderId)}`);
        if (!response.ok) throw new Error(`answered ${response.status}`);
        const body = (await response.json()) as { price: number; currency: string };
        return { orderId, price: body.price, currency: body.currency, host, skipped };
      } catch (error) {
        skipped.push({ host, reason: error instanceof CircuitOpenError ? 'circuit open' : error instanceof Error ? error.message : String(error) });
      }
    }
    throw new BadGatewayException({ message: `no payments host could quote order ${orderId}`, skipped });
  }
}

@Controller('orders')
export class PaymentHostsController {
  constructor(private readonly hosts: PaymentHostsClient) {}

  /** A quote from whichever payments host is up, each host behind its own breaker. */
  @Get(':id/host-quote')
  quote(@Param('id') id: string): Promise<HostQuote> {
    return this.hosts.quote(id);
  }
}
