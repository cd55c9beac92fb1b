/**
 * The app's downstream dependency: a stand-in for a payment provider's client. The driver switches
 * it between answering and failing over HTTP (ControlsController) and reads how often it was called.
 */
import { Injectable } from '@nestjs/common';

export type PaymentsMode = 'ok' | 'fail';

@Injectable()
export class PaymentsApi {
  mode: PaymentsMode = 'ok';
  calls = 0;

  async price(orderId: string): Promise<number> {
    this.answerOrFail();
    return orderId.length * 10 + 0.5;
  }

  async charge(orderId: string): Promise<{ orderId: string; charged: true }> {
    this.answerOrFail();
    return { orderId, charged: true };
  }

  private answerOrFail(): void {
    this.calls++;
    if (this.mode === 'fail') throw new Error('payments API unavailable');
  }
}
