import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  CircuitOpenError,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

const clock = new ManualClock();

@Injectable()
class InventoryService {
  healthy = false;
  calls = 0;

  constructor(@InjectCircuitBreaker('inventory') readonly inventory: CircuitBreaker) {}

  async stock(sku: string): Promise<number> {
    return this.inventory.execute(async () => {
      this.calls++;
      if (!this.healthy) throw new Error(`inventory down for ${sku}`);
      return 7;
    });
  }
}

@Controller('inventory')
class InventoryController {
  constructor(private readonly service: InventoryService) {}

  @Get('decorated')
  @UseCircuitBreaker('inventory')
  async decorated(): Promise<{ stock: number }> {
    return { stock: 1 };
  }

  @Get('direct')
  async direct(): Promise<{ stock?: number; error?: string }> {
    try {
      return { stock: await this.service.stock('sku') };
    } catch (error) {
      return { error: (error as Error).name };
    }
  }
}

@Module({
  imports: [CircuitBreakerModule.forFeature({ inventory: tripFast({ openDurationMs: 3_000 }) })],
  controllers: [InventoryController],
  providers: [InventoryService],
})
class InventoryModule {}

/** Never part of the app below: the name it injects must not show up in that app's registry. */
@Injectable()
class NotInTheApp {
  constructor(@InjectCircuitBreaker('used-by-no-app') readonly breaker: CircuitBreaker) {}
}

describe('CircuitBreakerModule.forFeature', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup() {
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, breakers: { payments: {} } }), InventoryModule],
      }),
    );
    return { app, registry: app.get(CircuitBreakerRegistry), service: app.get(InventoryService) };
  }

  it('a feature module declares "inventory" and injects it with @InjectCircuitBreaker; the registry lists it', async () => {
    const { registry, service } = await setup();
    expect(NotInTheApp.name).toBe('NotInTheApp');
    expect(service.inventory).toBeInstanceOf(CircuitBreaker);
    expect(service.inventory).toBe(registry.get('inventory'));
    expect(service.inventory.name).toBe('inventory');
    expect(service.inventory.options.openDurationMs).toBe(3_000);
    expect(service.inventory.options.clock).toBe(clock);
    expect(registry.isDeclared('inventory')).toBe(true);
    const names = registry.getAll().map((b) => b.name);
    expect(names).toContain('inventory');
    expect(names).toContain('payments');
    expect(names).not.toContain('used-by-no-app');
  });

  it('the injected breaker works: failures trip it and it then rejects with CircuitOpenError', async () => {
    const { app, service } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/inventory/direct').expect(200, { error: 'Error' });
    await request(server).get('/inventory/direct').expect(200, { error: 'Error' });
    await request(server).get('/inventory/direct').expect(200, { error: 'CircuitOpenError' });
    expect(service.calls).toBe(2);
    await expect(service.stock('x')).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('@UseCircuitBreaker("inventory") in the feature module uses the same breaker', async () => {
    const { app, registry, service } = await setup();
    const server = app.getHttpServer();
    await request(server).get('/inventory/decorated').expect(200);
    expect(registry.get('inventory').snapshot().calls).toBe(1);
    await service.stock('a').catch(() => undefined);
    await service.stock('b').catch(() => undefined);
    expect(registry.get('inventory').state).toBe('open');
    const res = await request(server).get('/inventory/decorated').expect(503);
    expect(res.body.breaker).toBe('inventory');
    expect(res.headers['retry-after']).toBe('3');
  });
});
