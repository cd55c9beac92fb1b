// Prometheus series of a family of keyed breakers: a key label only for keys not closed and the
// topKeys busiest ones, every other key under key="_other"; counters never go down while keys move
// between their own series and _other, or retire.
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import { CircuitBreakerPrometheusModule } from '../../lib/prometheus/index.js';
import { Apps, startApp } from './helpers.js';

const apps = new Apps();
afterEach(() => apps.closeAll());

interface Sample {
  labels: Record<string, string>;
  value: number;
}

async function samples(registry: Registry, metric: string): Promise<Sample[]> {
  const json = await registry.getMetricsAsJSON();
  const found = json.find((m) => m.name === metric) as unknown as { values: { labels: Record<string, string>; value: number }[] } | undefined;
  return (found?.values ?? []).map((v) => ({ labels: v.labels, value: v.value }));
}

async function calls(registry: Registry, kind = 'successful'): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await samples(registry, 'circuit_breaker_calls_total')) if (s.labels.name === 'tenants' && s.labels.kind === kind) out.set(s.labels.key!, s.value);
  return out;
}

async function setup(topKeys = 3) {
  const clock = new ManualClock();
  const prom = new Registry();
  const app = apps.track(
    await startApp({
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { clock, consecutiveFailureThreshold: 1, openDurationMs: 1_000 },
          breakers: { payments: {} },
          families: { tenants: { maxKeys: 1_000, idleTtlMs: 60_000 } },
        }),
        CircuitBreakerPrometheusModule.forRoot({ registry: prom, topKeys }),
      ],
    }),
  );
  const tenants = app.get(CircuitBreakerRegistry).family('tenants');
  const ok = async (key: string, times = 1): Promise<void> => {
    for (let i = 0; i < times; i++) await tenants.execute(key, async () => 'ok');
  };
  return { clock, prom, tenants, ok };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a family in Prometheus', () => {
  it('labels the busiest keys and the open ones; the rest aggregate under _other', async () => {
    const { prom, tenants, ok } = await setup(3);
    for (let i = 0; i < 200; i++) await ok(`quiet-${i}`);
    await ok('hot-a', 50);
    await ok('hot-b', 40);
    await ok('hot-c', 30);
    await ok('hot-d', 20);
    await tenants.execute('broken', () => Promise.reject(new Error('down'))).catch(() => undefined);
    const seen = await calls(prom);
    expect([...seen.keys()].sort()).toEqual(['_other', 'broken', 'hot-a', 'hot-b', 'hot-c']);
    expect(seen.get('_other')).toBe(200 + 20);
    expect(seen.get('broken')).toBe(0);
    expect(seen.get('hot-a')).toBe(50);
    // The open key has its own series although it made one call; closed quiet keys never do.
    const failed = await calls(prom, 'failed');
    expect(failed.get('broken')).toBe(1);
    const states = (await samples(prom, 'circuit_breaker_state')).filter((s) => s.labels.name === 'tenants');
    const keyLabels = new Set(states.map((s) => s.labels.key));
    expect([...keyLabels].sort()).toEqual(['_other', 'broken', 'hot-a', 'hot-b', 'hot-c']);
    expect(states.find((s) => s.labels.key === 'broken' && s.labels.state === 'open')?.value).toBe(1);
    expect(states.find((s) => s.labels.key === '_other' && s.labels.state === 'closed')?.value).toBe(201);
    // A named breaker keeps its series without a key label.
    expect((await samples(prom, 'circuit_breaker_state')).some((s) => s.labels.name === 'payments' && s.labels.key === undefined)).toBe(true);
    const transitions = (await samples(prom, 'circuit_breaker_transitions_total')).filter((s) => s.labels.name === 'tenants' && s.labels.to === 'open' && s.value > 0);
    expect(transitions.map((s) => s.labels.key)).toEqual(['broken']);
  });

  it('keeps cardinality bounded over thousands of keys', async () => {
    const { prom, ok } = await setup(5);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 400; i++) await ok(`k-${round}-${i}`, 1 + (i % 7));
      const labels = new Set((await samples(prom, 'circuit_breaker_calls_total')).filter((s) => s.labels.name === 'tenants').map((s) => s.labels.key));
      expect(labels.size).toBeLessThanOrEqual(5 + 1);
      await tick();
    }
  });

  it('never lets a counter go down as keys gain and lose their own series, or retire', async () => {
    const { prom, ok, clock, tenants } = await setup(1);
    const total = async (): Promise<number> => [...(await calls(prom)).values()].reduce((a, b) => a + b, 0);
    const history: Map<string, number>[] = [];
    let expected = 0;
    for (const [key, n] of [['a', 5], ['b', 9], ['a', 20], ['c', 3], ['b', 40]] as const) {
      await ok(key, n);
      expected += n;
      history.push(await calls(prom));
      await tick();
      expect(await total()).toBeLessThanOrEqual(expected);
    }
    // _other only grows; a key's own series is a new one (from 0) whenever it comes back.
    const others = history.map((h) => h.get('_other') ?? 0);
    expect(others).toEqual([...others].sort((x, y) => x - y));
    // Retire everything: calls made since the last scrape go to _other, none are lost or counted twice.
    await ok('c', 7);
    expected += 7;
    const otherBefore = (await calls(prom)).get('_other')!;
    await tick();
    await ok('d', 2);
    expected += 2;
    clock.advance(2 * 60_000);
    expect(tenants.size).toBe(0);
    const after = await calls(prom);
    expect([...after.keys()]).toEqual(['_other']);
    expect(after.get('_other')!).toBeGreaterThanOrEqual(otherBefore + 2);
  });
});
