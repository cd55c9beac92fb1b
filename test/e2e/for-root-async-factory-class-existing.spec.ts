import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

/** A ConfigService look-alike: values a real app would read from the environment. */
@Injectable()
class ConfigService {
  static readonly clock = new ManualClock();
  private readonly values: Record<string, number> = { PAYMENTS_OPEN_MS: 12_000, PAYMENTS_MIN_CALLS: 2 };
  get(key: string): number {
    const value = this.values[key];
    if (value === undefined) throw new Error(`missing config ${key}`);
    return value;
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

function optionsFrom(config: ConfigService): CircuitBreakerModuleOptions {
  return {
    logger: false,
    strict: true,
    defaults: { clock: ConfigService.clock },
    breakers: {
      payments: {
        openDurationMs: config.get('PAYMENTS_OPEN_MS'),
        minimumCalls: config.get('PAYMENTS_MIN_CALLS'),
        failureRateThreshold: 50,
      },
    },
  };
}

@Injectable()
class BreakerOptionsFactory {
  constructor(private readonly config: ConfigService) {}
  create(): CircuitBreakerModuleOptions {
    return optionsFrom(this.config);
  }
}

@Module({ imports: [ConfigModule], providers: [BreakerOptionsFactory], exports: [BreakerOptionsFactory] })
class BreakerOptionsModule {}

@Injectable()
class PaymentsClient {
  constructor(@InjectCircuitBreaker('payments') readonly payments: CircuitBreaker) {}
}

@Controller('pay')
class PayController {
  calls = 0;

  @Get()
  @UseCircuitBreaker('payments')
  async pay(): Promise<string> {
    this.calls++;
    throw new Error('gateway down');
  }
}

describe('CircuitBreakerModule.forRootAsync', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function expectConfigured(app: INestApplication): Promise<void> {
    const registry = app.get(CircuitBreakerRegistry);
    const payments = registry.get('payments');
    expect(payments.options.openDurationMs).toBe(12_000);
    expect(payments.options.minimumCalls).toBe(2);
    // @InjectCircuitBreaker of a name only the async factory declared (strict mode is on)
    expect(app.get(PaymentsClient).payments).toBe(payments);

    const server = app.getHttpServer();
    await request(server).get('/pay').expect(500);
    await request(server).get('/pay').expect(500);
    const res = await request(server).get('/pay').expect(503);
    expect(res.headers['retry-after']).toBe('12');
    expect(app.get(PayController).calls).toBe(2);
  }

  it('useFactory + inject, with a ConfigService from an imported module', async () => {
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRootAsync({
            imports: [ConfigModule],
            inject: [ConfigService],
            useFactory: (config: ConfigService) => optionsFrom(config),
          }),
        ],
        controllers: [PayController],
        providers: [PaymentsClient],
      }),
    );
    await expectConfigured(app);
  });

  it('useFactory may be async', async () => {
    const app = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRootAsync({
            imports: [ConfigModule],
            inject: [ConfigService],
            useFactory: async (config: ConfigService) => {
              await Promise.resolve();
              return optionsFrom(config);
            },
          }),
        ],
        controllers: [PayController],
        providers: [PaymentsClient],
      }),
    );
    await expectConfigured(app);
  });

  it('useClass: an options factory class with create()', async () => {
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRootAsync({ imports: [ConfigModule], useClass: BreakerOptionsFactory })],
        controllers: [PayController],
        providers: [PaymentsClient],
      }),
    );
    await expectConfigured(app);
  });

  it('useExisting: an options factory provided by an imported module', async () => {
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRootAsync({ imports: [BreakerOptionsModule], useExisting: BreakerOptionsFactory })],
        controllers: [PayController],
        providers: [PaymentsClient],
      }),
    );
    await expectConfigured(app);
  });

  it('strict mode from the async options still rejects an undeclared name at bootstrap', async () => {
    @Injectable()
    class Undeclared {
      @UseCircuitBreaker('not-in-config')
      async run(): Promise<void> {}
    }
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: optionsFrom })],
      providers: [Undeclared],
    });
    expect((error as Error).name).toBe('CircuitBreakerConfigError');
    expect((error as Error).message).toContain('not-in-config');
    expect((error as Error).message).toContain('Undeclared.run');
  });
});
