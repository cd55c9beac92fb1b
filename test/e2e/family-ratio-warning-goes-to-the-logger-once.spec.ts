// In Nest, a family whose threshold looks like a ratio (0.5 meant as 50 %) is warned about once,
// through the module's logger and naming the family, however many keys its keyed route meets;
// no process warning is given for its keys.
import 'reflect-metadata';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Param } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: string): void {
    this.warnings.push(message);
  }
}

@Controller('tenants')
class TenantsController {
  @Get(':id')
  @UseCircuitBreaker('tenants', { key: (id: string) => id })
  async read(@Param('id') id: string): Promise<{ tenant: string }> {
    return { tenant: id };
  }
}

describe('a ratio-like threshold of a family in Nest', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('is one warning through the module logger, naming the family, not one per key', async () => {
    const logger = new CapturingLogger();
    const processWarnings: string[] = [];
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error) => {
      processWarnings.push(String(message));
    }) as typeof process.emitWarning);
    try {
      const app = apps.track(
        await startApp({
          imports: [CircuitBreakerModule.forRoot({ logger, defaults: { clock: new ManualClock() }, families: { tenants: { failureRateThreshold: 0.5 } } })],
          controllers: [TenantsController],
        }),
      );
      for (const id of ['acme', 'globex', 'initech', 'umbrella']) await request(app.getHttpServer()).get(`/tenants/${id}`).expect(200, { tenant: id });
    } finally {
      spy.mockRestore();
    }
    const ratio = logger.warnings.filter((w) => w.includes('looks like a ratio'));
    expect(ratio).toHaveLength(1);
    expect(ratio[0]).toContain('family "tenants"');
    expect(ratio[0]).toContain('failureRateThreshold 0.5');
    expect(processWarnings.filter((w) => w.includes('looks like a ratio'))).toEqual([]);
  });
});
