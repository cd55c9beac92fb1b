// @UseCircuitBreaker('family', { key }) on controllers and providers, in a real Nest app over HTTP:
// the key comes from the method's arguments after pipes, each key has its own breaker (family:key),
// fallbacks see the same arguments, every Nest scope is bound, and a bad key fails only its call.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param, ParseIntPipe, Scope } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Observable, lastValueFrom, of, throwError } from 'rxjs';
import request from 'supertest';
import { CircuitBreakerKeyError, CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { StateChangeEvent } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

const down = new Set<number>();

@Controller('shards')
class ShardsController {
  calls = 0;

  // The key function receives the piped value: a number, not the raw string.
  @Get(':id')
  @UseCircuitBreaker('shards', { key: (id: number) => `shard-${id + 0}`, fallback: 'stale' })
  async read(@Param('id', ParseIntPipe) id: number): Promise<{ shard: number; source: string }> {
    this.calls++;
    if (down.has(id)) throw new Error(`shard ${id} down`);
    return { shard: id, source: 'live' };
  }

  stale(id: number, error: unknown): { shard: number; source: string; reason: string } {
    return { shard: id, source: 'stale', reason: (error as Error).name };
  }
}

@Controller({ path: 'scoped', scope: Scope.REQUEST })
class RequestScopedController {
  @Get(':tenant')
  @UseCircuitBreaker('tenants', { key: (tenant: string) => tenant })
  async get(@Param('tenant') tenant: string): Promise<string> {
    if (tenant.startsWith('bad')) throw new Error('tenant db down');
    return `ok ${tenant}`;
  }
}

@Injectable()
class TenantsService {
  @UseCircuitBreaker('tenants', { key: (tenant: string) => tenant })
  lookup(tenant: string): Observable<string> {
    return tenant.startsWith('bad') ? throwError(() => new Error('tenant db down')) : of(`found ${tenant}`);
  }

  @UseCircuitBreaker('tenants', { key: (tenant: string) => tenant })
  count(tenant: string): number {
    if (tenant.startsWith('bad')) throw new Error('tenant db down');
    return tenant.length;
  }

  @UseCircuitBreaker('computed', { key: () => '' })
  async emptyKey(): Promise<string> {
    return 'never';
  }

  @UseCircuitBreaker('computed', {
    key: () => {
      throw new Error('no tenant in context');
    },
  })
  async throwingKey(): Promise<string> {
    return 'never';
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientWorker {
  @UseCircuitBreaker('tenants', { key: (tenant: string) => tenant })
  async work(tenant: string): Promise<string> {
    if (tenant.startsWith('bad')) throw new Error('tenant db down');
    return `worked ${tenant}`;
  }
}

@Injectable()
class WorkerUser {
  constructor(readonly worker: TransientWorker) {}
}

const apps = new Apps();
afterEach(async () => {
  down.clear();
  await apps.closeAll();
});

async function app(): Promise<{ app: INestApplication; clock: ManualClock; registry: CircuitBreakerRegistry; changes: StateChangeEvent[] }> {
  const clock = new ManualClock();
  const nest = apps.track(
    await startApp({
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { clock, consecutiveFailureThreshold: 2, openDurationMs: 10_000 },
          families: { shards: { maxKeys: 100 }, tenants: {}, computed: {} },
          strict: true,
        }),
      ],
      controllers: [ShardsController, RequestScopedController],
      providers: [TenantsService, TransientWorker, WorkerUser],
    }),
  );
  const registry = nest.get(CircuitBreakerRegistry);
  const changes: StateChangeEvent[] = [];
  registry.stateChanges$.subscribe((event) => changes.push(event));
  return { app: nest, clock, registry, changes };
}

describe('a keyed controller route', () => {
  it('opens only the failing key, serves its fallback, and keeps the other keys live', async () => {
    const { app: nest, registry, changes } = await app();
    const server = nest.getHttpServer();
    down.add(2);
    for (let i = 0; i < 2; i++) await request(server).get('/shards/2').expect(200, { shard: 2, source: 'stale', reason: 'Error' });
    expect(changes.map((e) => `${e.name} ${e.to}`)).toEqual(['shards:shard-2 open']);
    const controller = nest.get(ShardsController);
    const before = controller.calls;
    await request(server).get('/shards/2').expect(200, { shard: 2, source: 'stale', reason: 'CircuitOpenError' });
    expect(controller.calls).toBe(before); // the open circuit did not call the route
    await request(server).get('/shards/1').expect(200, { shard: 1, source: 'live' });
    expect(registry.family('shards').summary()).toMatchObject({ keys: 2, maxKeys: 100, openKeys: ['shard-2'] });
    expect(registry.find('shards:shard-2')?.state).toBe('open');
    expect(registry.getAll().map((b) => b.name)).toEqual([]);
  });

  it('binds request-scoped controllers: each request instance uses the family', async () => {
    const { app: nest, registry } = await app();
    const server = nest.getHttpServer();
    await request(server).get('/scoped/bad-1').expect(500);
    await request(server).get('/scoped/bad-1').expect(500);
    await request(server).get('/scoped/bad-1').expect(503);
    await request(server).get('/scoped/acme').expect(200, 'ok acme');
    expect(registry.family('tenants').find('bad-1')?.state).toBe('open');
  });
});

