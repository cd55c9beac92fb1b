/**
 * What the library really exports: a Nest application with CircuitBreakerModule and
 * CircuitBreakerPrometheusModule serving GET /metrics, its breakers driven through every state
 * (closed, open, half_open, forced_open, disabled, metrics_only with a would-be trip) and every rule
 * transition, one of them on a store that goes down. The catalogue is read from the /metrics text
 * fetched over HTTP. Time moves only through a ManualClock.
 */
import 'reflect-metadata';
import { Controller, Get, Res } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { CircuitBreakerModule, CircuitBreakerRegistry, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import type { CircuitBreaker } from '../../lib/index.js';
import { CircuitBreakerPrometheusModule } from '../../lib/prometheus/index.js';
import { startApp } from '../e2e/helpers.js';

/** Sample name (`circuit_breaker_open_duration_seconds_bucket`, ...) -> label -> values seen. */
export type MetricCatalogue = ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>;

export interface Scrape {
  readonly text: string;
  /** Metric family name -> type, from the `# TYPE` lines. */
  readonly families: ReadonlyMap<string, string>;
  readonly samples: MetricCatalogue;
}

const REGISTRY = new Registry();

@Controller('metrics')
class MetricsController {
  @Get()
  async metrics(@Res({ passthrough: true }) res: { setHeader(name: string, value: string): unknown }): Promise<string> {
    res.setHeader('Content-Type', REGISTRY.contentType);
    return REGISTRY.metrics();
  }
}

const OUTAGE = 'ECONNREFUSED 127.0.0.1:6379';

class SwitchableStore extends InMemoryCircuitBreakerStore {
  down = false;
  override ping(): Promise<void> {
    return this.down ? Promise.reject(new Error(OUTAGE)) : super.ping();
  }
  override sync(...args: Parameters<InMemoryCircuitBreakerStore['sync']>) {
    return this.down ? Promise.reject(new Error(OUTAGE)) : super.sync(...args);
  }
}

const OPEN_MS = 10_000;
const SYNC_MS = 100;

/** The scenario's own sanity check: a step that did not do what it says fails loudly. */
function expectState(breaker: CircuitBreaker, state: string): void {
  if (breaker.state !== state) throw new Error(`scenario: ${breaker.name} should be ${state}, is ${breaker.state}`);
}

async function fail(breaker: CircuitBreaker): Promise<void> {
  await breaker
    .execute(async () => {
      throw new Error('dependency down');
    })
    .catch(() => undefined);
}

/** Advances the clock in small steps, letting the store's promise chains run between them. */
async function pass(clock: ManualClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 10) {
    clock.advance(Math.min(10, left));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export async function scrapeRealApplication(): Promise<Scrape> {
  const clock = new ManualClock(1_700_000_000_000);
  const storeWarnings: string[] = [];
  const store = new SwitchableStore({
    clock,
    syncIntervalMs: SYNC_MS,
    commandTimeoutMs: 50,
    logger: { warn: (message) => storeWarnings.push(message), log: () => undefined },
  });
  const rules = { slidingWindow: { type: 'count', size: 10 }, minimumCalls: 2, failureRateThreshold: 50, openDurationMs: OPEN_MS } as const;
  const app: INestApplication = await startApp({
    imports: [
      CircuitBreakerModule.forRoot({
        defaults: { clock },
        breakers: {
          payments: { ...rules, slowCallDurationMs: 100, slowCallRateThreshold: 80, timeoutMs: 1_000 },
          inventory: rules,
          search: { ...rules, shadows: { strict: { failureRateThreshold: 10 } } },
          ledger: { ...rules, store },
        },
        logger: false,
      }),
      CircuitBreakerPrometheusModule.forRoot({ registry: REGISTRY }),
    ],
    controllers: [MetricsController],
  });
  try {
    const breakers = app.get(CircuitBreakerRegistry);
    const payments = breakers.get('payments');
    // closed: a slow success, then a timeout (a failure, and slow): 50 % of 2 calls trips it
    let release!: (value: string) => void;
    const slow = payments.execute(() => new Promise<string>((resolve) => (release = resolve)));
    clock.advance(150);
    release('ok');
    await slow;
    const late = payments.execute(() => new Promise<string>(() => undefined)).catch(() => undefined);
    clock.advance(1_000);
    await late;
    expectState(payments, 'open');
    await payments.execute(async () => 'rejected').catch(() => undefined);
    // open -> half_open -> open (a failed trial), then open -> half_open -> closed
    clock.advance(OPEN_MS);
    await fail(payments);
    expectState(payments, 'open');
    clock.advance(OPEN_MS);
    await payments.execute(async () => 'ok');
    expectState(payments, 'closed');

    const inventory = breakers.get('inventory');
    inventory.forceOpen();
    clock.advance(5_000);
    inventory.disable();
    expectState(inventory, 'disabled');

    const search = breakers.get('search');
    search.metricsOnly();
    await fail(search);
    await fail(search);
    if (search.snapshot().wouldTrip !== true) throw new Error('scenario: search should report a would-be trip');

    const ledger = breakers.get('ledger');
    store.down = true;
    await ledger.execute(async () => 'ok');
    await pass(clock, SYNC_MS);
    if (storeWarnings.length !== 1) throw new Error(`scenario: expected one store warning, got ${JSON.stringify(storeWarnings)}`);
    if (ledger.snapshot().store !== 'local_fallback') throw new Error(`scenario: ledger should run on local state, is ${ledger.snapshot().store}`);

    const res = await request(app.getHttpServer() as App).get('/metrics').expect(200);
    return parseExposition(res.text);
  } finally {
    await app.close();
  }
}

export function parseExposition(text: string): Scrape {
  const families = new Map<string, string>();
  const samples = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`unparsable exposition line: ${line}`);
    const labels = samples.get(sample[1]!) ?? new Map<string, Set<string>>();
    samples.set(sample[1]!, labels);
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const values = labels.get(key!) ?? new Set<string>();
      labels.set(key!, values);
      values.add(value!);
    }
  }
  return { text, families, samples };
}
