// CircuitBreakerModule.forFeature({ breakers, families }) declares keyed families the way forRoot
// does: a feature module's keyed routes take the family's options (strict mode accepts them),
// each key has its own breaker, and a disagreeing declaration elsewhere fails bootstrap naming both.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, Param } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitBreakerModule, CircuitBreakerRegistry, InjectCircuitBreaker, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

const clock = new ManualClock();
const down = new Set<string>();

@Injectable()
class LedgerService {
  constructor(@InjectCircuitBreaker('ledger') readonly ledger: CircuitBreaker) {}
}

@Controller('shards')
class ShardsController {
  calls = 0;

  @Get(':id')
  @UseCircuitBreaker('shards', { key: (id: string) => `shard-${id}` })
  async read(@Param('id') id: string): Promise<{ shard: string }> {
    this.calls++;
    if (down.has(id)) throw new Error(`shard ${id} down`);
    return { shard: id };
  }
}

const SHARDS = { consecutiveFailureThreshold: 1, openDurationMs: 7_000, maxKeys: 50, idleTtlMs: 120_000 };

@Module({
  imports: [CircuitBreakerModule.forFeature({ breakers: { ledger: { openDurationMs: 4_000 } }, families: { shards: SHARDS } })],
  controllers: [ShardsController],
  providers: [LedgerService],
})
class ShardsModule {}

/** The same family declared by a second feature module with other options. */
@Module({ imports: [CircuitBreakerModule.forFeature({ families: { shards: { ...SHARDS, openDurationMs: 9_000 } } })] })
class DisagreeingModule {}

describe('CircuitBreakerModule.forFeature declares families', () => {
  const apps = new Apps();
  afterEach(async () => {
    down.clear();
    await apps.closeAll();
  });

  it("declares the family with its options and limits; strict mode accepts the feature's keyed route", async () => {
    const app = apps.track(await startApp({ imports: [CircuitBreakerModule.forRoot({ strict: true, logger: false, defaults: { clock } }), ShardsModule] }));
    const registry = app.get(CircuitBreakerRegistry);
    expect(registry.isFamilyDeclared('shards')).toBe(true);
    const shards = registry.family('shards');
    expect(shards.maxKeys).toBe(50);
    expect(shards.idleTtlMs).toBe(120_000);
    expect(shards.breakerSettings).toMatchObject({ consecutiveFailureThreshold: 1, openDurationMs: 7_000, clock });
    // The breakers form declares named breakers beside it, injectable in the feature module.
    expect(app.get(LedgerService).ledger.options.openDurationMs).toBe(4_000);
    expect(registry.isDeclared('ledger')).toBe(true);
  });

  it("one failing key opens its own breaker with the feature's options; the other keys still answer", async () => {
    const app = apps.track(await startApp({ imports: [CircuitBreakerModule.forRoot({ strict: true, logger: false, defaults: { clock } }), ShardsModule] }));
    const server = app.getHttpServer();
    down.add('3');
    await request(server).get('/shards/3').expect(500);
    // consecutiveFailureThreshold 1 (the family's, not the defaults'): open after one failure.
    const refused = await request(server).get('/shards/3').expect(503);
    expect(refused.body.breaker).toBe('shards:shard-3');
    expect(refused.headers['retry-after']).toBe('7');
    await request(server).get('/shards/4').expect(200, { shard: '4' });
    expect(app.get(ShardsController).calls).toBe(2);
    expect(app.get(CircuitBreakerRegistry).family('shards').summary()).toMatchObject({ keys: 2, openKeys: ['shard-3'] });
  });

  it('a family declared again with other options fails bootstrap naming both registrations', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock } }), ShardsModule, DisagreeingModule] });
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    const message = (error as Error).message;
    expect(message).toContain('shards');
    expect(message).toContain('ShardsModule');
    expect(message).toContain('DisagreeingModule');
  });

  it('a family declared by forRoot and by a feature module with the same options is one family', async () => {
    const app = apps.track(
      await startApp({ imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock }, families: { shards: SHARDS } }), ShardsModule] }),
    );
    expect(app.get(CircuitBreakerRegistry).families().map((f) => f.name)).toEqual(['shards']);
  });

  it('refuses a families entry that is not an object of family options', () => {
    expect(() => CircuitBreakerModule.forFeature({ families: [] as unknown as Record<string, object> })).toThrow(CircuitBreakerConfigError);
  });
});
