import { BadRequestException, Body, ConflictException, Controller, Get, Inject, Optional, Post } from '@nestjs/common';
import { PAYMENTS_MODES, PaymentsDownstream } from '../payments/payments-downstream.js';
import type { PaymentsBehaviour, PaymentsMode } from '../payments/payments-downstream.js';
import { PaymentsEndpoint } from '../payments/payments-endpoint.js';
import { SECOND_PAYMENTS_HOST } from '../payments/payment-hosts.js';

/** Switches the payments dependency's behaviour at runtime (only the app that runs it can). */
@Controller('chaos')
export class ChaosController {
  constructor(
    private readonly payments: PaymentsEndpoint,
    // Absent when the payments service is external (PAYMENTS_URL).
    @Optional() @Inject(PaymentsDownstream) private readonly downstream: PaymentsDownstream | undefined,
    @Inject(SECOND_PAYMENTS_HOST) private readonly second: PaymentsDownstream,
  ) {}

  /** The second payments host (GET /orders/:id/host-quote); same body as POST /chaos/payments. */
  @Post('payments-b')
  setSecond(@Body() body: unknown): PaymentsBehaviour {
    return this.apply(this.second, body);
  }

  @Get('payments')
  current(): PaymentsBehaviour & { received: number } {
    const downstream = this.own();
    return { ...downstream.current, received: downstream.received };
  }

  /** Body: `{ "mode": "ok" | "fail" | "slow" | "flaky", "percent"?: 0-100, "slowMs"?: number }` */
  @Post('payments')
  set(@Body() body: unknown): PaymentsBehaviour {
    return this.apply(this.own(), body);
  }

  private apply(downstream: PaymentsDownstream, body: unknown): PaymentsBehaviour {
    if (body === null || typeof body !== 'object') throw new BadRequestException('body must be a JSON object');
    const { mode, percent, slowMs } = body as Record<string, unknown>;
    if (!PAYMENTS_MODES.includes(mode as PaymentsMode)) {
      throw new BadRequestException(`mode must be one of ${PAYMENTS_MODES.join(', ')}; got ${JSON.stringify(mode)}`);
    }
    if (percent !== undefined && (typeof percent !== 'number' || !(percent >= 0 && percent <= 100))) {
      throw new BadRequestException(`percent must be a number in [0, 100]; got ${JSON.stringify(percent)}`);
    }
    if (slowMs !== undefined && (typeof slowMs !== 'number' || !(slowMs >= 0 && slowMs <= 60_000))) {
      throw new BadRequestException(`slowMs must be a number in [0, 60000]; got ${JSON.stringify(slowMs)}`);
    }
    return downstream.set({
      mode: mode as PaymentsMode,
      ...(percent !== undefined ? { percent: percent as number } : {}),
      ...(slowMs !== undefined ? { slowMs: slowMs as number } : {}),
    });
  }

  private own(): PaymentsDownstream {
    if (this.downstream === undefined) {
      throw new ConflictException(
        `the payments service is external (PAYMENTS_URL=${this.payments.url}): switch its behaviour on the instance that runs it`,
      );
    }
    return this.downstream;
  }
}
