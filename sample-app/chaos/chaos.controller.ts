import { BadRequestException, Body, Controller, Get, Post } from '@nestjs/common';
import { PAYMENTS_MODES, PaymentsDownstream } from '../payments/payments-downstream.js';
import type { PaymentsBehaviour, PaymentsMode } from '../payments/payments-downstream.js';

/** Switches the payments dependency's behaviour at runtime. */
@Controller('chaos')
export class ChaosController {
  constructor(private readonly downstream: PaymentsDownstream) {}

  @Get('payments')
  current(): PaymentsBehaviour & { received: number } {
    return { ...this.downstream.current, received: this.downstream.received };
  }

  /** Body: `{ "mode": "ok" | "fail" | "slow" | "flaky", "percent"?: 0-100, "slowMs"?: number }` */
  @Post('payments')
  set(@Body() body: unknown): PaymentsBehaviour {
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
    return this.downstream.set({
      mode: mode as PaymentsMode,
      ...(percent !== undefined ? { percent: percent as number } : {}),
      ...(slowMs !== undefined ? { slowMs: slowMs as number } : {}),
    });
  }
}
