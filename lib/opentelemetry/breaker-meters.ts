/**
 * The metrics of a set of breakers on one OpenTelemetry meter. Levels and call counts are observed
 * when the SDK collects (one batch callback reads each breaker's totals and snapshot), as the
 * Prometheus integration does at scrape time; only transitions and call durations are recorded as
 * they happen.
 *
 * Families of keyed breakers keep a bounded set of attributes (lib/family/family-series.ts, the
 * rule the Prometheus integration follows): `circuitbreaker.name` is the family's and
 * `circuitbreaker.key` the key for a key whose circuit is not closed or that is among the `topKeys`
 * busiest, `_overflow` for the overflow breaker and `_other` for every other key, aggregated. The
 * SDK keeps every attribute set it has seen (cumulative temporality), so a family also gets at most
 * `maxKeyValues` distinct keys over the instrumentation's life.
 */
import { ValueType } from '@opentelemetry/api';
import type { Attributes, BatchObservableResult, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { CircuitBreaker } from '../core/circuit-breaker.js';
import type { CircuitBreakerFamily } from '../family/circuit-breaker-family.js';
import { FamilySeries } from '../family/family-series.js';
import type { FamilyRow } from '../family/family-series.js';
import type { CallEvent, StateChangeEvent } from '../core/events.js';
import { CIRCUIT_STATES } from '../core/states/index.js';
import { CALL_DURATION_BUCKETS, CIRCUIT_BREAKER_ATTRIBUTES as A, CIRCUIT_BREAKER_INSTRUMENTS as I } from './opentelemetry-names.js';

/** Where the meters find breakers: the named ones, the families, and the family of a keyed breaker's name. */
export interface MeteredBreakers {
  /** The breakers to report at each collection (not the keyed ones). */
  readonly breakers: () => Iterable<CircuitBreaker>;
  /** The families to report at each collection. */
  readonly families: () => readonly CircuitBreakerFamily[];
  /**
   * The family of a keyed breaker's name (`family:key`), with the key's breaker unless it was
   * retired meanwhile; undefined for any other name.
   */
  readonly memberOf: (name: string) => { family: CircuitBreakerFamily; breaker: CircuitBreaker | undefined } | undefined;
  readonly topKeys: number;
  readonly maxKeyValues: number;
}

export class BreakerMeters {
  private readonly familySeries: FamilySeries;
  private readonly breakers: () => Iterable<CircuitBreaker>;
  private readonly families: () => readonly CircuitBreakerFamily[];
  private readonly memberOf: MeteredBreakers['memberOf'];
  private readonly callDuration: Histogram;
  private readonly transitions: Counter;
  private readonly observables: Observable[];
  private readonly collect = (result: BatchObservableResult): void => this.observe(result);
  private readonly calls: Observable;
  private readonly state: Observable;
  private readonly failureRate: Observable;
  private readonly slowCallRate: Observable;
  private readonly storeShared: Observable;
  private readonly storeFallbacks: Observable;

  constructor(
    private readonly meter: Meter,
    metered: MeteredBreakers,
  ) {
    this.breakers = metered.breakers;
    this.families = metered.families;
    this.memberOf = metered.memberOf;
    this.familySeries = new FamilySeries({ topKeys: metered.topKeys, keyBudget: metered.maxKeyValues });
    this.calls = meter.createObservableCounter(I.calls, {
      description: 'Calls through the circuit breaker by outcome (circuitbreaker.outcome): success, failure, ignored, not_permitted, timeout.',
      unit: '{call}',
      valueType: ValueType.INT,
    });
    this.callDuration = meter.createHistogram(I.callDuration, {
      description: 'How long calls took, by outcome; recorded for breakers that time their calls (timeoutMs or slowCallDurationMs).',
      unit: 's',
      advice: { explicitBucketBoundaries: [...CALL_DURATION_BUCKETS] },
    });
    this.state = meter.createObservableGauge(I.state, {
      description: 'Circuit breaker state: 1 for the current state (circuitbreaker.state), 0 for the others; for a family\'s circuitbreaker.key "_other", how many of its keys are in each state.',
      valueType: ValueType.INT,
    });
    this.transitions = meter.createCounter(I.transitions, {
      description: 'State transitions of the circuit breaker, by from, to and reason.',
      unit: '{transition}',
      valueType: ValueType.INT,
    });
    this.failureRate = meter.createObservableGauge(I.failureRate, {
      description: 'Failure rate in the sliding window, in percent (0 with an empty window).',
      unit: '%',
    });
    this.slowCallRate = meter.createObservableGauge(I.slowCallRate, {
      description: 'Slow-call rate in the sliding window, in percent (0 with an empty window or without slow-call tracking).',
      unit: '%',
    });
    this.storeShared = meter.createObservableGauge(I.storeShared, {
      description: 'Breakers with a store: 1 while the state is shared through the store, 0 while the breaker runs on local state (store unreachable).',
      valueType: ValueType.INT,
    });
    this.storeFallbacks = meter.createObservableCounter(I.storeFallbacks, {
      description: 'Breakers with a store: times the store failed and the breaker fell back to its local state.',
      unit: '{fallback}',
      valueType: ValueType.INT,
    });
    this.observables = [this.calls, this.state, this.failureRate, this.slowCallRate, this.storeShared, this.storeFallbacks];
    meter.addBatchObservableCallback(this.collect, this.observables);
  }

  /** A call ended: its duration, when the breaker timed it. */
  onCall(event: CallEvent): void {
    if (event.durationMs === undefined) return;
    this.callDuration.record(event.durationMs / 1000, { ...this.nameOf(event.name, undefined), [A.outcome]: event.kind });
  }

  onStateChange(event: StateChangeEvent): void {
    this.transitions.add(1, { ...this.nameOf(event.name, event.to), [A.transitionFrom]: event.from, [A.transitionTo]: event.to, [A.transitionReason]: event.reason });
  }

  /** A family retired a key: its calls since the last collection go to `_other`. */
  onRetire(family: string, key: string, breaker: CircuitBreaker): void {
    this.familySeries.retire(family, key, breaker);
  }

  /**
   * The name attributes of an event: a named breaker's name, or a keyed breaker's family and key
   * label (`to`: a transition's target state, which gives a key leaving closed its own series).
   */
  private nameOf(name: string, to: StateChangeEvent['to'] | undefined): Attributes {
    const member = name.includes(':') ? this.memberOf(name) : undefined;
    if (member === undefined) return { [A.name]: name };
    const { family, breaker } = member;
    // A retired key's late call has no series of its own any more: labelOf gives _other.
    const key =
      to === undefined || breaker === undefined ? this.familySeries.labelOf(family.name, name.slice(family.name.length + 1)) : this.familySeries.labelFor(family, breaker, to);
    return { [A.name]: family.name, [A.key]: key };
  }

  /** Stops observing (the SDK keeps the instruments; they report nothing more for these breakers). */
  detach(): void {
    this.meter.removeBatchObservableCallback(this.collect, this.observables);
  }

  private observe(result: BatchObservableResult): void {
    for (const breaker of this.breakers()) {
      const name = breaker.name;
      const totals = breaker.totals();
      const snapshot = breaker.snapshot();
      const outcome = (kind: string): Attributes => ({ [A.name]: name, [A.outcome]: kind });
      result.observe(this.calls, totals.successfulCalls, outcome('success'));
      result.observe(this.calls, totals.failedCalls, outcome('failure'));
      result.observe(this.calls, totals.ignoredCalls, outcome('ignored'));
      result.observe(this.calls, totals.notPermittedCalls, outcome('not_permitted'));
      result.observe(this.calls, totals.timeoutCalls, outcome('timeout'));
      for (const state of CIRCUIT_STATES) result.observe(this.state, state === snapshot.state ? 1 : 0, { [A.name]: name, [A.state]: state });
      const only = { [A.name]: name };
      result.observe(this.failureRate, snapshot.failureRate, only);
      result.observe(this.slowCallRate, snapshot.slowCallRate, only);
      if (breaker.options.store !== undefined) {
        result.observe(this.storeShared, snapshot.store === 'shared' ? 1 : 0, only);
        result.observe(this.storeFallbacks, totals.storeFallbacks, only);
      }
    }
    for (const row of this.familySeries.rows(this.families())) this.observeFamilyRow(result, row);
  }

  /** One series of a family: a key of its own, `_overflow` or `_other` (whose state counts its keys). */
  private observeFamilyRow(result: BatchObservableResult, row: FamilyRow): void {
    const only = { [A.name]: row.name, [A.key]: row.key };
    const outcome = (kind: string): Attributes => ({ ...only, [A.outcome]: kind });
    result.observe(this.calls, row.counts.successful, outcome('success'));
    result.observe(this.calls, row.counts.failed, outcome('failure'));
    result.observe(this.calls, row.counts.ignored, outcome('ignored'));
    result.observe(this.calls, row.counts.not_permitted, outcome('not_permitted'));
    result.observe(this.calls, row.counts.timeout, outcome('timeout'));
    for (const state of CIRCUIT_STATES) result.observe(this.state, row.states[state], { ...only, [A.state]: state });
    result.observe(this.failureRate, row.failureRate, only);
    result.observe(this.slowCallRate, row.slowCallRate, only);
    if (row.storeShared !== undefined) {
      result.observe(this.storeShared, row.storeShared, only);
      result.observe(this.storeFallbacks, row.counts.storeFallbacks, only);
    }
  }
}