describe('keyed provider methods', () => {
  it('keep their shape per call: Observable, sync, promise (transient provider)', async () => {
    const { app: nest, registry } = await app();
    const service = nest.get(TenantsService);
    await expect(lastValueFrom(service.lookup('acme'))).resolves.toBe('found acme');
    expect(service.count('acme')).toBe(4);
    for (let i = 0; i < 2; i++) expect(() => service.count('bad-sync')).toThrow('tenant db down');
    let refusal: unknown;
    try {
      service.count('bad-sync');
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({ name: 'CircuitOpenError', breakerName: 'tenants:bad-sync' });
    for (let i = 0; i < 2; i++) await expect(lastValueFrom(service.lookup('bad-rx'))).rejects.toThrow('tenant db down');
    await expect(lastValueFrom(service.lookup('bad-rx'))).rejects.toMatchObject({ name: 'CircuitOpenError', breakerName: 'tenants:bad-rx' });
    const worker = nest.get(WorkerUser).worker;
    for (let i = 0; i < 2; i++) await expect(worker.work('bad-tx')).rejects.toThrow('tenant db down');
    await expect(worker.work('bad-tx')).rejects.toMatchObject({ name: 'CircuitOpenError', breakerName: 'tenants:bad-tx' });
    await expect(worker.work('acme')).resolves.toBe('worked acme');
    expect(registry.family('tenants').summary().openKeys).toEqual(['bad-rx', 'bad-sync', 'bad-tx']);
  });

  it('a key function that throws or returns an invalid key fails that call only, and nothing is recorded', async () => {
    const { app: nest, registry } = await app();
    const service = nest.get(TenantsService);
    const error = await service.emptyKey().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitBreakerKeyError);
    expect((error as Error).message).toBe('Circuit breaker family "computed": key "" is empty (a key must be a non-empty string)');
    await expect(service.throwingKey()).rejects.toThrow('no tenant in context');
    expect(registry.family('computed').size).toBe(0);
  });
});

describe('bootstrap', () => {
  it('strict mode refuses a keyed decorator whose family is declared nowhere', async () => {
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ strict: true, families: { shard: {} } })],
      controllers: [ShardsController],
    });
    expect((error as Error).message).toContain(
      `Circuit breaker "shards": option "name" must be a family declared by CircuitBreakerModule.forRoot({ families })`,
    );
    expect((error as Error).message).toContain(`used by @UseCircuitBreaker('shards') on ShardsController.read (keyed). Did you mean "shard"?`);
  });

  it('refuses a name declared as a breaker and used as a family', async () => {
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ breakers: { shards: {} } })],
      controllers: [ShardsController],
    });
    expect((error as Error).message).toContain('"shards" is a breaker (CircuitBreakerModule.forRoot), and a name is one breaker or a family, not both');
  });

  it('refuses invalid family options, naming the family', async () => {
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ families: { shards: { maxKeys: -1 } } })],
      controllers: [ShardsController],
    });
    expect((error as Error).message).toBe('Circuit breaker "shards": option "maxKeys" must be an integer in [1, 1000000], got -1');
  });

  it('a keyed decorator declares its family with its options, limits included', async () => {
    @Injectable()
    class Hosts {
      @UseCircuitBreaker('hosts', { key: (host: string) => host, options: { maxKeys: 3, timeoutMs: 500 } })
      async call(host: string): Promise<string> {
        return host;
      }
    }
    const nest = apps.track(await startApp({ imports: [CircuitBreakerModule.forRoot({ strict: true })], providers: [Hosts] }));
    await nest.get(Hosts).call('a.example');
    const family = nest.get(CircuitBreakerRegistry).family('hosts');
    expect(family.maxKeys).toBe(3);
    expect(family.find('a.example')?.options.timeoutMs).toBe(500);
  });

  it('app.close() disposes every keyed breaker', async () => {
    const { app: nest, registry } = await app();
    const service = nest.get(TenantsService);
    service.count('acme');
    const breaker = registry.family('tenants').find('acme')!;
    await apps.close(nest);
    expect((breaker as unknown as { disposed: boolean }).disposed).toBe(true);
  });
});
