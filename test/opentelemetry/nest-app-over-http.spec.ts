/**
 * CircuitBreakerOpenTelemetryModule in a Nest application driven over HTTP, with the real
 * OpenTelemetry SDK registered globally (in-memory exporters). A middleware makes a server span
 * per request, as HTTP instrumentation would (it never sets a status, so an error status seen on a
 * span is this library's). Trip the breaker, collect, check names, attributes, values and span
 * events. Time comes from a ManualClock.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, Param, Post } from '@nestjs/common';
import type { INestApplication, MiddlewareConsumer, NestMiddleware, NestModule } from '@nestjs/common';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { CircuitBreakerOpenTelemetry, CircuitBreakerOpenTelemetryModule } from '../../lib/opentelemetry/index.js';
import type { CircuitBreakerOpenTelemetryOptions } from '../../lib/opentelemetry/index.js';
import { CircuitBreakerPrometheusModule } from '../../lib/prometheus/index.js';
import { Apps, buildApp, tripFast, until } from '../e2e/helpers.js';
import { OtelSdk, eventsOf } from './otel-sdk.js';

let sdk: OtelSdk;

@Injectable()
class PaymentsDownstream {
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  hanging = 0;

  async call(what: string): Promise<string> {
    if (this.mode === 'fail') throw new Error('payments down');
    if (this.mode === 'hang') {
      this.hanging++;
      return new Promise<string>(() => undefined);
    }
    return what;
  }
}

@Injectable()
class PaymentsClient {
  constructor(private readonly downstream: PaymentsDownstream) {}

  @UseCircuitBreaker('payments', { fallback: 'lastKnownQuote' })
  quote(id: string): Promise<string> {
    return this.downstream.call(`quote ${id}: 42`);
  }

  lastKnownQuote(id: string): string {
    return `quote ${id}: 40 (cached)`;
  }

  @UseCircuitBreaker('payments')
  charge(id: string): Promise<string> {
    return this.downstream.call(`charged ${id}`);
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly payments: PaymentsClient) {}

  @Get(':id/quote')
  quote(@Param('id') id: string): Promise<string> {
    return this.payments.quote(id);
  }

  @Post(':id/pay')
  pay(@Param('id') id: string): Promise<string> {
    return this.payments.charge(id);
  }
}

/** A server span per request, active while Nest handles it, ended when the response is sent. */
class ServerSpans implements NestMiddleware {
  use(req: { method: string; originalUrl: string }, res: { on(event: 'finish', listener: () => void): void }, next: () => void): void {
    sdk.tracer.startActiveSpan(`${req.method} ${req.originalUrl}`, (span) => {
      res.on('finish', () => span.end());
      next();
    });
  }
}

@Module({ controllers: [OrdersController], providers: [PaymentsDownstream, PaymentsClient] })
class ShopModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ServerSpans).forRoutes(OrdersController);
  }
}

const A = {
  name: 'circuitbreaker.name',
  state: 'circuitbreaker.state',
  outcome: 'circuitbreaker.outcome',
} as const;

