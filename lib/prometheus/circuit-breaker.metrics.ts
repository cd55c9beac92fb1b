/**
 * Prometheus collectors for the breakers of one application. Gauges and call counters are read from
 * the CircuitBreakerRegistry at scrape time (prom-client `collect()` callbacks), so the hot path
 * does no metrics work at all; only state transitions (rare) update metrics as they happen.
 */
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram, register as globalRegister } from 'prom-client';
import type { Metric } from 'prom-client';
import type { Subscription } from 'rxjs';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { CircuitState, StateChangeEvent } from '../core/circuit-breaker.js';
import { CIRCUIT_STATES, STATE_TABLE } from '../core/states/index.js';
import {
  CIRCUIT_BREAKER_METRIC_NAMES,
  CIRCUIT_BREAKER_PROMETHEUS_OPTIONS,
  DEFAULT_OPEN_DURATION_BUCKETS,
} from './circuit-breaker-prometheus.options.js';
import type { CircuitBreakerPrometheusOptions } from './circuit-breaker-prometheus.options.js';

/**
 * The transitions a breaker makes by its own rules. Their series exist at zero from a breaker's first
 * scrape, so `increase()` counts the first trip too (a series that appears at 1 hides it); manual and
 * shared-state transitions appear with their first occurrence.
 */
const RULE_TRANSITIONS: readonly { from: CircuitState; to: CircuitState }[] = [
  { from: 'closed', to: 'open' },
  { from: 'open', to: 'half_open' },
  { from: 'half_open', to: 'open' },
  { from: 'half_open', to: 'closed' },
];
const PREFIX_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export const MISSING_REGISTRY_MESSAGE =
  'CircuitBreakerPrometheusModule needs the CircuitBreakerRegistry of CircuitBreakerModule, which this application does not provide. ' +
  'Import CircuitBreakerModule.forRoot() (or forRootAsync()) in your application module, leaving isGlobal at its default (true).';

type PromRegistry = NonNullable<CircuitBreakerPrometheusOptions['registry']>;

/** open and forced_open: the states that admit no call (an opening lasts while the circuit is in them). */
function isOpenState(state: CircuitState): boolean {
  return STATE_TABLE[state].admits === 'none';
}

/**
 * Registers the circuit breaker metrics on a prom-client registry when the application starts
 * (`onModuleInit`) and removes them when it closes. Provided by `CircuitBreakerPrometheusModule`.
 *
 * Registering on a registry that already has a metric of the same name (another application in the
 * same process on the same registry, or other code) fails bootstrap with an error naming the
 * metric: give each application its own `Registry`, or a distinct `prefix`.
 */
@Injectable()
export class CircuitBreakerMetrics implements OnModuleInit, OnModuleDestroy {
  /** The prom-client registry the metrics are registered on. Serve `registry.metrics()` on /metrics. */
  readonly registry: PromRegistry;
  private readonly prefix: string;
  private readonly buckets: number[];
  private readonly breakers: CircuitBreakerRegistry;
  private metrics: Metric[] = [];
  private subscription: Subscription | undefined;
  /** Breaker name -> clock time its current opening began (open or forced_open). */
  private readonly openSince = new Map<string, number>();
  /** Breakers whose open-duration series exists (observed or zeroed). */
  private readonly histogramSeries = new Set<string>();
  /** Breakers whose rule-transition series exist. */
  private readonly transitionSeries = new Set<string>();
  private transitions: Counter<'name' | 'from' | 'to'> | undefined;
  private openDuration: Histogram<'name'> | undefined;

