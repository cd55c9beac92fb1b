/** What a breaker reports about itself: its current picture (snapshot) and its lifetime counters (totals). */
import type { CircuitState } from './states/index.js';

export interface CircuitBreakerSnapshot {
  readonly name: string;
  readonly state: CircuitState;
  /** Calls in the window (ignored calls excluded). */
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Percent of `calls`; 0 with an empty window. */
  readonly failureRate: number;
  /** Percent of `calls`; 0 with an empty window. */
  readonly slowCallRate: number;
  readonly consecutiveFailures: number;
  /** Calls rejected since the breaker was created. */
  readonly notPermittedCalls: number;
  /** open: time left; half_open with every slot taken: until the oldest trial's probe timeout. */
  readonly retryAfterMs?: number;
  /** When the current opening began (open, half_open, forced_open). */
  readonly openedAt?: number;
  /** half_open only. */
  readonly halfOpenCallsInFlight?: number;
  /** metrics_only only: a trip rule holds right now. */
  readonly wouldTrip?: boolean;
  /**
   * Breakers with a `store` only: `shared` while the store answers, `local_fallback` while it does
   * not (the breaker then acts on its own state alone).
   */
  readonly store?: 'shared' | 'local_fallback';
}

/** Cumulative counters since creation (never reset: they back Prometheus counters). */
export interface CircuitBreakerTotals {
  readonly successfulCalls: number;
  readonly failedCalls: number;
  readonly ignoredCalls: number;
  readonly notPermittedCalls: number;
  readonly timeoutCalls: number;
  readonly slowCalls: number;
  readonly openings: number;
  /** metrics_only: how often a trip rule started to hold. */
  readonly wouldTrips: number;
  /** Breakers with a `store`: how often the store failed and the breaker fell back to local state. */
  readonly storeFallbacks: number;
}

