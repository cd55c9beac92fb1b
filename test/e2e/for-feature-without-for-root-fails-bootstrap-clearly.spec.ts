/**
 * forFeature registers breakers with the application's CircuitBreakerModule; without forRoot or
 * forRootAsync there is none, and the app must say so in those words, naming the feature module,
 * instead of Nest's UnknownDependenciesException about an internal token.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CircuitBreaker, CircuitBreakerModule, InjectCircuitBreaker } from '../../lib/index.js';
import { Apps } from './helpers.js';

@Injectable()
class InventoryClient {
  constructor(@InjectCircuitBreaker('inventory') readonly inventory: CircuitBreaker) {}
}

@Module({ imports: [CircuitBreakerModule.forFeature({ inventory: {} })], providers: [InventoryClient] })
class InventoryModule {}

@Module({ imports: [CircuitBreakerModule.forFeature({ prices: {} })] })
class PricesModule {}

describe('forFeature without forRoot or forRootAsync', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('fails bootstrap naming the feature module and what is missing', async () => {
    const error = await apps.bootstrapError({ imports: [InventoryModule] });
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(
      'CircuitBreakerModule.forFeature({ inventory }) in InventoryModule needs CircuitBreakerModule.forRoot() or forRootAsync() in the application',
    );
    expect((error as Error).message).not.toContain('ModulesContainer');
    expect((error as Error).name).toBe('CircuitBreakerModuleMissingError');
  });

  it('says the same for a feature module whose breakers nothing injects', async () => {
    const error = await apps.bootstrapError({ imports: [PricesModule] });
    expect((error as Error).message).toContain('CircuitBreakerModule.forFeature({ prices }) in PricesModule needs CircuitBreakerModule.forRoot()');
  });

  it('says the same when forRoot is not global (forFeature finds it only when global)', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ logger: false, isGlobal: false }), PricesModule] });
    expect((error as Error).message).toContain('CircuitBreakerModule.forFeature({ prices }) in PricesModule needs');
    expect((error as Error).message).toContain('not `isGlobal: false`');
  });

  it('with forRoot in the application the same modules bootstrap', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger: false }), InventoryModule, PricesModule],
    }).compile();
    const app = apps.track(moduleRef.createNestApplication({ logger: false }));
    await app.init();
    expect(app.get(InventoryClient, { strict: false }).inventory.name).toBe('inventory');
  });
});