  constructor(
    @Inject(CIRCUIT_BREAKER_PROMETHEUS_OPTIONS) options: CircuitBreakerPrometheusOptions,
    @Optional() @Inject(CircuitBreakerRegistry) breakers: CircuitBreakerRegistry | undefined,
  ) {
    if (breakers === undefined || breakers === null) throw new Error(MISSING_REGISTRY_MESSAGE);
    this.breakers = breakers;
    const { registry, prefix, openDurationBuckets } = options ?? {};
    if (registry !== undefined && (registry === null || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function')) {
      throw new Error('CircuitBreakerPrometheusModule: option "registry" must be a prom-client Registry');
    }
    if (prefix !== undefined && (typeof prefix !== 'string' || (prefix !== '' && !PREFIX_PATTERN.test(prefix)))) {
      throw new Error(
        `CircuitBreakerPrometheusModule: option "prefix" must be letters, digits, "_" or ":" not starting with a digit, got ${JSON.stringify(prefix)}`,
      );
    }
    if (
      openDurationBuckets !== undefined &&
      (!Array.isArray(openDurationBuckets) ||
        openDurationBuckets.length === 0 ||
        !openDurationBuckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > openDurationBuckets[i - 1]!)))
    ) {
      throw new Error('CircuitBreakerPrometheusModule: option "openDurationBuckets" must be a non-empty array of increasing positive numbers (seconds)');
    }
    this.registry = registry ?? globalRegister;
    this.prefix = prefix ?? '';
    this.buckets = [...(openDurationBuckets ?? DEFAULT_OPEN_DURATION_BUCKETS)];
  }

  /** The full name of one of this module's metrics, prefix included. */
  metricName(key: keyof typeof CIRCUIT_BREAKER_METRIC_NAMES): string {
    return this.prefix + CIRCUIT_BREAKER_METRIC_NAMES[key];
  }

  onModuleInit(): void {
    const taken = Object.keys(CIRCUIT_BREAKER_METRIC_NAMES)
      .map((key) => this.metricName(key as keyof typeof CIRCUIT_BREAKER_METRIC_NAMES))
      .filter((name) => this.registry.getSingleMetric(name) !== undefined);
    if (taken.length > 0) {
      // Checked before registering anything, so a failed bootstrap leaves the registry as it was.
      throw new Error(
        `CircuitBreakerPrometheusModule: the prom-client registry already has a metric named "${taken[0]}" ` +
          '(another application in this process registered its circuit breaker metrics there, or other code uses the name). ' +
          'Give each application its own Registry (forRoot({ registry: new Registry() })) or a distinct prefix, or close the other application first.',
      );
    }
    this.register();
    this.subscription = this.breakers.stateChanges$.subscribe((event) => this.onStateChange(event));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    for (const metric of this.metrics) {
      const name = (metric as unknown as { name: string }).name;
      if (this.registry.getSingleMetric(name) === metric) this.registry.removeSingleMetric(name);
    }
    this.metrics = [];
    this.openSince.clear();
    this.histogramSeries.clear();
    this.transitionSeries.clear();
  }

  private register(): void {
    const registers = [this.registry];
    const breakers = this.breakers;

    const state = new Gauge({
      name: this.metricName('state'),
      help: 'Circuit breaker state: 1 for the current state, 0 for the others.',
      labelNames: ['name', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const current = breaker.state;
          for (const s of CIRCUIT_STATES) this.set({ name: breaker.name, state: s }, s === current ? 1 : 0);
        }
      },
    });

    const calls = new Counter({
      name: this.metricName('calls'),
      help: 'Calls through the circuit breaker by outcome: successful, failed, ignored (not counted by isFailure), not_permitted (rejected by an open circuit), timeout.',
      labelNames: ['name', 'kind'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const t = breaker.totals();
          const name = breaker.name;
          this.inc({ name, kind: 'successful' }, t.successfulCalls);
          this.inc({ name, kind: 'failed' }, t.failedCalls);
          this.inc({ name, kind: 'ignored' }, t.ignoredCalls);
          this.inc({ name, kind: 'not_permitted' }, t.notPermittedCalls);
          this.inc({ name, kind: 'timeout' }, t.timeoutCalls);
        }
      },
    });

    const slowCalls = new Counter({
      name: this.metricName('slowCalls'),
      help: 'Calls that lasted at least slowCallDurationMs (only counted when slow calls are tracked).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.inc({ name: breaker.name }, breaker.totals().slowCalls);
      },
    });

    const failureRate = new Gauge({
      name: this.metricName('failureRate'),
      help: 'Failure rate in the sliding window, in percent (0 with an empty window).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.set({ name: breaker.name }, breaker.snapshot().failureRate);
      },
    });

    const slowCallRate = new Gauge({
      name: this.metricName('slowCallRate'),
      help: 'Slow-call rate in the sliding window, in percent (0 with an empty window).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.set({ name: breaker.name }, breaker.snapshot().slowCallRate);
      },
    });

    // The thresholds in force, read at scrape time like the rates they are compared with: a
    // dashboard draws them beside the rates, and they follow reconfigure() and the admin API.
    const failureRateThreshold = new Gauge({
      name: this.metricName('failureRateThreshold'),
      help: 'failureRateThreshold in force, in percent: the circuit trips when circuit_breaker_failure_rate reaches it (with minimumCalls and minimumFailures met).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.set({ name: breaker.name }, breaker.options.failureRateThreshold);
      },
    });

    const slowCallRateThreshold = new Gauge({
      name: this.metricName('slowCallRateThreshold'),
      help: 'Breakers tracking slow calls (slowCallDurationMs set) only: slowCallRateThreshold in force, in percent.',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const options = breaker.options;
          if (options.slowCallDurationMs !== undefined) this.set({ name: breaker.name }, options.slowCallRateThreshold);
        }
      },
    });

    const openings = new Counter({
      name: this.metricName('openings'),
      help: 'Times the circuit opened (closed or half_open -> open); forced_open is not counted.',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.inc({ name: breaker.name }, breaker.totals().openings);
      },
    });

    const retryAfter = new Gauge({
      name: this.metricName('retryAfter'),
      help: 'Open circuits: seconds until the next call is admitted as a trial (0 when not open, or when the next call will be a trial).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const snapshot = breaker.snapshot();
          const seconds = snapshot.state === 'open' && snapshot.retryAfterMs !== undefined ? snapshot.retryAfterMs / 1000 : 0;
          this.set({ name: breaker.name }, seconds);
        }
      },
    });

    const wouldTrips = new Counter({
      name: this.metricName('wouldTrips'),
      help: 'metrics_only state: times a trip rule started to hold (the circuit would have opened).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.inc({ name: breaker.name }, breaker.totals().wouldTrips);
      },
    });

    // Breakers with a store only (nestjs-breaker/redis): outages of the shared state.
    const storeFallbacks = new Counter({
      name: this.metricName('storeFallbacks'),
      help: 'Breakers with a store: times the store failed and the breaker fell back to its local state.',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          if (breaker.options.store !== undefined) this.inc({ name: breaker.name }, breaker.totals().storeFallbacks);
        }
      },
    });

    const storeShared = new Gauge({
      name: this.metricName('storeShared'),
      help: 'Breakers with a store: 1 while the state is shared through the store, 0 while the breaker runs on local state (store unreachable).',
      labelNames: ['name'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          if (breaker.options.store !== undefined) this.set({ name: breaker.name }, breaker.snapshot().store === 'shared' ? 1 : 0);
        }
      },
    });

    // Updated as transitions happen (not at scrape time): a transition is an event, not a level.
    const transitionSeries = this.transitionSeries;
    this.transitions = new Counter({
      name: this.metricName('transitions'),
      help: 'State transitions of the circuit breaker.',
      labelNames: ['name', 'from', 'to'] as const,
      registers,
      collect() {
        for (const breaker of breakers.getAll()) {
          if (transitionSeries.has(breaker.name)) continue;
          transitionSeries.add(breaker.name);
          for (const { from, to } of RULE_TRANSITIONS) this.inc({ name: breaker.name, from, to }, 0);
        }
      },
    });
    // Every breaker gets its series at zero from the first scrape on (rate() needs a starting point);
    // zero() only for breakers seen for the first time, since it would wipe observations.
    const initialised = this.histogramSeries;
    this.openDuration = new Histogram({
      name: this.metricName('openDuration'),
      help: 'How long each opening lasted: from entering open or forced_open until leaving to half_open, closed, disabled or metrics_only (breaker clock).',
      labelNames: ['name'] as const,
      buckets: this.buckets,
      registers,
      collect() {
        for (const breaker of breakers.getAll()) {
          if (initialised.has(breaker.name)) continue;
          initialised.add(breaker.name);
          this.zero({ name: breaker.name });
        }
      },
    });

    this.metrics = [
      state,
      calls,
      slowCalls,
      failureRate,
      slowCallRate,
      failureRateThreshold,
      slowCallRateThreshold,
      openings,
      retryAfter,
      wouldTrips,
      storeFallbacks,
      storeShared,
      this.transitions,
      this.openDuration,
    ];

    // Breakers already open when the application starts (forced open by a provider's onModuleInit,
    // say): their opening began at `openedAt`.
    for (const breaker of breakers.getAll()) {
      if (!isOpenState(breaker.state)) continue;
      const openedAt = breaker.snapshot().openedAt;
      if (openedAt !== undefined) this.openSince.set(breaker.name, openedAt);
    }
  }

  private onStateChange(event: StateChangeEvent): void {
    this.transitions?.inc({ name: event.name, from: event.from, to: event.to });
    const wasOpen = isOpenState(event.from);
    const isOpen = isOpenState(event.to);
    if (!wasOpen && isOpen) {
      this.openSince.set(event.name, event.at);
    } else if (wasOpen && !isOpen) {
      const since = this.openSince.get(event.name);
      this.openSince.delete(event.name);
      if (since !== undefined && this.openDuration !== undefined) {
        this.histogramSeries.add(event.name);
        this.openDuration.observe({ name: event.name }, Math.max(0, event.at - since) / 1000);
      }
    }
  }
}
