/**
 * The metrics of a set of breakers on one OpenTelemetry meter. Levels and call counts are observed
 * when the SDK collects (one batch callback reads each breaker's totals and snapshot), as the
 * Prometheus integration does at scrape time; only transitions and call durations are recorded as
 * they happen.
 */
import { ValueType } from '@opentelemetry/api';
import type { Attributes, BatchObservableResult, Counter, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { CircuitBreaker } from '../core/circuit-breaker.js';
import type { CallEvent, StateChangeEvent } from '../core/events.js';
import { CIRCUIT_STATES } from '../core/states/index.js';
import { CALL_DURATION_BUCKETS, CIRCUIT_BREAKER_ATTRIBUTES as A, CIRCUIT_BREAKER_INSTRUMENTS as I } from './opentelemetry-names.js';

export class BreakerMeters {
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
    /** The breakers to report at each collection. */
    private readonly breakers: () => Iterable<CircuitBreaker>,
  ) {
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
      description: 'Circuit breaker state: 1 for the current state (circuitbreaker.state), 0 for the others.',
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
    this.callDuration.record(event.durationMs / 1000, { [A.name]: event.name, [A.outcome]: event.kind });
  }

  onStateChange(event: StateChangeEvent): void {
    this.transitions.add(1, { [A.name]: event.name, [A.transitionFrom]: event.from, [A.transitionTo]: event.to, [A.transitionReason]: event.reason });
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
  }
}
