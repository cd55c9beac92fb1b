/** Test controls for the driver: switch the payments stand-in, read how often it was called. */
import { BadRequestException, Body, Controller, Get, Put } from '@nestjs/common';
import { PaymentsApi } from './payments-api.js';

@Controller('test-controls')
export class ControlsController {
  constructor(private readonly paymentsApi: PaymentsApi) {}

  @Get('payments')
  payments(): { mode: string; calls: number } {
    return { mode: this.paymentsApi.mode, calls: this.paymentsApi.calls };
  }

  @Put('payments')
  setPayments(@Body() body: { mode?: unknown }): { mode: string; calls: number } {
    if (body?.mode !== 'ok' && body?.mode !== 'fail') throw new BadRequestException('mode must be "ok" or "fail"');
    this.paymentsApi.mode = body.mode;
    return this.payments();
  }
}
