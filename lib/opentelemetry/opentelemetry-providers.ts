/**
 * Which providers do something. Without an SDK, OpenTelemetry's global providers are no-ops; the
 * instrumentation then attaches nothing to the breakers, so calls cost what they cost without it
 * (per-call listeners allocate an event per call, even for a no-op tracer).
 */
import { ProxyTracerProvider, createNoopMeter, metrics, trace } from '@opentelemetry/api';
import type { Meter, MeterProvider, TracerProvider } from '@opentelemetry/api';
import { METER_NAME } from './opentelemetry-names.js';
import { PACKAGE_VERSION } from './package-version.js';

/** The API's no-op meter: a no-op MeterProvider hands out this very object. */
const NOOP_METER = createNoopMeter();
/** The API's no-op TracerProvider: a proxy provider that nothing was registered on delegates to it. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** The meter to record on, or undefined when metrics are off or would go nowhere. */
export function meterFrom(provider: MeterProvider | false | undefined): Meter | undefined {
  if (provider === false) return undefined;
  const meter = (provider ?? metrics.getMeterProvider()).getMeter(METER_NAME, PACKAGE_VERSION);
  return meter === NOOP_METER ? undefined : meter;
}

/** Whether spans can be recording at all: a tracer provider other than the API's no-op one. */
export function tracesOn(provider: TracerProvider | false | undefined): boolean {
  if (provider === false) return false;
  const given = provider ?? trace.getTracerProvider();
  const actual = given instanceof ProxyTracerProvider ? given.getDelegate() : given;
  return actual !== NOOP_TRACER_PROVIDER;
}

/**
 * Exports what the provider holds now, when it can (the SDK's MeterProvider has forceFlush; the
 * API's interface does not). Observable instruments are read at collection, so a collection after
 * the breakers are detached would miss their last values. An export error is the SDK's to report
 * (through its diag logger); it must not fail the application's shutdown.
 */
export async function flushMetrics(provider: MeterProvider | false | undefined): Promise<void> {
  if (provider === false) return;
  const given = (provider ?? metrics.getMeterProvider()) as MeterProvider & { forceFlush?: () => Promise<void> };
  if (typeof given.forceFlush !== 'function') return;
  try {
    await given.forceFlush();
  } catch {
    // reported by the SDK
  }
}
