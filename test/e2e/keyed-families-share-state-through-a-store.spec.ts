// Two instances of one service (two Nest apps in this process) share one fleet store: a keyed
// breaker opened on one instance is open on the other, under its family:key name, and no other
// key is touched; a reset on one closes it on both. The store is the in-memory one, which answers
// and notifies peers on later turns of the event loop, as a remote store would.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Param } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, until } from './helpers.js';

/** The shards as every instance sees them (one dependency behind the fleet). */
@Injectable()
class Shards {
  static readonly down = new Set<string>();
  calls = 0;
}

@Controller('shards')
class ShardsController {
  constructor(private readonly shards: Shards) {}

  @Get(':id')
  @UseCircuitBreaker('shards', { key: (id: string) => `shard-${id}` })
  async read(@Param('id') id: string): Promise<{ shard: string }> {
    this.shards.calls++;
    if (Shards.down.has(id)) throw new Error(`shard ${id} down`);
    return { shard: id };
  }
}

describe('a fleet store shares keyed breakers like named ones', () => {
  const apps = new Apps();
  afterEach(async () => {
    Shards.down.clear();
    await apps.closeAll();
  });

  async function instances(): Promise<{ store: InMemoryCircuitBreakerStore; a: INestApplication; b: INestApplication }> {
    const store = new InMemoryCircuitBreakerStore();
    const instance = async (): Promise<INestApplication> =>
      apps.track(
        await startApp({
          imports: [
            CircuitBreakerModule.forRoot({
              logger: false,
              defaults: { store, clock: new ManualClock(1_000_000) },
              families: { shards: { consecutiveFailureThreshold: 1, openDurationMs: 60_000 } },
            }),
          ],
          controllers: [ShardsController],
          providers: [Shards],
        }),
      );
    return { store, a: await instance(), b: await instance() };
  }

  const family = (app: INestApplication) => app.get(CircuitBreakerRegistry).family('shards');

  it('a key opened on one instance is open on the other, and only that key', async () => {
    const { store, a, b } = await instances();
    // Instance B has served shards 3 and 4 already: their breakers are linked to the store.
    await request(b.getHttpServer()).get('/shards/3').expect(200);
    await request(b.getHttpServer()).get('/shards/4').expect(200);
    for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve)); // their links join the store

    Shards.down.add('3');
    await request(a.getHttpServer()).get('/shards/3').expect(500);
    expect(family(a).find('shard-3')?.state).toBe('open');
    await until(() => family(b).find('shard-3')?.state === 'open', "instance B's shards:shard-3 to open");

    const bCalls = b.get(Shards).calls;
    const refused = await request(b.getHttpServer()).get('/shards/3').expect(503);
    expect(refused.body.breaker).toBe('shards:shard-3');
    expect(b.get(Shards).calls).toBe(bCalls);
    await request(b.getHttpServer()).get('/shards/4').expect(200, { shard: '4' });
    expect(family(b).find('shard-4')?.state).toBe('closed');
    expect(store.peek('shards:shard-3')?.state).toBe('open');
    expect(store.peek('shards:shard-4')?.state ?? 'closed').toBe('closed');
  });

  it('an instance that meets the key later joins it open once it has synced with the store', async () => {
    const { a, b } = await instances();
    Shards.down.add('7');
    await request(a.getHttpServer()).get('/shards/7').expect(500);
    expect(family(a).find('shard-7')?.state).toBe('open');
    // B makes its breaker for the key on first use; the store's state reaches it on its first sync.
    family(b).get('shard-7');
    await until(() => family(b).find('shard-7')?.state === 'open', "instance B's new shards:shard-7 to join open");
    const bCalls = b.get(Shards).calls;
    await request(b.getHttpServer()).get('/shards/7').expect(503);
    expect(b.get(Shards).calls).toBe(bCalls);
  });

  it('a reset of the key on one instance closes it on the other', async () => {
    const { a, b } = await instances();
    await request(b.getHttpServer()).get('/shards/5').expect(200);
    Shards.down.add('5');
    await request(a.getHttpServer()).get('/shards/5').expect(500);
    await until(() => family(b).find('shard-5')?.state === 'open', "instance B's shards:shard-5 to open");
    Shards.down.delete('5');
    family(a).find('shard-5')!.reset();
    await until(() => family(b).find('shard-5')?.state === 'closed', "instance B's shards:shard-5 to close");
    await request(b.getHttpServer()).get('/shards/5').expect(200, { shard: '5' });
  });
});
