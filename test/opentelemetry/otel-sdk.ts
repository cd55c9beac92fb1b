/**
 * The real OpenTelemetry SDK, in memory: a MeterProvider whose periodic reader exports to an
 * InMemoryMetricExporter only when asked (`collect()` = forceFlush), a BasicTracerProvider with an
 * InMemorySpanExporter, and the AsyncLocalStorage context manager that makes spans active across
 * awaits. `register()` makes them OpenTelemetry's global providers, `shutdown()` undoes it.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import type { Attributes, AttributeValue, Span, Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

export class OtelSdk {
  readonly metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only through forceFlush: the interval is longer than any test.
  readonly reader = new PeriodicExportingMetricReader({ exporter: this.metricExporter, exportIntervalMillis: 2_000_000_000 });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly spanExporter = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spanExporter)] });
  readonly tracer: Tracer = this.tracerProvider.getTracer('test');
  private readonly contextManager = new AsyncLocalStorageContextManager();
  private registered = false;

  /** Makes this SDK OpenTelemetry's global meter provider, tracer provider and context manager. */
  register(): this {
    metrics.setGlobalMeterProvider(this.meterProvider);
    trace.setGlobalTracerProvider(this.tracerProvider);
    context.setGlobalContextManager(this.contextManager.enable());
    this.registered = true;
    return this;
  }

  /** Only the context manager (spans made by `this.tracer` become active), not the providers. */
  registerContextOnly(): this {
    context.setGlobalContextManager(this.contextManager.enable());
    this.registered = true;
    return this;
  }

  /** Collects every metric now (cumulative). */
  async collect(): Promise<Collected> {
    this.metricExporter.reset();
    await this.reader.forceFlush();
    return new Collected(this.metricExporter.getMetrics());
  }

  /** Spans ended so far. */
  finishedSpans(): ReadableSpan[] {
    return this.spanExporter.getFinishedSpans();
  }

  /** The one ended span named `name`. */
  span(name: string): ReadableSpan {
    const found = this.finishedSpans().filter((span) => span.name === name);
    if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length}: ${this.finishedSpans().map((s) => s.name).join(', ')}`);
    return found[0]!;
  }

  /** Runs `fn` under a new active span named `name`, ended when fn's promise settles. */
  async inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(name, async (span) => {
      try {
        return await fn(span);
      } finally {
        span.end();
      }
    });
  }

  async shutdown(): Promise<void> {
    if (this.registered) {
      metrics.disable();
      trace.disable();
      context.disable();
      this.registered = false;
    }
    this.contextManager.disable();
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
  }
}

/** One point of a metric: its attributes and value (a number, or a histogram's count/sum/buckets). */
export interface Point {
  readonly attributes: Attributes;
  readonly value: number | { count: number; sum?: number; buckets: { boundaries: number[]; counts: number[] } };
}

/** One collection: the meter's scope and every metric's points. */
export class Collected {
  constructor(readonly resourceMetrics: ResourceMetrics[]) {}

  /** Every metric of the scope (meter) named `scope`. */
  scope(scope: string): { name: string; version: string | undefined; metrics: MetricData[] } {
    const found = this.resourceMetrics.flatMap((rm) => rm.scopeMetrics).filter((sm) => sm.scope.name === scope);
    if (found.length !== 1) throw new Error(`expected one scope "${scope}", found ${found.length}`);
    return { name: found[0]!.scope.name, version: found[0]!.scope.version, metrics: found[0]!.metrics };
  }

  metric(name: string): MetricData | undefined {
    return this.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.descriptor.name === name);
  }

  names(): string[] {
    return this.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.descriptor.name))).sort();
  }

  points(name: string): Point[] {
    const metric = this.metric(name);
    if (metric === undefined) return [];
    return (metric.dataPoints as { attributes: Attributes; value: unknown }[]).map((p) => ({ attributes: p.attributes, value: p.value as Point['value'] }));
  }

  /** The value of the one point with exactly these attributes; throws when there is not exactly one. */
  value(name: string, attributes: Record<string, AttributeValue>): number {
    const point = this.point(name, attributes);
    if (typeof point.value !== 'number') throw new Error(`${name} is not a number metric`);
    return point.value;
  }

  /** count and sum of the one histogram point with exactly these attributes. */
  histogram(name: string, attributes: Record<string, AttributeValue>): { count: number; sum: number; boundaries: number[]; counts: number[] } {
    const metric = this.metric(name);
    if (metric?.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    const point = this.point(name, attributes).value as { count: number; sum: number; buckets: { boundaries: number[]; counts: number[] } };
    return { count: point.count, sum: point.sum, boundaries: point.buckets.boundaries, counts: point.buckets.counts };
  }

  has(name: string, attributes: Record<string, AttributeValue>): boolean {
    return this.points(name).some((p) => sameAttributes(p.attributes, attributes));
  }

  private point(name: string, attributes: Record<string, AttributeValue>): Point {
    const found = this.points(name).filter((p) => sameAttributes(p.attributes, attributes));
    if (found.length !== 1) {
      throw new Error(`expected one point ${name}${JSON.stringify(attributes)}, found ${found.length}; points: ${JSON.stringify(this.points(name))}`);
    }
    return found[0]!;
  }
}

function sameAttributes(a: Attributes, b: Record<string, AttributeValue>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** A span's events as `name {attributes}`, in order. */
export function eventsOf(span: ReadableSpan): { name: string; attributes: Attributes }[] {
  return span.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} }));
}
