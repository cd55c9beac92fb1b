/**
 * nestjs-breaker/prometheus on a real application: the exposition text of a prom-client
 * registry (`registry.metrics()`), parsed line by line, follows every state change; time comes
 * from a ManualClock only.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Counter, Registry, register as globalRegister } from 'prom-client';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import type { CircuitBreaker, CircuitBreakerSettings } from '../../lib/index.js';
import { CIRCUIT_BREAKER_METRIC_NAMES, CircuitBreakerMetrics, CircuitBreakerPrometheusModule } from '../../lib/prometheus/index.js';
import type { CircuitBreakerPrometheusOptions } from '../../lib/prometheus/index.js';
import { Apps, errorOf, startApp } from './helpers.js';

const OPEN_MS = 10_000;
const OUR_NAMES = Object.values(CIRCUIT_BREAKER_METRIC_NAMES).sort();

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One exposition: its samples and the metric families its `# TYPE` lines declare. */
class Exposition {
  readonly samples: Sample[] = [];
  readonly types = new Map<string, string>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) {
        this.types.set(type[1]!, type[2]!);
        continue;
      }
      if (line.startsWith('#')) continue;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!sample) throw new Error(`unparsable exposition line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
      this.samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
    }
  }

  /** The value of the sample with exactly these labels; throws when absent. */
  value(name: string, labels: Record<string, string>): number {
    const found = this.samples.filter((s) => s.name === name && sameLabels(s.labels, labels));
    if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}\n${this.text}`);
    return found[0]!.value;
  }

  has(name: string, labels: Record<string, string>): boolean {
    return this.samples.some((s) => s.name === name && sameLabels(s.labels, labels));
  }

  /** state -> 0/1 of `circuit_breaker_state` for one breaker. */
  states(breaker: string, prefix = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.samples) if (s.name === `${prefix}circuit_breaker_state` && s.labels.name === breaker) out[s.labels.state!] = s.value;
    return out;
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

async function scrape(registry: Registry): Promise<Exposition> {
  return new Exposition(await registry.metrics());
}

const oneHot = (state: string) =>
  Object.fromEntries(['closed', 'open', 'half_open', 'forced_open', 'disabled', 'metrics_only'].map((s) => [s, s === state ? 1 : 0]));

const fail = async (breaker: CircuitBreaker) =>
  errorOf(
    breaker.execute(async () => {
      throw new Error('payments down: secret=hunter2');
    }),
  );
const succeed = (breaker: CircuitBreaker) => breaker.execute(async () => 'ok');

