import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import {
  CircuitBreaker,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  CircuitOpenError,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
  getCircuitBreakerToken,
} from 'nestjs-breaker';

@Injectable()
export class RatesClient {
  healthy = true;
  calls = 0;
  async rate(currency: string): Promise<number> {
    this.calls++;
    if (!this.healthy) throw new Error('rates unavailable');
    return currency === 'EUR' ? 1 : 1.25;
  }
}

@Injectable()
export class Checkout {
  constructor(private readonly rates: RatesClient) {}

  @UseCircuitBreaker('rates', { fallback: 'inEuros' })
  async total(amount: number, currency: string): Promise<number> {
    return amount * (await this.rates.rate(currency));
  }
  inEuros(amount: number): number {
    return amount;
  }
}

@Injectable()
export class Refunds {
  constructor(
    @InjectCircuitBreaker('rates') private readonly breaker: CircuitBreaker,
    private readonly rates: RatesClient,
  ) {}

  async refund(amount: number): Promise<number> {
    return amount * (await this.breaker.execute(() => this.rates.rate('USD')));
  }
}

describe('checkout with the rates breaker', () => {
  let moduleRef: TestingModule;
  afterEach(() => moduleRef.close()); // disposes every breaker: no timer left behind

  it('falls back while rates fails, stops calling it once open, and closes after the open duration', async () => {
    const clock = new ManualClock();
    moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: { rates: { minimumCalls: 5, openDurationMs: 10_000 } } })],
      providers: [RatesClient, Checkout, Refunds],
    }).compile();
    await moduleRef.init(); // decorated methods are bound to their breakers here
    const rates = moduleRef.get(RatesClient);
    const checkout = moduleRef.get(Checkout);
    const breaker = moduleRef.get(CircuitBreakerRegistry).get('rates');

    rates.healthy = false;
    for (let i = 0; i < 5; i++) expect(await checkout.total(100, 'USD')).toBe(100); // the fallback
    expect(breaker.state).toBe('open');

    rates.healthy = true;
    const calls = rates.calls;
    expect(await checkout.total(100, 'USD')).toBe(100); // open: rates is not called
    expect(rates.calls).toBe(calls);

    clock.advance(10_000); // no sleeping: the breaker's time and timers follow the clock
    expect(await checkout.total(100, 'USD')).toBe(125); // the trial call succeeds
    expect(breaker.state).toBe('closed');
  });

  it('a breaker forced open in the test, and an injected breaker replaced', async () => {
    const forcedOpen = new CircuitBreaker({ name: 'rates' });
    forcedOpen.forceOpen();
    moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ breakers: { rates: {} } })],
      providers: [RatesClient, Checkout, Refunds],
    })
      .overrideProvider(getCircuitBreakerToken('rates')) // what @InjectCircuitBreaker('rates') receives
      .useValue(forcedOpen)
      .compile();
    await moduleRef.init();

    await expect(moduleRef.get(Refunds).refund(10)).rejects.toBeInstanceOf(CircuitOpenError);
    moduleRef.get(CircuitBreakerRegistry).get('rates').forceOpen(); // the decorated method's breaker
    expect(await moduleRef.get(Checkout).total(100, 'USD')).toBe(100);
    expect(moduleRef.get(RatesClient).calls).toBe(0);
    forcedOpen.dispose();
  });
});
