/**
 * @InjectCircuitBreaker resolves whatever order the module files load in: here the module calling
 * forRoot / forRootAsync is imported (and so evaluated) before the feature modules that inject,
 * for names it declares, names only forFeature declares, and names declared nowhere (defaults).
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerRegistry, CircuitOpenError } from '../../lib/index.js';
import { AppModule, AsyncAppModule } from './apps/late-injection/app.module.js';
import { InventoryService, ReportsService } from './apps/late-injection/inventory.module.js';
import { PaymentsService } from './apps/late-injection/payments.module.js';
import { Apps, startApp } from './helpers.js';

describe.each([
  ['forRoot', AppModule],
  ['forRootAsync', AsyncAppModule],
])('@InjectCircuitBreaker with %s registered in a module loaded before the features', (_, module) => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('injects a breaker the registration declares, with its options', async () => {
    const app = apps.track(await startApp({ imports: [module] }));
    const { payments } = app.get(PaymentsService);
    expect(payments).toBeInstanceOf(CircuitBreaker);
    expect(payments).toBe(app.get(CircuitBreakerRegistry).get('payments'));
    expect(payments.options.openDurationMs).toBe(5_000);
    await expect(payments.execute(async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(payments.execute(async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(payments.execute(async () => 'ok')).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('injects a breaker declared nowhere, built from the defaults', async () => {
    const app = apps.track(await startApp({ imports: [module] }));
    const { ledger } = app.get(PaymentsService);
    expect(ledger).toBe(app.get(CircuitBreakerRegistry).get('ledger'));
    expect(ledger.options.openDurationMs).toBe(30_000);
  });

  it('injects a forFeature breaker, in its module and in a module that does not import the forFeature', async () => {
    const app = apps.track(await startApp({ imports: [module] }));
    const registry = app.get(CircuitBreakerRegistry);
    expect(app.get(InventoryService).inventory).toBe(registry.get('inventory'));
    expect(app.get(ReportsService).inventory).toBe(registry.get('inventory'));
    expect(registry.get('inventory').options.openDurationMs).toBe(7_000);
  });
});