describe('nestjs-breaker/prometheus', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  const paymentsOptions: CircuitBreakerSettings = {
    slidingWindow: { type: 'count', size: 10 },
    minimumCalls: 2,
    failureRateThreshold: 50,
    openDurationMs: OPEN_MS,
  };

  async function setup(prometheus: CircuitBreakerPrometheusOptions = {}, clock = new ManualClock(1_000_000)) {
    const app: INestApplication = apps.track(
      await startApp({
        imports: [
          CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: { payments: paymentsOptions, inventory: {} }, logger: false }),
          CircuitBreakerPrometheusModule.forRoot(prometheus),
        ],
      }),
    );
    const breakers = app.get(CircuitBreakerRegistry);
    return { app, clock, breakers, payments: breakers.get('payments') };
  }

  it('registers exactly its own metrics (no default metrics) with every breaker at zero, closed', async () => {
    const registry = new Registry();
    await setup({ registry });
    const m = await scrape(registry);

    expect([...m.types.keys()].sort()).toEqual(OUR_NAMES);
    expect(m.types.get('circuit_breaker_state')).toBe('gauge');
    expect(m.types.get('circuit_breaker_calls_total')).toBe('counter');
    expect(m.types.get('circuit_breaker_open_duration_seconds')).toBe('histogram');
    expect(m.samples.some((s) => s.name.startsWith('process_') || s.name.startsWith('nodejs_'))).toBe(false);

    for (const name of ['payments', 'inventory']) {
      expect(m.states(name)).toEqual(oneHot('closed'));
      for (const kind of ['successful', 'failed', 'ignored', 'not_permitted', 'timeout']) {
        expect(m.value('circuit_breaker_calls_total', { name, kind })).toBe(0);
      }
      expect(m.value('circuit_breaker_slow_calls_total', { name })).toBe(0);
      expect(m.value('circuit_breaker_failure_rate', { name })).toBe(0);
      expect(m.value('circuit_breaker_slow_call_rate', { name })).toBe(0);
      // no breaker here tracks slow calls: no slow-call threshold to compare with
      expect(m.has('circuit_breaker_slow_call_rate_threshold', { name })).toBe(false);
      expect(m.value('circuit_breaker_openings_total', { name })).toBe(0);
      expect(m.value('circuit_breaker_retry_after_seconds', { name })).toBe(0);
      expect(m.value('circuit_breaker_would_trips_total', { name })).toBe(0);
      expect(m.value('circuit_breaker_open_duration_seconds_count', { name })).toBe(0);
      expect(m.value('circuit_breaker_open_duration_seconds_sum', { name })).toBe(0);
      expect(m.value('circuit_breaker_open_duration_seconds_bucket', { name, le: '+Inf' })).toBe(0);
    }
    // the transitions a breaker makes by its own rules start at 0 (increase() then counts the first
    // trip); manual ones appear with their first occurrence
    const transitions = m.samples.filter((s) => s.name === 'circuit_breaker_transitions_total');
    expect(transitions.map((s) => `${s.labels.name} ${s.labels.from}->${s.labels.to} ${s.value}`).sort()).toEqual(
      ['payments', 'inventory']
        .flatMap((name) => ['closed->open', 'open->half_open', 'half_open->open', 'half_open->closed'].map((t) => `${name} ${t} 0`))
        .sort(),
    );
    // never an error message in the exposition
    expect(m.text).not.toContain('hunter2');
  });

  it('follows closed -> open -> half_open -> closed: state, calls, rates, retry-after, transitions, openings, open duration', async () => {
    const registry = new Registry();
    const { clock, payments } = await setup({ registry });

    await succeed(payments);
    let m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('closed'));
    expect(m.value('circuit_breaker_calls_total', { name: 'payments', kind: 'successful' })).toBe(1);
    expect(m.value('circuit_breaker_failure_rate', { name: 'payments' })).toBe(0);

    // 1 of 2 failed = 50 % >= 50 %: trips
    await fail(payments);
    expect(payments.state).toBe('open');
    m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('open'));
    expect(m.states('inventory')).toEqual(oneHot('closed'));
    expect(m.value('circuit_breaker_calls_total', { name: 'payments', kind: 'failed' })).toBe(1);
    expect(m.value('circuit_breaker_failure_rate', { name: 'payments' })).toBe(50);
    expect(m.value('circuit_breaker_openings_total', { name: 'payments' })).toBe(1);
    expect(m.value('circuit_breaker_transitions_total', { name: 'payments', from: 'closed', to: 'open' })).toBe(1);
    expect(m.value('circuit_breaker_retry_after_seconds', { name: 'payments' })).toBe(10);
    expect(m.value('circuit_breaker_open_duration_seconds_count', { name: 'payments' })).toBe(0);

    // rejected calls
    await errorOf(succeed(payments));
    await errorOf(succeed(payments));
    clock.advance(4_000);
    m = await scrape(registry);
    expect(m.value('circuit_breaker_calls_total', { name: 'payments', kind: 'not_permitted' })).toBe(2);
    expect(m.value('circuit_breaker_retry_after_seconds', { name: 'payments' })).toBe(6);

    // after the open duration the next call is a trial: open -> half_open -> closed
    clock.advance(6_000);
    m = await scrape(registry);
    expect(m.value('circuit_breaker_retry_after_seconds', { name: 'payments' })).toBe(0);
    await succeed(payments);
    expect(payments.state).toBe('closed');

    m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('closed'));
    expect(m.value('circuit_breaker_transitions_total', { name: 'payments', from: 'open', to: 'half_open' })).toBe(1);
    expect(m.value('circuit_breaker_transitions_total', { name: 'payments', from: 'half_open', to: 'closed' })).toBe(1);
    expect(m.value('circuit_breaker_calls_total', { name: 'payments', kind: 'successful' })).toBe(2);
    // the window was cleared by the close
    expect(m.value('circuit_breaker_failure_rate', { name: 'payments' })).toBe(0);
    // the opening lasted from the trip to the transition to half_open: exactly 10 s on the breaker clock
    expect(m.value('circuit_breaker_open_duration_seconds_count', { name: 'payments' })).toBe(1);
    expect(m.value('circuit_breaker_open_duration_seconds_sum', { name: 'payments' })).toBe(10);
    expect(m.value('circuit_breaker_open_duration_seconds_bucket', { name: 'payments', le: '5' })).toBe(0);
    expect(m.value('circuit_breaker_open_duration_seconds_bucket', { name: 'payments', le: '10' })).toBe(1);
    expect(m.value('circuit_breaker_open_duration_seconds_bucket', { name: 'payments', le: '+Inf' })).toBe(1);
    expect(m.text).not.toContain('hunter2');
  });

  it('times a manual opening (forced_open) until it leaves, counts would-be trips in metrics_only', async () => {
    const registry = new Registry();
    const { clock, payments } = await setup({ registry });

    payments.forceOpen();
    let m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('forced_open'));
    // no time is known while forced open
    expect(m.value('circuit_breaker_retry_after_seconds', { name: 'payments' })).toBe(0);
    // forced_open is not an opening by the trip rules
    expect(m.value('circuit_breaker_openings_total', { name: 'payments' })).toBe(0);

    clock.advance(90_000);
    payments.metricsOnly();
    m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('metrics_only'));
    expect(m.value('circuit_breaker_transitions_total', { name: 'payments', from: 'closed', to: 'forced_open' })).toBe(1);
    expect(m.value('circuit_breaker_transitions_total', { name: 'payments', from: 'forced_open', to: 'metrics_only' })).toBe(1);
    expect(m.value('circuit_breaker_open_duration_seconds_count', { name: 'payments' })).toBe(1);
    expect(m.value('circuit_breaker_open_duration_seconds_sum', { name: 'payments' })).toBe(90);
    expect(m.value('circuit_breaker_open_duration_seconds_bucket', { name: 'payments', le: '60' })).toBe(0);
    expect(m.value('circuit_breaker_open_duration_seconds_bucket', { name: 'payments', le: '120' })).toBe(1);

    // metrics_only records, never rejects, and counts a would-be trip
    await fail(payments);
    await fail(payments);
    m = await scrape(registry);
    expect(m.value('circuit_breaker_calls_total', { name: 'payments', kind: 'failed' })).toBe(2);
    expect(m.value('circuit_breaker_would_trips_total', { name: 'payments' })).toBe(1);
    expect(m.value('circuit_breaker_failure_rate', { name: 'payments' })).toBe(100);

    // open -> forced_open keeps one opening going; it ends when it leaves both
    payments.reset();
    await fail(payments);
    await fail(payments);
    expect(payments.state).toBe('open');
    clock.advance(3_000);
    payments.forceOpen();
    clock.advance(2_000);
    payments.disable();
    m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('disabled'));
    expect(m.value('circuit_breaker_open_duration_seconds_count', { name: 'payments' })).toBe(2);
    expect(m.value('circuit_breaker_open_duration_seconds_sum', { name: 'payments' })).toBe(95);
    expect(m.value('circuit_breaker_openings_total', { name: 'payments' })).toBe(1);
  });

  it('counts timeouts and slow calls separately from failures', async () => {
    const registry = new Registry();
    const clock = new ManualClock(0);
    const { breakers } = await setup({ registry }, clock);
    const slow = breakers.get('slow');
    slow.reconfigure({ timeoutMs: 1_000, slowCallDurationMs: 200, slowCallRateThreshold: 100, minimumCalls: 10 });

    const late = slow.execute(() => new Promise<string>(() => undefined));
    clock.advance(1_000);
    await errorOf(late);

    let release!: (v: string) => void;
    const slowCall = slow.execute(() => new Promise<string>((resolve) => (release = resolve)));
    clock.advance(300);
    release('ok');
    await slowCall;
    await slow.execute(async () => 'fast');

    const m = await scrape(registry);
    expect(m.value('circuit_breaker_calls_total', { name: 'slow', kind: 'timeout' })).toBe(1);
    expect(m.value('circuit_breaker_calls_total', { name: 'slow', kind: 'failed' })).toBe(0);
    expect(m.value('circuit_breaker_calls_total', { name: 'slow', kind: 'successful' })).toBe(2);
    // the timed-out call lasted 1 s, the other 300 ms: both slow
    expect(m.value('circuit_breaker_slow_calls_total', { name: 'slow' })).toBe(2);
    expect(m.value('circuit_breaker_slow_call_rate', { name: 'slow' })).toBeCloseTo(200 / 3, 5);
    expect(m.value('circuit_breaker_failure_rate', { name: 'slow' })).toBeCloseTo(100 / 3, 5);
  });

  it('reports the thresholds in force beside the rates, and follows reconfigure()', async () => {
    const registry = new Registry();
    const { breakers } = await setup({ registry });
    let m = await scrape(registry);
    // payments sets 50; inventory has the default (50 as well): reconfigure it to tell them apart
    expect(m.value('circuit_breaker_failure_rate_threshold', { name: 'payments' })).toBe(50);
    expect(m.value('circuit_breaker_failure_rate_threshold', { name: 'inventory' })).toBe(50);

    breakers.reconfigure('inventory', { failureRateThreshold: 25, slowCallDurationMs: 500, slowCallRateThreshold: 80 });
    m = await scrape(registry);
    expect(m.value('circuit_breaker_failure_rate_threshold', { name: 'inventory' })).toBe(25);
    expect(m.value('circuit_breaker_slow_call_rate_threshold', { name: 'inventory' })).toBe(80);
    expect(m.value('circuit_breaker_failure_rate_threshold', { name: 'payments' })).toBe(50);
    expect(m.has('circuit_breaker_slow_call_rate_threshold', { name: 'payments' })).toBe(false);

    // slow-call tracking switched off again: the series goes away with it
    breakers.reconfigure('inventory', { slowCallDurationMs: undefined, slowCallRateThreshold: undefined });
    m = await scrape(registry);
    expect(m.has('circuit_breaker_slow_call_rate_threshold', { name: 'inventory' })).toBe(false);
    expect(m.value('circuit_breaker_failure_rate_threshold', { name: 'inventory' })).toBe(25);
  });

  it('reads breakers at scrape time, including breakers created after bootstrap', async () => {
    const registry = new Registry();
    const { breakers } = await setup({ registry });
    expect((await scrape(registry)).has('circuit_breaker_state', { name: 'late', state: 'closed' })).toBe(false);
    const late = breakers.get('late');
    await fail(late);
    let m = await scrape(registry);
    expect(m.states('late')).toEqual(oneHot('closed'));
    expect(m.value('circuit_breaker_calls_total', { name: 'late', kind: 'failed' })).toBe(1);
    expect(m.value('circuit_breaker_transitions_total', { name: 'late', from: 'closed', to: 'open' })).toBe(0);

    // a breaker that trips before its first scrape: zeroing its series must not hide the trip
    const early = breakers.get('early');
    early.reconfigure({ minimumCalls: 1 });
    await fail(early);
    expect(early.state).toBe('open');
    m = await scrape(registry);
    expect(m.value('circuit_breaker_transitions_total', { name: 'early', from: 'closed', to: 'open' })).toBe(1);
    expect(m.value('circuit_breaker_transitions_total', { name: 'early', from: 'half_open', to: 'closed' })).toBe(0);
  });

  it('two applications with their own registries do not clash', async () => {
    const registryA = new Registry();
    const registryB = new Registry();
    const a = await setup({ registry: registryA });
    const b = await setup({ registry: registryB });
    a.payments.forceOpen();
    a.breakers.get('only-in-a');

    const [mA, mB] = [await scrape(registryA), await scrape(registryB)];
    expect(mA.states('payments')).toEqual(oneHot('forced_open'));
    expect(mB.states('payments')).toEqual(oneHot('closed'));
    expect(mA.has('circuit_breaker_state', { name: 'only-in-a', state: 'closed' })).toBe(true);
    expect(mB.has('circuit_breaker_state', { name: 'only-in-a', state: 'closed' })).toBe(false);
    expect(b.breakers.has('only-in-a')).toBe(false);
  });

  it('a second application on the same registry fails bootstrap with a clear error, and changes nothing', async () => {
    const registry = new Registry();
    const first = await setup({ registry });
    const before = await registry.metrics();

    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ breakers: { other: {} }, logger: false }), CircuitBreakerPrometheusModule.forRoot({ registry })],
    });
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/already has a metric named "circuit_breaker_state"/);
    expect((error as Error).message).toMatch(/own Registry|distinct prefix/);
    // the first application's metrics are intact and still live
    expect(await registry.metrics()).toBe(before);
    first.payments.forceOpen();
    expect((await scrape(registry)).states('payments')).toEqual(oneHot('forced_open'));

    // a distinct prefix shares the registry without clashing
    const second = await setup({ registry, prefix: 'second_' });
    second.payments.disable();
    const m = await scrape(registry);
    expect(m.states('payments')).toEqual(oneHot('forced_open'));
    expect(m.states('payments', 'second_')).toEqual(oneHot('disabled'));
    expect(m.types.get('second_circuit_breaker_calls_total')).toBe('counter');
  });

  it("defaults to prom-client's global register, leaves other metrics alone, and removes its own on close", async () => {
    const mine = new Counter({ name: 'http_requests_total', help: 'an app metric (as @willsoto/nestjs-prometheus would register)' });
    mine.inc(3);
    try {
      const { app } = await setup();
      expect(app.get(CircuitBreakerMetrics).registry).toBe(globalRegister);
      let m = await scrape(globalRegister);
      expect([...m.types.keys()].sort()).toEqual([...OUR_NAMES, 'http_requests_total'].sort());
      expect(m.value('http_requests_total', {})).toBe(3);
      expect(m.states('payments')).toEqual(oneHot('closed'));

      await apps.close(app);
      m = await scrape(globalRegister);
      expect([...m.types.keys()]).toEqual(['http_requests_total']);
      expect(m.value('http_requests_total', {})).toBe(3);

      // closed, so the names are free again: the next application registers without an error
      await setup();
      expect((await scrape(globalRegister)).states('payments')).toEqual(oneHot('closed'));
    } finally {
      globalRegister.removeSingleMetric('http_requests_total');
    }
  });

  it('stops following transitions and removes its metrics when the module is destroyed', async () => {
    const registry = new Registry();
    const { app, payments } = await setup({ registry });
    payments.forceOpen();
    const metrics = app.get(CircuitBreakerMetrics);
    const transitions = registry.getSingleMetric(metrics.metricName('transitions'))!;
    const count = async () => (await transitions.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(await count()).toBe(1);

    // what app.close() runs; the breakers (and their registry's stream) are still alive here
    metrics.onModuleDestroy();
    payments.reset();
    payments.forceOpen();
    expect(await count()).toBe(1);
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it('applies a prefix to every name and rejects an invalid one at bootstrap', async () => {
    const registry = new Registry();
    await setup({ registry, prefix: 'shop_' });
    const m = await scrape(registry);
    expect([...m.types.keys()].sort()).toEqual(OUR_NAMES.map((n) => `shop_${n}`).sort());

    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ logger: false }), CircuitBreakerPrometheusModule.forRoot({ registry: new Registry(), prefix: '9 bad' })],
    });
    expect((error as Error).message).toMatch(/option "prefix"/);
  });

  it('fails bootstrap with an explanation when CircuitBreakerModule is missing', async () => {
    const error = await apps.bootstrapError({ imports: [CircuitBreakerPrometheusModule.forRoot({ registry: new Registry() })] });
    expect((error as Error).message).toMatch(/needs the CircuitBreakerRegistry of CircuitBreakerModule/);
  });
});
