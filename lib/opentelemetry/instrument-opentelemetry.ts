/**
 * `instrumentOpenTelemetry(registryOrBreakers, options)`: the breakers' metrics and trace signals
 * through the OpenTelemetry API, for engine users and for the Nest module alike.
 */
import type { Subscription } from 'rxjs';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import { CircuitBreaker } from '../core/circuit-breaker.js';
import type { CallEvent, StateChangeEvent } from '../core/events.js';
import type { CircuitBreakerFamily } from '../family/circuit-breaker-family.js';
import { BreakerMeters } from './breaker-meters.js';
import { DEFAULT_MAX_KEY_VALUES, DEFAULT_TOP_KEYS, validateOptions } from './opentelemetry-options.js';
import type { CircuitBreakerOpenTelemetryOptions } from './opentelemetry-options.js';
import { CIRCUIT_BREAKER_ATTRIBUTES as A } from './opentelemetry-names.js';
import { meterFrom, tracesOn } from './opentelemetry-providers.js';
import { markCall, markFailedCall, markTransition, plainSpanNames } from './span-signals.js';
import type { SpanNames } from './span-signals.js';

/** What `instrumentOpenTelemetry()` returns. */
export interface OpenTelemetryInstrumentation {
  /** Metrics are recorded: the meter provider is not OpenTelemetry's no-op one (nor `false`). */
  readonly metrics: boolean;
  /** Spans are marked: the tracer provider is not OpenTelemetry's no-op one (nor `false`). */
  readonly traces: boolean;
  /** Removes every listener, subscription and metric callback this instrumentation added. Idempotent. */
  detach(): void;
}

/**
 * Registries and breakers instrumented now: a second instrumentation of one would count every
 * transition twice and mark every span twice.
 */
const instrumented = new WeakSet<object>();

/**
 * Instruments breakers with OpenTelemetry: metrics (meter `nestjs-breaker`, instruments
 * `circuitbreaker.*`) and trace signals on the spans active where the breakers are called.
 *
 * - A `CircuitBreakerRegistry` (the Nest integration): every breaker of the application, including
 *   those it creates later; decorated calls also mark a span's status when a refusal or a timeout
 *   reaches the caller (not when the fallback answered it).
 * - Breakers (engine users): those breakers; instrument breakers made later with another call.
 *
 * With OpenTelemetry's no-op providers (no SDK registered), nothing is attached to any breaker.
 *
 * ```ts
 * const otel = instrumentOpenTelemetry([payments, inventory]);
 * // ... on shutdown
 * otel.detach();
 * ```
 */
