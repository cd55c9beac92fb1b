import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { didYouMean } from '../unknown-options.js';

/** Options of `instrumentOpenTelemetry()` and `CircuitBreakerOpenTelemetryModule.forRoot()`. */
export interface CircuitBreakerOpenTelemetryOptions {
  /**
   * Where the metrics go. Default: the global MeterProvider (`metrics.getMeterProvider()`, the one
   * the OpenTelemetry SDK registers). Register the SDK before the application initialises: a meter
   * taken while no SDK is registered stays a no-op (that is OpenTelemetry's own rule), and so do
   * these metrics. `false`: no metrics.
   */
  meterProvider?: MeterProvider | false;
  /**
   * Whether calls mark the span active when a breaker is called (attributes, span events, error
   * status). No span is created: the spans are those of your other instrumentation (HTTP, NestJS,
   * your own). Default: the global TracerProvider, which marks spans once an SDK is registered and
   * costs nothing per call before. Pass a provider to turn trace signals on whatever the global one
   * is, `false` to turn them off.
   */
  tracerProvider?: TracerProvider | false;
  /**
   * Names of the breakers to instrument; every breaker when omitted (including breakers the
   * registry creates later). A listed name that does not exist yet is instrumented once it does.
   */
  breakers?: readonly string[];
  /**
   * Families of keyed breakers: how many of a family's closed keys get data points of their own
   * (attribute `circuitbreaker.key`), the busiest by recent traffic; a key whose circuit is not
   * closed always does. Every other key is aggregated under `circuitbreaker.key="_other"`.
   * Integer >= 0. Default 10 (as the Prometheus integration's `topKeys`).
   */
  topKeys?: number;
  /**
   * Families of keyed breakers: at most this many distinct keys of a family ever get data points of
   * their own over the instrumentation's life (the SDK keeps every attribute set it has exported
   * with cumulative temporality, so a bound per collection is not enough); later keys, open ones
   * included, are counted under `_other` (health and the admin API still list them). Integer >= 1.
   * Default 100.
   */
  maxKeyValues?: number;
}

export const DEFAULT_TOP_KEYS = 10;
export const DEFAULT_MAX_KEY_VALUES = 100;

export const CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS = Symbol('CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS');

const OPTION_KEYS = ['meterProvider', 'tracerProvider', 'breakers', 'topKeys', 'maxKeyValues'];

/** Bad options are a bootstrap error naming the option, the value and what is allowed. */
export function validateOptions(options: unknown, where: string): CircuitBreakerOpenTelemetryOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!OPTION_KEYS.includes(key)) throw new TypeError(`${where}: unknown option "${key}"${didYouMean(key, OPTION_KEYS)} (known options: ${OPTION_KEYS.join(', ')})`);
  }
  const { meterProvider, tracerProvider, breakers, topKeys, maxKeyValues } = given;
  if (topKeys !== undefined && (typeof topKeys !== 'number' || !Number.isInteger(topKeys) || topKeys < 0)) {
    throw new TypeError(`${where}: option "topKeys" must be an integer >= 0, got ${describe(topKeys)}`);
  }
  if (maxKeyValues !== undefined && (typeof maxKeyValues !== 'number' || !Number.isInteger(maxKeyValues) || maxKeyValues < 1)) {
    throw new TypeError(`${where}: option "maxKeyValues" must be an integer >= 1, got ${describe(maxKeyValues)}`);
  }
  if (meterProvider !== undefined && meterProvider !== false && typeof (meterProvider as { getMeter?: unknown } | null)?.getMeter !== 'function') {
    throw new TypeError(`${where}: option "meterProvider" must be an OpenTelemetry MeterProvider (with getMeter()) or false, got ${describe(meterProvider)}`);
  }
  if (tracerProvider !== undefined && tracerProvider !== false && typeof (tracerProvider as { getTracer?: unknown } | null)?.getTracer !== 'function') {
    throw new TypeError(`${where}: option "tracerProvider" must be an OpenTelemetry TracerProvider (with getTracer()) or false, got ${describe(tracerProvider)}`);
  }
  if (breakers !== undefined && (!Array.isArray(breakers) || !breakers.every((name) => typeof name === 'string' && name.length > 0))) {
    throw new TypeError(`${where}: option "breakers" must be an array of breaker names (non-empty strings), got ${describe(breakers)}`);
  }
  return given as CircuitBreakerOpenTelemetryOptions;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value === null || typeof value !== 'object') return String(value);
  return `an object with keys ${JSON.stringify(Object.keys(value))}`;
}