describe('CircuitBreakerOpenTelemetryModule in a Nest app over HTTP, with the OpenTelemetry SDK', () => {
  const apps = new Apps();
  let clock: ManualClock;

  beforeEach(() => {
    sdk = new OtelSdk().register();
    clock = new ManualClock(1_000_000);
  });
  afterEach(async () => {
    await apps.closeAll();
    await sdk.shutdown();
  });

  async function start(
    otel: CircuitBreakerOpenTelemetryOptions = {},
    moduleOptions: CircuitBreakerModuleOptions = {},
    extraImports: unknown[] = [],
  ): Promise<{ app: INestApplication; downstream: PaymentsDownstream; registry: CircuitBreakerRegistry }> {
    const app = apps.track(
      await buildApp({
        imports: [
          CircuitBreakerModule.forRoot({
            logger: false,
            defaults: { clock },
            // the probe timeout above the call's: a hung trial ends by its own timeout
            breakers: { payments: tripFast({ timeoutMs: 1_000, halfOpenProbeTimeoutMs: 5_000 }) },
            ...moduleOptions,
          }),
          CircuitBreakerOpenTelemetryModule.forRoot(otel),
          ShopModule,
          ...(extraImports as never[]),
        ],
      }),
    );
    await app.init();
    return { app, downstream: app.get(PaymentsDownstream), registry: app.get(CircuitBreakerRegistry) };
  }

  /** The server span of the request `name` (e.g. 'POST /orders/1/pay'), once it ended. */
  async function serverSpan(name: string): Promise<ReadableSpan> {
    await until(() => sdk.finishedSpans().some((span) => span.name === name), `the span "${name}" to end`);
    return sdk.span(name);
  }

  it('trip, refuse, time out: the spans carry what happened to each call, the metrics add up', async () => {
    const { app, downstream } = await start();
    const http = () => request(app.getHttpServer());

    downstream.mode = 'fail';
    await http().get('/orders/1/quote').expect(200, 'quote 1: 40 (cached)');
    await http().get('/orders/2/quote').expect(200, 'quote 2: 40 (cached)'); // the second failure trips the circuit
    clock.advance(2_500);
    const refused = await http().post('/orders/3/pay').expect(503);
    expect(refused.body).toMatchObject({ breaker: 'payments', retryAfterMs: 7_500 });
    await http().get('/orders/4/quote').expect(200, 'quote 4: 40 (cached)'); // refused too, answered by the fallback

    clock.advance(7_500);
    downstream.mode = 'hang';
    const trial = http().post('/orders/5/pay').then((response) => response);
    await until(() => downstream.hanging === 1, 'the trial to reach the dependency');
    clock.advance(1_000);
    expect((await trial).status).toBe(504);

    // 1: a failure answered by the fallback: the breaker's marks, no event, status untouched
    const first = await serverSpan('GET /orders/1/quote');
    expect(first.attributes).toEqual({ [A.name]: 'payments', [A.state]: 'closed' });
    expect(eventsOf(first)).toEqual([]);
    expect(first.status.code).toBe(SpanStatusCode.UNSET);

    // 2: the failure that tripped the circuit: the transition, on its span
    const tripping = await serverSpan('GET /orders/2/quote');
    expect(eventsOf(tripping)).toEqual([
      {
        name: 'circuitbreaker.transition',
        attributes: {
          [A.name]: 'payments',
          'circuitbreaker.transition.from': 'closed',
          'circuitbreaker.transition.to': 'open',
          'circuitbreaker.transition.reason': 'failure_rate',
        },
      },
    ]);

    // 3: refused, no fallback: the call failed, so the span's status is an error
    const rejected = { name: 'circuitbreaker.rejected', attributes: { [A.name]: 'payments', [A.state]: 'open', 'circuitbreaker.retry_after_ms': 7_500 } };
    const refusedSpan = await serverSpan('POST /orders/3/pay');
    expect(refusedSpan.attributes).toEqual({ [A.name]: 'payments', [A.state]: 'open' });
    expect(eventsOf(refusedSpan)).toEqual([rejected]);
    expect(refusedSpan.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Circuit breaker "payments" is open' });

    // 4: refused, answered by the fallback: the event, but the status stays unset
    const served = await serverSpan('GET /orders/4/quote');
    expect(eventsOf(served)).toEqual([rejected]);
    expect(served.status.code).toBe(SpanStatusCode.UNSET);

    // 5: the trial: admitted (open -> half_open), timed out, re-opened; no fallback, so an error
    const trialSpan = await serverSpan('POST /orders/5/pay');
    expect(trialSpan.attributes).toEqual({ [A.name]: 'payments', [A.state]: 'half_open' });
    expect(eventsOf(trialSpan).map((e) => [e.name, e.attributes['circuitbreaker.transition.reason'] ?? e.attributes['circuitbreaker.timeout_ms']])).toEqual([
      ['circuitbreaker.transition', 'open_duration_elapsed'],
      ['circuitbreaker.timeout', 1_000],
      ['circuitbreaker.transition', 'trial_failed'],
    ]);
    expect(trialSpan.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringContaining('timed out') });

    const c = await sdk.collect();
    expect(c.names()).toEqual([
      'circuitbreaker.call.duration',
      'circuitbreaker.calls',
      'circuitbreaker.failure_rate',
      'circuitbreaker.slow_call_rate',
      'circuitbreaker.state',
      'circuitbreaker.transitions',
    ]);
    const calls = (outcome: string) => c.value('circuitbreaker.calls', { [A.name]: 'payments', [A.outcome]: outcome });
    expect(['success', 'failure', 'ignored', 'not_permitted', 'timeout'].map(calls)).toEqual([0, 2, 0, 2, 1]);
    expect(c.value('circuitbreaker.state', { [A.name]: 'payments', [A.state]: 'open' })).toBe(1);
    expect(c.points('circuitbreaker.state').filter((p) => p.value === 1)).toHaveLength(1);
    const transitions = c.points('circuitbreaker.transitions').map((p) => `${p.attributes['circuitbreaker.transition.from']}->${p.attributes['circuitbreaker.transition.to']} ${p.value}`);
    expect(transitions.sort()).toEqual(['closed->open 1', 'half_open->open 1', 'open->half_open 1']);
    // timeoutMs set: every call's duration is known (on the ManualClock: failures took 0 s, the timeout 1 s)
    expect(c.histogram('circuitbreaker.call.duration', { [A.name]: 'payments', [A.outcome]: 'failure' })).toMatchObject({ count: 2, sum: 0 });
    expect(c.histogram('circuitbreaker.call.duration', { [A.name]: 'payments', [A.outcome]: 'timeout' })).toMatchObject({ count: 1, sum: 1 });
    expect(c.value('circuitbreaker.failure_rate', { [A.name]: 'payments' })).toBe(100);
  });

  it('covers breakers the registry creates after the application started', async () => {
    const { app, registry } = await start();
    const late = registry.get('late-breaker');
    await sdk.inSpan('late call', () => late.execute(async () => 'ok'));
    expect(sdk.span('late call').attributes).toEqual({ [A.name]: 'late-breaker', [A.state]: 'closed' });
    late.forceOpen();
    const c = await sdk.collect();
    expect(c.value('circuitbreaker.calls', { [A.name]: 'late-breaker', [A.outcome]: 'success' })).toBe(1);
    expect(c.value('circuitbreaker.state', { [A.name]: 'late-breaker', [A.state]: 'forced_open' })).toBe(1);
    expect(c.value('circuitbreaker.transitions', {
      [A.name]: 'late-breaker',
      'circuitbreaker.transition.from': 'closed',
      'circuitbreaker.transition.to': 'forced_open',
      'circuitbreaker.transition.reason': 'forced_open',
    })).toBe(1);
    expect(app.get(CircuitBreakerOpenTelemetry).instrumentation).toMatchObject({ metrics: true, traces: true });
  });

  it('works beside the Prometheus module: both report the same counts, nothing registered twice', async () => {
    const promRegistry = new Registry();
    const { app, downstream } = await start({}, {}, [CircuitBreakerPrometheusModule.forRoot({ registry: promRegistry })]);
    downstream.mode = 'fail';
    for (const id of [1, 2, 3]) await request(app.getHttpServer()).get(`/orders/${id}/quote`).expect(200);

    const text = await promRegistry.metrics();
    const c = await sdk.collect();
    const pairs: [string, string][] = [
      ['successful', 'success'],
      ['failed', 'failure'],
      ['not_permitted', 'not_permitted'],
    ];
    for (const [kind, outcome] of pairs) {
      const prom = Number(new RegExp(`circuit_breaker_calls_total\\{name="payments",kind="${kind}"\\} (\\d+)`).exec(text)?.[1]);
      expect({ kind, prom }).toEqual({ kind, prom: c.value('circuitbreaker.calls', { [A.name]: 'payments', [A.outcome]: outcome }) });
    }
    expect(text).toContain('circuit_breaker_transitions_total{name="payments",from="closed",to="open"} 1');
    expect(c.points('circuitbreaker.transitions').map((p) => p.value)).toEqual([1]);
    expect(text).toContain('circuit_breaker_state{name="payments",state="open"} 1');
  });

  it('the breakers option instruments only the breakers it names', async () => {
    const { registry } = await start({ breakers: ['payments'] });
    const other = registry.get('other');
    await sdk.inSpan('other call', () => other.execute(async () => 'ok'));
    expect(sdk.span('other call').attributes).toEqual({});
    const names = new Set((await sdk.collect()).points('circuitbreaker.state').map((p) => p.attributes[A.name]));
    expect(names).toEqual(new Set(['payments']));
  });

  it('app.close() exports the breakers’ last values (no collection ran before), then detaches everything', async () => {
    const { app, registry } = await start();
    const payments = registry.get('payments');
    await request(app.getHttpServer()).get('/orders/1/quote').expect(200);
    expect(payments.listening).toBe(true);
    const otel = app.get(CircuitBreakerOpenTelemetry);
    expect(sdk.metricExporter.getMetrics()).toEqual([]);

    await apps.closeAll();
    expect(otel.instrumentation).toBeUndefined();
    expect(payments.listening).toBe(false);
    const exported = sdk.metricExporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const calls = exported.find((m) => m.descriptor.name === 'circuitbreaker.calls');
    expect(calls?.dataPoints).toContainEqual(expect.objectContaining({ attributes: { [A.name]: 'payments', [A.outcome]: 'success' }, value: 1 }));
  });

  it('imported twice in one application: a bootstrap error saying why', async () => {
    const error = await apps.bootstrapError({
      imports: [
        CircuitBreakerModule.forRoot({ logger: false }),
        CircuitBreakerOpenTelemetryModule.forRoot(),
        CircuitBreakerOpenTelemetryModule.forRoot({ breakers: ['payments'] }),
      ],
    });
    expect(String(error)).toContain(
      "instrumentOpenTelemetry: this application's CircuitBreakerRegistry is already instrumented with OpenTelemetry " +
        '(CircuitBreakerOpenTelemetryModule.forRoot() imported twice, or instrumentOpenTelemetry(registry) called twice): each transition would be counted twice.',
    );
  });

  it('bad options and a missing CircuitBreakerModule fail bootstrap, naming what is wrong', async () => {
    const bad = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ logger: false }), CircuitBreakerOpenTelemetryModule.forRoot({ meterProvider: 'global' as never })],
    });
    expect(String(bad)).toContain(
      'CircuitBreakerOpenTelemetryModule.forRoot: option "meterProvider" must be an OpenTelemetry MeterProvider (with getMeter()) or false, got "global"',
    );
    const missing = await apps.bootstrapError({ imports: [CircuitBreakerOpenTelemetryModule.forRoot()] });
    expect(String(missing)).toContain('CircuitBreakerOpenTelemetryModule needs the CircuitBreakerRegistry of CircuitBreakerModule');
  });
});

describe('CircuitBreakerOpenTelemetryModule without an OpenTelemetry SDK', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('attaches nothing to the breakers: calls cost what they cost without it', async () => {
    const app = apps.track(
      await buildApp({
        imports: [
          CircuitBreakerModule.forRoot({ logger: false, breakers: { payments: tripFast({ timeoutMs: 1_000 }) } }),
          CircuitBreakerOpenTelemetryModule.forRoot(),
          ShopModule,
        ],
      }),
    );
    sdk = new OtelSdk(); // the middleware's tracer, not registered: OpenTelemetry's globals stay no-ops
    try {
      await app.init();
      await request(app.getHttpServer()).get('/orders/1/quote').expect(200, 'quote 1: 42');
      expect(app.get(CircuitBreakerOpenTelemetry).instrumentation).toMatchObject({ metrics: false, traces: false });
      expect(app.get(CircuitBreakerRegistry).getAll().map((breaker) => [breaker.name, breaker.listening])).toEqual([['payments', false]]);
    } finally {
      await sdk.shutdown();
    }
  });
});
