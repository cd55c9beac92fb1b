/**
 * Every instance Nest creates of a class with decorated methods is bound to its application's
 * breaker: transient providers (one instance per consumer, also inside a request), request-scoped
 * and durable providers (ContextIdStrategy), and subclasses that override a decorated method and
 * call `super`. Nothing runs unprotected with a mere process warning.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Scope } from '@nestjs/common';
import { ContextIdFactory, REQUEST } from '@nestjs/core';
import type { ContextId, ContextIdStrategy, HostComponentInfo } from '@nestjs/core';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startOn, tripFast } from './helpers.js';
import type { Platform } from './helpers.js';

/** What the remote service saw (shared by every instance, whatever its scope). */
const remote = { calls: 0, healthy: false };

async function callRemote(what: string) {
  remote.calls++;
  if (!remote.healthy) throw new Error(`${what}: remote service down`);
  return { ok: what };
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientClient {
  @UseCircuitBreaker('transient-api')
  async fetch() {
    return callRemote('transient');
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequestUser {
  constructor(readonly client: TransientClient) {}
}

@Injectable({ scope: Scope.REQUEST, durable: true })
class TenantClient {
  constructor(@Inject(REQUEST) readonly tenant: { tenantId: string }) {}

  @UseCircuitBreaker('tenant-api')
  async fetch() {
    return callRemote(`tenant ${this.tenant.tenantId}`);
  }
}

@Injectable()
class BaseClient {
  @UseCircuitBreaker('base-api')
  async fetch(id: string) {
    return callRemote(`base ${id}`);
  }
}

/** Overrides the decorated method without a decorator of its own and calls the base one. */
@Injectable()
class LoggingClient extends BaseClient {
  readonly log: string[] = [];

  override async fetch(id: string) {
    this.log.push(id);
    return super.fetch(id);
  }
}

/** Overrides it with a decorator (another breaker) and calls the base one. */
@Injectable()
class RetryingClient extends BaseClient {
  @UseCircuitBreaker('retrying-api')
  override async fetch(id: string) {
    return super.fetch(id);
  }
}

async function outcome(call: () => Promise<unknown>) {
  try {
    return await call();
  } catch (error) {
    return { failed: (error as Error).name };
  }
}

@Controller('clients')
class ClientsController {
  constructor(
    private readonly transient: TransientClient,
    private readonly otherTransient: TransientClient,
    private readonly perRequest: PerRequestUser,
    private readonly tenant: TenantClient,
  ) {}

  @Get('transient')
  transientRoute() {
    return outcome(() => this.transient.fetch());
  }

  @Get('other-transient')
  otherTransientRoute() {
    return outcome(() => this.otherTransient.fetch());
  }

  @Get('transient-in-request')
  perRequestRoute() {
    return outcome(() => this.perRequest.client.fetch());
  }

  @Get('tenant')
  tenantRoute() {
    return outcome(() => this.tenant.fetch());
  }
}

class TenantStrategy implements ContextIdStrategy {
  private readonly tenants = new Map<string, ContextId>();

  attach(contextId: ContextId, req: { headers: Record<string, string | undefined> }) {
    const tenantId = req.headers['x-tenant'] ?? 'none';
    let tenantContext = this.tenants.get(tenantId);
    if (tenantContext === undefined) this.tenants.set(tenantId, (tenantContext = ContextIdFactory.create()));
    return { resolve: (info: HostComponentInfo) => (info.isTreeDurable ? tenantContext : contextId), payload: { tenantId } };
  }
}

describe('every instance Nest creates is protected', () => {
  const apps = new Apps();
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    remote.calls = 0;
    remote.healthy = false;
    warnings.length = 0;
    process.on('warning', onWarning);
    ContextIdFactory.apply(new TenantStrategy());
  });
  afterEach(async () => {
    process.off('warning', onWarning);
    await apps.closeAll();
  });

  async function setup(platform: Platform = 'express') {
    const clock = new ManualClock();
    const app = await startOn(apps, platform, {
      imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast() } })],
      controllers: [ClientsController],
      providers: [TransientClient, PerRequestUser, TenantClient, LoggingClient, RetryingClient],
    });
    return { app, clock, registry: app.get(CircuitBreakerRegistry), server: app.getHttpServer() as Parameters<typeof request>[0] };
  }

  function unboundWarnings(): Error[] {
    return warnings.filter((w) => (w as { code?: string }).code === 'CIRCUIT_BREAKER_UNBOUND');
  }

  describe.each(['express', 'fastify'] as const)('scoped providers (%s)', (platform) => {
    it('Scope.TRANSIENT: of 10 failing calls only 2 reach the service; the breaker opens', async () => {
      const { registry, server } = await setup(platform);
      const answers: unknown[] = [];
      for (let i = 0; i < 10; i++) answers.push((await request(server).get('/clients/transient').expect(200)).body);
      expect(remote.calls).toBe(2);
      expect(registry.get('transient-api').state).toBe('open');
      expect(answers.slice(2)).toEqual(Array.from({ length: 8 }, () => ({ failed: 'CircuitOpenError' })));
      expect(unboundWarnings()).toEqual([]);
    });

    it('Scope.TRANSIENT: two instances (two consumers) trip one breaker together', async () => {
      const { registry, server } = await setup(platform);
      await request(server).get('/clients/transient').expect(200, { failed: 'Error' });
      await request(server).get('/clients/other-transient').expect(200, { failed: 'Error' });
      expect(registry.get('transient-api').state).toBe('open');
      await request(server).get('/clients/other-transient').expect(200, { failed: 'CircuitOpenError' });
      expect(remote.calls).toBe(2);
    });

    it('Scope.TRANSIENT inside a request-scoped provider: a new instance per request, still protected', async () => {
      const { registry, server } = await setup(platform);
      for (let i = 0; i < 5; i++) await request(server).get('/clients/transient-in-request').expect(200);
      expect(remote.calls).toBe(2);
      expect(registry.get('transient-api').state).toBe('open');
      expect(unboundWarnings()).toEqual([]);
    });

    it('durable request-scoped providers (ContextIdStrategy): instances per tenant, one breaker', async () => {
      const { clock, registry, server } = await setup(platform);
      await request(server).get('/clients/tenant').set('x-tenant', 'acme').expect(200, { failed: 'Error' });
      await request(server).get('/clients/tenant').set('x-tenant', 'globex').expect(200, { failed: 'Error' });
      expect(registry.get('tenant-api').state).toBe('open');
      await request(server).get('/clients/tenant').set('x-tenant', 'acme').expect(200, { failed: 'CircuitOpenError' });
      await request(server).get('/clients/tenant').set('x-tenant', 'initech').expect(200, { failed: 'CircuitOpenError' });
      expect(remote.calls).toBe(2);

      clock.advance(10_000);
      remote.healthy = true;
      await request(server).get('/clients/tenant').set('x-tenant', 'acme').expect(200, { ok: 'tenant acme' });
      expect(registry.get('tenant-api').state).toBe('closed');
      expect(unboundWarnings()).toEqual([]);
    });
  });

  describe('subclasses', () => {
    it('an override without a decorator that calls super: the base method keeps its breaker', async () => {
      const { app, registry } = await setup();
      const client = app.get(LoggingClient);
      for (let i = 0; i < 5; i++) await outcome(() => client.fetch(String(i)));
      expect(client.log).toEqual(['0', '1', '2', '3', '4']);
      expect(remote.calls).toBe(2);
      expect(registry.get('base-api').state).toBe('open');
      expect(unboundWarnings()).toEqual([]);
    });

    it('an override with its own breaker that calls super: both breakers record the call', async () => {
      const { app, registry } = await setup();
      const client = app.get(RetryingClient);
      await outcome(() => client.fetch('a'));
      expect(registry.get('retrying-api').snapshot()).toMatchObject({ calls: 1, failures: 1 });
      expect(registry.get('base-api').snapshot()).toMatchObject({ calls: 1, failures: 1 });
      expect(unboundWarnings()).toEqual([]);
    });
  });

  it('two applications with the same transient class: each instance uses its own application breaker', async () => {
    const first = await setup();
    const second = await setup();
    await request(first.server).get('/clients/transient').expect(200, { failed: 'Error' });
    await request(first.server).get('/clients/transient').expect(200, { failed: 'Error' });
    expect(first.registry.get('transient-api').state).toBe('open');
    expect(second.registry.get('transient-api').state).toBe('closed');
    await request(second.server).get('/clients/transient').expect(200, { failed: 'Error' });
    expect(second.registry.get('transient-api').snapshot().calls).toBe(1);
    expect(remote.calls).toBe(3);
  });
});
