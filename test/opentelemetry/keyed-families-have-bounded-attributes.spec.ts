/**
 * Families of keyed breakers in OpenTelemetry, against the real SDK (in-memory exporter, cumulative
 * temporality): a family's data points carry circuitbreaker.name = the family and circuitbreaker.key
 * = the key only for the topKeys busiest keys and the keys not closed, `_other` for the rest; no
 * `family:key` name ever becomes an attribute; over time at most maxKeyValues distinct keys appear,
 * and the call counters stay exact. Time comes from a ManualClock.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerFamily } from '../../lib/index.js';
import { CircuitBreakerOpenTelemetryModule } from '../../lib/opentelemetry/index.js';
import type { CircuitBreakerOpenTelemetryOptions } from '../../lib/opentelemetry/index.js';
import { Apps, buildApp } from '../e2e/helpers.js';
import { OtelSdk, eventsOf } from './otel-sdk.js';
import type { Collected } from './otel-sdk.js';

const NAME = 'circuitbreaker.name';
const KEY = 'circuitbreaker.key';

@Injectable()
class ShardReader {
  readonly down = new Set<string>();

  @UseCircuitBreaker('shards', { key: (shard: string) => shard })
  async read(shard: string): Promise<string> {
    if (this.down.has(shard)) throw new Error(`${shard} down`);
    return `rows of ${shard}`;
  }
}

/** Lets the family rows cached for one collection expire (they last until the event loop turns). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('keyed families in OpenTelemetry have a bounded set of attributes', () => {
  const apps = new Apps();
  let sdk: OtelSdk;
  let clock: ManualClock;

  beforeEach(() => {
    sdk = new OtelSdk().register();
    clock = new ManualClock(1_000_000);
  });
  afterEach(async () => {
    await apps.closeAll();
    await sdk.shutdown();
  });

  async function start(otel: CircuitBreakerOpenTelemetryOptions): Promise<{ app: INestApplication; reader: ShardReader; shards: CircuitBreakerFamily }> {
    const app = apps.track(
      await buildApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            // slowCallDurationMs: every call is timed, so the duration histogram records each one
            families: { shards: { clock, consecutiveFailureThreshold: 1, openDurationMs: 60_000, slowCallDurationMs: 10_000 } },
          }),
          CircuitBreakerOpenTelemetryModule.forRoot(otel),
        ],
        providers: [ShardReader],
      }),
    );
    await app.init();
    return { app, reader: app.get(ShardReader), shards: app.get(CircuitBreakerRegistry).family('shards') };
  }

  async function collect(): Promise<Collected> {
    await nextTurn();
    return sdk.collect();
  }

  /** Every attribute set of every circuitbreaker.* data point. */
  function everyPoint(c: Collected): { metric: string; attributes: Record<string, unknown>; value: unknown }[] {
    return c.names().flatMap((metric) => c.points(metric).map((p) => ({ metric, attributes: p.attributes as Record<string, unknown>, value: p.value })));
  }

  it('gives the busiest and the open keys their own key attribute and aggregates the rest under _other', async () => {
    const { reader, shards } = await start({ topKeys: 3 });
    let calls = 0;
    // 30 keys: shard-0..2 busy (10 calls each), the others one call each.
    for (let i = 0; i < 30; i++) {
      for (let n = 0; n < (i < 3 ? 10 : 1); n++, calls++) await reader.read(`shard-${i}`);
    }
    // Two quiet keys fail once and open.
    for (const shard of ['shard-20', 'shard-21']) {
      reader.down.add(shard);
      await reader.read(shard).catch(() => undefined);
      calls++;
    }
    expect(shards.summary().openKeys).toEqual(['shard-20', 'shard-21']);

    const c = await collect();
    const keys = new Set(c.points('circuitbreaker.state').filter((p) => p.attributes[NAME] === 'shards').map((p) => p.attributes[KEY]));
    expect(keys).toEqual(new Set(['shard-0', 'shard-1', 'shard-2', 'shard-20', 'shard-21', '_other']));
    // _other counts its keys per state; a key of its own is one-hot.
    expect(c.value('circuitbreaker.state', { [NAME]: 'shards', [KEY]: '_other', 'circuitbreaker.state': 'closed' })).toBe(25);
    expect(c.value('circuitbreaker.state', { [NAME]: 'shards', [KEY]: 'shard-20', 'circuitbreaker.state': 'open' })).toBe(1);
    expect(c.value('circuitbreaker.calls', { [NAME]: 'shards', [KEY]: 'shard-0', 'circuitbreaker.outcome': 'success' })).toBe(10);
    expect(c.value('circuitbreaker.calls', { [NAME]: 'shards', [KEY]: '_other', 'circuitbreaker.outcome': 'success' })).toBe(25);
    expect(c.value('circuitbreaker.calls', { [NAME]: 'shards', [KEY]: 'shard-21', 'circuitbreaker.outcome': 'failure' })).toBe(1);
    // The transition is counted under the key that opened.
    expect(
      c.value('circuitbreaker.transitions', {
        [NAME]: 'shards',
        [KEY]: 'shard-20',
        'circuitbreaker.transition.from': 'closed',
        'circuitbreaker.transition.to': 'open',
        'circuitbreaker.transition.reason': 'consecutive_failures',
      }),
    ).toBe(1);
    // No family:key name anywhere, and every call counted exactly once.
    const points = everyPoint(c);
    expect(points.filter((p) => String(p.attributes[NAME]).includes(':'))).toEqual([]);
    const counted = points.filter((p) => p.metric === 'circuitbreaker.calls').reduce((sum, p) => sum + (p.value as number), 0);
    expect(counted).toBe(calls);
    const timed = c.points('circuitbreaker.call.duration').reduce((sum, p) => sum + (p.value as { count: number }).count, 0);
    expect(timed).toBe(calls);
  });

  it('over time, at most maxKeyValues distinct keys get attributes of their own; counters stay exact', async () => {
    const { reader } = await start({ topKeys: 2, maxKeyValues: 4 });
    let calls = 0;
    const seenKeys = new Set<unknown>();
    let c: Collected | undefined;
    // 25 rounds, each with two new busy keys and a collection: 50 keys were once among the busiest.
    for (let round = 0; round < 25; round++) {
      for (const shard of [`hot-${round}-a`, `hot-${round}-b`]) {
        for (let n = 0; n < 5; n++, calls++) await reader.read(shard);
      }
      c = await collect();
      for (const point of everyPoint(c)) if (point.attributes[NAME] === 'shards') seenKeys.add(point.attributes[KEY]);
    }
    seenKeys.delete('_other');
    expect(seenKeys.size).toBe(4);
    const counted = c!.points('circuitbreaker.calls').reduce((sum, p) => sum + (p.value as number), 0);
    expect(counted).toBe(calls);
  });

  it('a key that opens after the budget is spent is counted under _other, and still listed by the family', async () => {
    const { reader, shards } = await start({ topKeys: 1, maxKeyValues: 1 });
    await reader.read('first');
    await collect();
    reader.down.add('late');
    await reader.read('late').catch(() => undefined);
    const c = await collect();
    expect(shards.summary().openKeys).toEqual(['late']);
    expect(c.value('circuitbreaker.state', { [NAME]: 'shards', [KEY]: '_other', 'circuitbreaker.state': 'open' })).toBe(1);
    expect(c.points('circuitbreaker.state').some((p) => p.attributes[KEY] === 'late')).toBe(false);
  });

  it('selects a family by its name with the breakers option, its keys included', async () => {
    const { reader } = await start({ breakers: ['shards'] });
    await reader.read('a');
    await collect();
    // The collection gave the busy key its own attributes: its next call's duration is recorded under them.
    await reader.read('a');
    const c = await collect();
    expect(c.value('circuitbreaker.calls', { [NAME]: 'shards', [KEY]: 'a', 'circuitbreaker.outcome': 'success' })).toBe(2);
    expect(c.histogram('circuitbreaker.call.duration', { [NAME]: 'shards', [KEY]: 'a', 'circuitbreaker.outcome': 'success' }).count).toBe(1);
    expect(c.histogram('circuitbreaker.call.duration', { [NAME]: 'shards', [KEY]: '_other', 'circuitbreaker.outcome': 'success' }).count).toBe(1);
  });

  it('leaves a family out when the breakers option does not name it', async () => {
    const { reader } = await start({ breakers: ['other'] });
    await reader.read('a');
    const c = await collect();
    expect(everyPoint(c).filter((p) => p.attributes[NAME] === 'shards')).toEqual([]);
  });

  // Spans name a keyed call the way the metrics do, so one query (name = the family) finds both.
  it('names a keyed call on its span and span events like the metrics: circuitbreaker.name = the family, circuitbreaker.key = the key', async () => {
    const { reader } = await start({});
    reader.down.add('bad0');
    await sdk.inSpan('tripping', () => reader.read('bad0').catch(() => undefined));
    await sdk.inSpan('refused', () => reader.read('bad0').catch(() => undefined));
    await sdk.inSpan('fine', () => reader.read('good1'));
    const tripping = sdk.span('tripping');
    expect(tripping.attributes).toMatchObject({ [NAME]: 'shards', [KEY]: 'bad0' });
    expect(eventsOf(tripping).find((e) => e.name === 'circuitbreaker.transition')?.attributes).toMatchObject({ [NAME]: 'shards', [KEY]: 'bad0', 'circuitbreaker.transition.to': 'open' });
    const refused = sdk.span('refused');
    expect(refused.attributes).toMatchObject({ [NAME]: 'shards', [KEY]: 'bad0', 'circuitbreaker.state': 'open' });
    expect(eventsOf(refused).find((e) => e.name === 'circuitbreaker.rejected')?.attributes).toMatchObject({ [NAME]: 'shards', [KEY]: 'bad0' });
    expect(sdk.span('fine').attributes).toMatchObject({ [NAME]: 'shards', [KEY]: 'good1' });
    const everyName = sdk.finishedSpans().flatMap((span) => [span.attributes[NAME], ...eventsOf(span).map((e) => e.attributes[NAME])]);
    expect(everyName.filter((name) => typeof name === 'string' && name.includes(':'))).toEqual([]);
  });
});
