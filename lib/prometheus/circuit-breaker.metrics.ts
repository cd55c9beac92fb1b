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
import type { CircuitBreaker, CircuitState, StateChangeEvent } from '../core/circuit-breaker.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { CIRCUIT_STATES, STATE_TABLE } from '../core/states/index.js';
import {
  CIRCUIT_BREAKER_METRIC_NAMES,
  CIRCUIT_BREAKER_PROMETHEUS_OPTIONS,
  DEFAULT_OPEN_DURATION_BUCKETS,
  DEFAULT_TOP_KEYS,
} from './circuit-breaker-prometheus.options.js';
import type { CircuitBreakerFamily } from '../family/circuit-breaker-family.js';
import { FamilySeries } from '../family/family-series.js';
import type { FamilyRow } from '../family/family-series.js';
import { shadowMetrics } from './shadow-metrics.js';
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

const COMPONENT = 'CircuitBreakerPrometheusModule';

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
  private transitions: Counter<'name' | 'key' | 'from' | 'to'> | undefined;
  private openDuration: Histogram<'name' | 'key'> | undefined;
  /** Families' bounded key labels (see family-series.ts). */
  private readonly familySeries: FamilySeries;
  /** Family series with event-driven values (transitions: from>to pairs seen), by "family\0key". */
  private readonly familyTransitionPairs = new Map<string, Set<string>>();
  private retiredSubscription: Subscription | undefined;

  constructor(
    @Inject(CIRCUIT_BREAKER_PROMETHEUS_OPTIONS) options: CircuitBreakerPrometheusOptions,
    @Optional() @Inject(CircuitBreakerRegistry) breakers: CircuitBreakerRegistry | undefined,
  ) {
    if (breakers === undefined || breakers === null) throw new Error(MISSING_REGISTRY_MESSAGE);
    this.breakers = breakers;
    const { registry, prefix, openDurationBuckets, topKeys } = options ?? {};
    if (topKeys !== undefined && (typeof topKeys !== 'number' || !Number.isInteger(topKeys) || topKeys < 0)) {
      throw CircuitBreakerConfigError.forComponent(COMPONENT, 'topKeys', topKeys, 'an integer >= 0');
    }
    this.familySeries = new FamilySeries({ topKeys: topKeys ?? DEFAULT_TOP_KEYS, onDrop: (family, key) => this.dropFamilySeries(family, key) });
    if (registry !== undefined && (registry === null || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function')) {
      throw CircuitBreakerConfigError.forComponent(COMPONENT, 'registry', registry, 'a prom-client Registry');
    }
    if (prefix !== undefined && (typeof prefix !== 'string' || (prefix !== '' && !PREFIX_PATTERN.test(prefix)))) {
      throw CircuitBreakerConfigError.forComponent(COMPONENT, 'prefix', prefix, 'letters, digits, "_" or ":" not starting with a digit');
    }
    if (
      openDurationBuckets !== undefined &&
      (!Array.isArray(openDurationBuckets) ||
        openDurationBuckets.length === 0 ||
        !openDurationBuckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > openDurationBuckets[i - 1]!)))
    ) {
      throw CircuitBreakerConfigError.forComponent(COMPONENT, 'openDurationBuckets', openDurationBuckets, 'a non-empty array of increasing positive numbers (seconds)');
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
    this.retiredSubscription = this.breakers.retired$.subscribe((event) => {
      this.openSince.delete(event.name);
      this.familySeries.retire(event.family, event.key, event.breaker);
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.retiredSubscription?.unsubscribe();
    this.retiredSubscription = undefined;
    this.familySeries.clear();
    this.familyTransitionPairs.clear();
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
    const familySeries = this.familySeries;
    /** Every family's series at this scrape (computed once, read by each collector). */
    const families = (): readonly FamilyRow[] => familySeries.rows(breakers.families());

    const state = new Gauge({
      name: this.metricName('state'),
      help: 'Circuit breaker state: 1 for the current state, 0 for the others.',
      labelNames: ['name', 'key', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const current = breaker.state;
          for (const s of CIRCUIT_STATES) this.set({ name: breaker.name, state: s }, s === current ? 1 : 0);
        }
        // A key's own series: 1 for its state; _other: how many of its keys are in each state.
        for (const row of families()) for (const s of CIRCUIT_STATES) this.set({ name: row.name, key: row.key, state: s }, row.states[s]);
      },
    });

    const calls = new Counter({
      name: this.metricName('calls'),
      help: 'Calls through the circuit breaker by outcome: successful, failed, ignored (not counted by isFailure), not_permitted (rejected by an open circuit), timeout.',
      labelNames: ['name', 'key', 'kind'] as const,
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
        for (const { name, key, counts } of families()) {
          for (const kind of ['successful', 'failed', 'ignored', 'not_permitted', 'timeout'] as const) this.inc({ name, key, kind }, counts[kind]);
        }
      },
    });

    const slowCalls = new Counter({
      name: this.metricName('slowCalls'),
      help: 'Calls that lasted at least slowCallDurationMs (only counted when slow calls are tracked).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.inc({ name: breaker.name }, breaker.totals().slowCalls);
        for (const row of families()) this.inc({ name: row.name, key: row.key }, row.counts.slow);
      },
    });

    const failureRate = new Gauge({
      name: this.metricName('failureRate'),
      help: 'Failure rate in the sliding window, in percent (0 with an empty window).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.set({ name: breaker.name }, breaker.snapshot().failureRate);
        for (const row of families()) this.set({ name: row.name, key: row.key }, row.failureRate);
      },
    });

    const slowCallRate = new Gauge({
      name: this.metricName('slowCallRate'),
      help: 'Slow-call rate in the sliding window, in percent (0 with an empty window).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.set({ name: breaker.name }, breaker.snapshot().slowCallRate);
        for (const row of families()) this.set({ name: row.name, key: row.key }, row.slowCallRate);
      },
    });

    // The thresholds in force, read at scrape time like the rates they are compared with: a
    // dashboard draws them beside the rates, and they follow reconfigure() and the admin API.
    const failureRateThreshold = new Gauge({
      name: this.metricName('failureRateThreshold'),
      help: 'failureRateThreshold in force, in percent: the circuit trips when circuit_breaker_failure_rate reaches it (with minimumCalls and minimumFailures met).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.set({ name: breaker.name }, breaker.options.failureRateThreshold);
        for (const row of families()) this.set({ name: row.name, key: row.key }, row.failureRateThreshold);
      },
    });

    const slowCallRateThreshold = new Gauge({
      name: this.metricName('slowCallRateThreshold'),
      help: 'Breakers tracking slow calls (slowCallDurationMs set) only: slowCallRateThreshold in force, in percent.',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const options = breaker.options;
          if (options.slowCallDurationMs !== undefined) this.set({ name: breaker.name }, options.slowCallRateThreshold);
        }
        for (const row of families()) if (row.slowCallRateThreshold !== undefined) this.set({ name: row.name, key: row.key }, row.slowCallRateThreshold);
      },
    });

    const openings = new Counter({
      name: this.metricName('openings'),
      help: 'Times the circuit opened (closed or half_open -> open); forced_open is not counted.',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.inc({ name: breaker.name }, breaker.totals().openings);
        for (const row of families()) this.inc({ name: row.name, key: row.key }, row.counts.openings);
      },
    });

    const retryAfter = new Gauge({
      name: this.metricName('retryAfter'),
      help: 'Open circuits: seconds until the next call is admitted as a trial (0 when not open, or when the next call will be a trial).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          const snapshot = breaker.snapshot();
          const seconds = snapshot.state === 'open' && snapshot.retryAfterMs !== undefined ? snapshot.retryAfterMs / 1000 : 0;
          this.set({ name: breaker.name }, seconds);
        }
        for (const row of families()) this.set({ name: row.name, key: row.key }, row.retryAfterSeconds);
      },
    });

    const wouldTrips = new Counter({
      name: this.metricName('wouldTrips'),
      help: 'metrics_only state: times a trip rule started to hold (the circuit would have opened).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) this.inc({ name: breaker.name }, breaker.totals().wouldTrips);
        for (const row of families()) this.inc({ name: row.name, key: row.key }, row.counts.wouldTrips);
      },
    });

    // Breakers with a store only (nestjs-breaker/redis): outages of the shared state.
    const storeFallbacks = new Counter({
      name: this.metricName('storeFallbacks'),
      help: 'Breakers with a store: times the store failed and the breaker fell back to its local state.',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          if (breaker.options.store !== undefined) this.inc({ name: breaker.name }, breaker.totals().storeFallbacks);
        }
        for (const row of families()) if (row.storeShared !== undefined) this.inc({ name: row.name, key: row.key }, row.counts.storeFallbacks);
      },
    });

    const storeShared = new Gauge({
      name: this.metricName('storeShared'),
      help: 'Breakers with a store: 1 while the state is shared through the store, 0 while the breaker runs on local state (store unreachable).',
      labelNames: ['name', 'key'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of breakers.getAll()) {
          if (breaker.options.store !== undefined) this.set({ name: breaker.name }, breaker.snapshot().store === 'shared' ? 1 : 0);
        }
        for (const row of families()) if (row.storeShared !== undefined) this.set({ name: row.name, key: row.key }, row.storeShared);
      },
    });

    // Updated as transitions happen (not at scrape time): a transition is an event, not a level.
    const transitionSeries = this.transitionSeries;
    const pairsOf = (family: string, key: string): Set<string> => this.transitionPairs(family, key);
    this.transitions = new Counter({
      name: this.metricName('transitions'),
      help: 'State transitions of the circuit breaker.',
      labelNames: ['name', 'key', 'from', 'to'] as const,
      registers,
      collect() {
        for (const breaker of breakers.getAll()) {
          if (transitionSeries.has(breaker.name)) continue;
          transitionSeries.add(breaker.name);
          for (const { from, to } of RULE_TRANSITIONS) this.inc({ name: breaker.name, from, to }, 0);
        }
        for (const { name, key } of families()) {
          const pairs = pairsOf(name, key);
          for (const { from, to } of RULE_TRANSITIONS) {
            if (pairs.has(`${from}>${to}`)) continue;
            pairs.add(`${from}>${to}`);
            this.inc({ name, key, from, to }, 0);
          }
        }
      },
    });
    // Every breaker gets its series at zero from the first scrape on (rate() needs a starting point);
    // zero() only for breakers seen for the first time, since it would wipe observations.
    const initialised = this.histogramSeries;
    this.openDuration = new Histogram({
      name: this.metricName('openDuration'),
      help: 'How long each opening lasted: from entering open or forced_open until leaving to half_open, closed, disabled or metrics_only (breaker clock).',
      labelNames: ['name', 'key'] as const,
      buckets: this.buckets,
      registers,
      collect() {
        for (const breaker of breakers.getAll()) {
          if (initialised.has(breaker.name)) continue;
          initialised.add(breaker.name);
          this.zero({ name: breaker.name });
        }
        for (const { name, key } of families()) {
          const id = `${name}\u0000${key}`;
          if (initialised.has(id)) continue;
          initialised.add(id);
          this.zero({ name, key });
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
      ...shadowMetrics((key) => this.metricName(key), registers, breakers),
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
    // A key of a family is counted under the family's name and its key label (see family-series.ts).
    const member = this.familyMember(event.name);
    const labels: { name: string; key?: string } = member === undefined ? { name: event.name } : { name: member.family.name, key: this.familySeries.labelFor(member.family, member.breaker, event.to) };
    if (labels.key !== undefined) this.transitionPairs(labels.name, labels.key).add(`${event.from}>${event.to}`);
    this.transitions?.inc({ ...labels, from: event.from, to: event.to });
    const wasOpen = isOpenState(event.from);
    const isOpen = isOpenState(event.to);
    if (!wasOpen && isOpen) {
      this.openSince.set(event.name, event.at);
    } else if (wasOpen && !isOpen) {
      const since = this.openSince.get(event.name);
      this.openSince.delete(event.name);
      if (since !== undefined && this.openDuration !== undefined) {
        this.histogramSeries.add(labels.key === undefined ? labels.name : `${labels.name}\u0000${labels.key}`);
        this.openDuration.observe(labels, Math.max(0, event.at - since) / 1000);
      }
    }
  }

  /** The family and breaker of a keyed breaker's name (`family:key`), or undefined for a named breaker. */
  private familyMember(name: string): { family: CircuitBreakerFamily; breaker: CircuitBreaker } | undefined {
    const colon = name.indexOf(':');
    if (colon <= 0 || this.breakers.has(name)) return undefined;
    const familyName = name.slice(0, colon);
    if (!this.breakers.hasFamily(familyName)) return undefined;
    const family = this.breakers.family(familyName);
    const breaker = family.find(name.slice(colon + 1));
    return breaker === undefined ? undefined : { family, breaker };
  }

  private transitionPairs(family: string, key: string): Set<string> {
    const id = `${family}\u0000${key}`;
    let pairs = this.familyTransitionPairs.get(id);
    if (pairs === undefined) this.familyTransitionPairs.set(id, (pairs = new Set()));
    return pairs;
  }

  /** A key lost its own series: its event-driven series (transitions, open durations) go too. */
  private dropFamilySeries(family: string, key: string): void {
    const id = `${family}\u0000${key}`;
    for (const pair of this.familyTransitionPairs.get(id) ?? []) {
      const [from, to] = pair.split('>') as [string, string];
      this.transitions?.remove({ name: family, key, from, to });
    }
    this.familyTransitionPairs.delete(id);
    if (this.histogramSeries.delete(id)) this.openDuration?.remove({ name: family, key });
  }
}