export function instrumentOpenTelemetry(
  registryOrBreakers: CircuitBreakerRegistry | Iterable<CircuitBreaker>,
  options?: CircuitBreakerOpenTelemetryOptions,
): OpenTelemetryInstrumentation {
  const where = 'instrumentOpenTelemetry';
  const opts = validateOptions(options, where);
  const wanted = opts.breakers === undefined ? undefined : new Set(opts.breakers);
  const selected = (name: string): boolean => wanted === undefined || wanted.has(name);
  const registry = registryOrBreakers instanceof CircuitBreakerRegistry ? registryOrBreakers : undefined;
  const breakers = registry === undefined ? breakersOf(registryOrBreakers, where).filter((breaker) => selected(breaker.name)) : [];
  const targets: object[] = registry === undefined ? breakers : [registry];
  for (const target of targets) {
    if (instrumented.has(target)) throw alreadyInstrumented(target, where);
  }
  const meter = meterFrom(opts.meterProvider);
  const traces = tracesOn(opts.tracerProvider);
  for (const target of targets) instrumented.add(target);

  const meters =
    meter === undefined
      ? undefined
      : new BreakerMeters(meter, {
          breakers: () => (registry === undefined ? breakers : registry.getAll().filter((b) => selected(b.name))),
          // A family is selected by its name (`breakers: ['shards']`).
          families: () => (registry === undefined ? [] : registry.families().filter((f) => selected(f.name))),
          memberOf: (name) => (registry === undefined ? undefined : familyMember(registry, name)),
          topKeys: opts.topKeys ?? DEFAULT_TOP_KEYS,
          maxKeyValues: opts.maxKeyValues ?? DEFAULT_MAX_KEY_VALUES,
        });
  const spanNames: SpanNames =
    registry === undefined
      ? plainSpanNames
      : (name) => {
          const member = familyMember(registry, name);
          return member === undefined ? { [A.name]: name } : { [A.name]: member.family.name, [A.key]: name.slice(member.family.name.length + 1) };
        };
  /** A breaker's event is selected by its name, or a key's (`family:key`) by its family's name. */
  const selectedEvent = (name: string): boolean => {
    if (wanted === undefined || wanted.has(name)) return true;
    const colon = name.indexOf(':');
    return colon > 0 && wanted.has(name.slice(0, colon));
  };

  const onStateChange = (event: StateChangeEvent): void => {
    meters?.onStateChange(event);
    if (traces) markTransition(event, spanNames);
  };
  const onCall = (breaker: CircuitBreaker | undefined, event: CallEvent): void => {
    meters?.onCall(event);
    if (traces) markCall(breaker, event, spanNames);
  };

  const detachers: (() => void)[] = [];
  let subscriptions: Subscription[] = [];
  if (meters !== undefined || traces) {
    if (registry !== undefined) {
      subscriptions = [
        registry.stateChanges$.subscribe((event) => {
          if (selectedEvent(event.name)) onStateChange(event);
        }),
        registry.calls$.subscribe((event) => {
          if (selectedEvent(event.name)) onCall(registry.find(event.name), event);
        }),
      ];
      if (meters !== undefined) {
        subscriptions.push(
          registry.retired$.subscribe((event) => {
            if (selected(event.family)) meters.onRetire(event.family, event.key, event.breaker);
          }),
        );
      }
      if (traces) {
        subscriptions.push(
          registry.failedCalls$.subscribe((event) => {
            if (selectedEvent(event.name)) markFailedCall(event);
          }),
        );
      }
    } else {
      for (const breaker of breakers) {
        detachers.push(breaker.onStateChange(onStateChange));
        detachers.push(breaker.onCall((event) => onCall(breaker, event)));
      }
    }
  }

  let attached = true;
  return {
    metrics: meters !== undefined,
    traces,
    detach(): void {
      if (!attached) return;
      attached = false;
      for (const subscription of subscriptions) subscription.unsubscribe();
      for (const detach of detachers) detach();
      meters?.detach();
      for (const target of targets) instrumented.delete(target);
    },
  };
}

/** The family and breaker of a keyed breaker's name (`family:key`) in the registry, else undefined. */
function familyMember(registry: CircuitBreakerRegistry, name: string): { family: CircuitBreakerFamily; breaker: CircuitBreaker | undefined } | undefined {
  const colon = name.indexOf(':');
  if (colon <= 0) return undefined;
  const familyName = name.slice(0, colon);
  if (!registry.hasFamily(familyName)) return undefined;
  const family = registry.family(familyName);
  return { family, breaker: family.find(name.slice(colon + 1)) };
}

/** The breakers given, checked: each a CircuitBreaker, listed once. */
function breakersOf(given: unknown, where: string): CircuitBreaker[] {
  const iterable = given as { [Symbol.iterator]?: unknown } | null | undefined;
  if (typeof given === 'string' || iterable === null || iterable === undefined || typeof iterable[Symbol.iterator] !== 'function') {
    throw new TypeError(`${where}: expects a CircuitBreakerRegistry or an array (iterable) of CircuitBreaker, got ${given === null || typeof given !== 'object' ? String(given) : 'an object that is neither'}`);
  }
  const breakers = [...(given as Iterable<unknown>)];
  breakers.forEach((breaker, index) => {
    if (!(breaker instanceof CircuitBreaker)) {
      throw new TypeError(`${where}: element ${index} is not a CircuitBreaker (got ${breaker === null ? 'null' : typeof breaker})`);
    }
    if (breakers.indexOf(breaker) !== index) {
      throw new TypeError(`${where}: circuit breaker "${breaker.name}" is listed twice (elements ${breakers.indexOf(breaker)} and ${index})`);
    }
  });
  return breakers as CircuitBreaker[];
}

function alreadyInstrumented(target: object, where: string): Error {
  const what =
    target instanceof CircuitBreaker
      ? `circuit breaker "${target.name}" is already instrumented with OpenTelemetry`
      : "this application's CircuitBreakerRegistry is already instrumented with OpenTelemetry " +
        '(CircuitBreakerOpenTelemetryModule.forRoot() imported twice, or instrumentOpenTelemetry(registry) called twice)';
  return new Error(`${where}: ${what}: each transition would be counted twice. Instrument it once, or detach() the first instrumentation first.`);
}
