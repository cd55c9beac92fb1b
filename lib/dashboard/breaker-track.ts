/**
 * What the dashboard remembers of one breaker: its chart history (a ring of samples aligned with the
 * hub's sample times), its recent transitions, and the latest view as the stream sends it. Read
 * through the breaker's public observation API only (snapshot, totals, options): nothing here is on
 * a call's path.
 */
import type { CircuitBreaker, CircuitBreakerSnapshot, CircuitBreakerTotals, StateChangeEvent } from '../core/circuit-breaker.js';
import { TRANSITIONS_PER_BREAKER } from './circuit-breaker-dashboard.options.js';
import { SAMPLE_FIELDS } from './dashboard-events.js';
import type { DashboardBreakerView, DashboardHistory, DashboardSamplePoint, DashboardThresholds, DashboardTransition } from './dashboard-events.js';

const FIELDS = SAMPLE_FIELDS.length;

export class BreakerTrack {
  /** `capacity` samples of every field; NaN where this breaker has no sample (it did not exist yet). */
  private readonly history: Float32Array;
  private previous: { readonly totals: CircuitBreakerTotals; readonly at: number } | undefined;
  /** The last sample's reading, reused by the next view unless a transition came in between. */
  private reading: { readonly snapshot: CircuitBreakerSnapshot; readonly totals: CircuitBreakerTotals } | undefined;
  readonly transitions: DashboardTransition[] = [];
  /** The `breaker` event as written to the stream, and the hub sequence number of its last change. */
  eventText = '';
  seq = 0;
  /** Something may have changed since `eventText` was built. */
  dirty = true;
  view: DashboardBreakerView | undefined;

  constructor(
    readonly breaker: CircuitBreaker,
    capacity: number,
  ) {
    this.history = new Float32Array(capacity * FIELDS).fill(Number.NaN);
  }

  get name(): string {
    return this.breaker.name;
  }

  /** Reads the breaker into ring slot `slot`; calls per second come from the totals since the previous sample. */
  sample(slot: number, now: number): DashboardSamplePoint {
    const snapshot = this.breaker.snapshot();
    const totals = this.breaker.totals();
    const previous = this.previous;
    const seconds = previous === undefined ? 0 : (now - previous.at) / 1_000;
    const perSecond = (current: number, before: number | undefined): number | null =>
      seconds > 0 && before !== undefined ? round(Math.max(0, current - before) / seconds, 100) : null;
    const point: DashboardSamplePoint = [
      round(snapshot.failureRate, 10),
      round(snapshot.slowCallRate, 10),
      perSecond(totals.successfulCalls, previous?.totals.successfulCalls),
      perSecond(totals.failedCalls, previous?.totals.failedCalls),
      perSecond(totals.timeoutCalls, previous?.totals.timeoutCalls),
      perSecond(totals.notPermittedCalls, previous?.totals.notPermittedCalls),
      perSecond(totals.ignoredCalls, previous?.totals.ignoredCalls),
    ];
    const base = slot * FIELDS;
    for (let i = 0; i < FIELDS; i++) this.history[base + i] = point[i] ?? Number.NaN;
    this.previous = { totals, at: now };
    this.reading = { snapshot, totals };
    this.dirty = true;
    return point;
  }

  /** One array per field over `slots` (oldest first); `null` where there is no sample. */
  historyOver(slots: readonly number[]): DashboardHistory {
    const history = {} as DashboardHistory;
    SAMPLE_FIELDS.forEach((field, i) => {
      history[field] = slots.map((slot) => {
        const value = this.history[slot * FIELDS + i]!;
        return Number.isNaN(value) ? null : round(value, i < 2 ? 10 : 100);
      });
    });
    return history;
  }

  addTransition(event: StateChangeEvent, id: number): DashboardTransition {
    const snapshot = this.breaker.snapshot();
    const transition: DashboardTransition = {
      id,
      name: event.name,
      from: event.from,
      to: event.to,
      reason: event.reason,
      at: Math.round(event.at),
      failureRate: round(snapshot.failureRate, 100),
      slowCallRate: round(snapshot.slowCallRate, 100),
      calls: snapshot.calls,
    };
    this.transitions.push(transition);
    if (this.transitions.length > TRANSITIONS_PER_BREAKER) this.transitions.shift();
    this.reading = undefined;
    this.dirty = true;
    return transition;
  }

  /** Rebuilds the view; true when the event text changed. */
  refresh(): boolean {
    this.dirty = false;
    const reading = this.reading ?? { snapshot: this.breaker.snapshot(), totals: this.breaker.totals() };
    this.reading = undefined;
    const view = viewOf(reading.snapshot, reading.totals, thresholdsOf(this.breaker));
    const text = `event: breaker\ndata: ${JSON.stringify(view)}\n\n`;
    this.view = view;
    if (text === this.eventText) return false;
    this.eventText = text;
    return true;
  }
}

function viewOf(s: CircuitBreakerSnapshot, totals: CircuitBreakerTotals, thresholds: DashboardThresholds): DashboardBreakerView {
  return {
    name: s.name,
    state: s.state,
    failureRate: round(s.failureRate, 100),
    slowCallRate: round(s.slowCallRate, 100),
    calls: s.calls,
    failures: s.failures,
    slowCalls: s.slowCalls,
    consecutiveFailures: s.consecutiveFailures,
    notPermittedCalls: s.notPermittedCalls,
    ...(s.retryAfterMs !== undefined ? { retryAfterMs: s.retryAfterMs } : {}),
    ...(s.openedAt !== undefined ? { openedAt: Math.round(s.openedAt) } : {}),
    ...(s.halfOpenCallsInFlight !== undefined ? { halfOpenCallsInFlight: s.halfOpenCallsInFlight } : {}),
    ...(s.wouldTrip !== undefined ? { wouldTrip: s.wouldTrip } : {}),
    ...(s.store !== undefined ? { store: s.store, storeFallbacks: totals.storeFallbacks } : {}),
    openings: totals.openings,
    thresholds,
  };
}

function thresholdsOf(breaker: CircuitBreaker): DashboardThresholds {
  const o = breaker.options;
  return {
    failureRateThreshold: o.failureRateThreshold,
    ...(o.slowCallDurationMs !== undefined ? { slowCallRateThreshold: o.slowCallRateThreshold, slowCallDurationMs: o.slowCallDurationMs } : {}),
    minimumCalls: o.minimumCalls,
    minimumFailures: o.minimumFailures,
    ...(o.consecutiveFailureThreshold !== undefined ? { consecutiveFailureThreshold: o.consecutiveFailureThreshold } : {}),
    openDurationMs: o.openDurationMs,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    slidingWindow: o.slidingWindow,
  };
}

function round(value: number, scale: number): number {
  return Math.round(value * scale) / scale;
}
