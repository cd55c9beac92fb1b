/**
 * The module's recordCalls option in a real application: every breaker is recorded, keyed breakers
 * under their family:key name (created after bootstrap), app.close() writes the file out; without
 * the option nothing listens; a bad option fails bootstrap naming it.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Param } from '@nestjs/common';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerConfigError, CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { Apps, startApp } from './helpers.js';

@Controller()
class ShopController {
  @Get('pay')
  @UseCircuitBreaker('payments')
  pay(): string {
    return 'paid';
  }

  @Get('shards/:id')
  @UseCircuitBreaker('shards', { key: (id: string) => id })
  shard(@Param('id') id: string): string {
    if (id === 'down') throw new Error('shard down');
    return id;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const apps = new Apps();
afterEach(() => apps.closeAll());

function moduleWith(extra: Partial<CircuitBreakerModuleOptions>) {
  return CircuitBreakerModule.forRoot({ defaults: { clock: new ManualClock(Date.UTC(2026, 11, 6)) }, breakers: { payments: {} }, families: { shards: {} }, logger: false, ...extra });
}

describe('CircuitBreakerModule.forRoot({ recordCalls })', () => {
  it('records every breaker, keyed ones as family:key, and app.close() writes the file out', async () => {
    const file = join(dir, 'calls.ndjson');
    const app = await startApp({ imports: [moduleWith({ recordCalls: { file } })], controllers: [ShopController] });
    const http = () => request(app.getHttpServer() as App);
    await http().get('/pay').expect(200);
    await http().get('/shards/a').expect(200);
    await http().get('/shards/down').expect(500);
    await app.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { t: Date.UTC(2026, 11, 6), d: 0, o: 'success', b: 'payments' },
      { t: Date.UTC(2026, 11, 6), d: 0, o: 'success', b: 'shards:a' },
      { t: Date.UTC(2026, 11, 6), d: 0, o: 'failure', b: 'shards:down', e: 'Error' },
    ]);
  });

  it('without the option nothing listens to the breakers', async () => {
    const app = apps.track(await startApp({ imports: [moduleWith({})], controllers: [ShopController] }));
    await request(app.getHttpServer() as App).get('/shards/a').expect(200);
    const registry = app.get(CircuitBreakerRegistry);
    expect(registry.get('payments').listening).toBe(false);
    expect(registry.family('shards').find('a')!.listening).toBe(false);
  });

  it('a bad recordCalls option fails bootstrap naming it', async () => {
    const error = await apps.bootstrapError({ imports: [moduleWith({ recordCalls: { file: join(dir, 'x.ndjson'), sampleRate: 2 } })], controllers: [ShopController] });
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect((error as CircuitBreakerConfigError).message).toBe('recordCalls: option "sampleRate" must be a fraction in (0, 1], got 2');
  });
});
