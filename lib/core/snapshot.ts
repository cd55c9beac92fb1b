/** What a breaker reports about itself: its current picture (snapshot) and its lifetime counters (totals). */
import type { StoreLink } from './fleet/store-link.js';
import type { ShadowSet, ShadowSnapshot } from './shadows.js';
import type { CircuitState } from './states/index.js';
import type { StateBehaviour } from './states/state.js';
import type { StateHost } from './states/state.js';
import type { SlidingWindow } from './windows/sliding-window.js';

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
   * not (the breaker then acts on its own state alone), `unreadable` while the store answers but
   * holds data for this breaker that cannot be read (peers' transitions cannot reach it; the next
   * transition overwrites the data).
   */
  readonly store?: 'shared' | 'local_fallback' | 'unreadable';
  /** Breakers with a store whose fleet options record is in force: its version (see docs/fleet.md). */
  readonly fleetOptionsVersion?: number;
  /** Breakers with `shadows` only: each shadow configuration's would-be state, trips and rejections. */
  readonly shadows?: Readonly<Record<string, ShadowSnapshot>>;
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


/** The cumulative counters a breaker keeps (the hot path increments them). */
export class CallTotals {
  successfulCalls = 0;
  failedCalls = 0;
  ignoredCalls = 0;
  notPermittedCalls = 0;
  timeoutCalls = 0;
  slowCalls = 0;

  report(openings: number, wouldTrips: number, link: StoreLink | null): CircuitBreakerTotals {
    return {
      successfulCalls: this.successfulCalls,
      failedCalls: this.failedCalls,
      ignoredCalls: this.ignoredCalls,
      notPermittedCalls: this.notPermittedCalls,
      timeoutCalls: this.timeoutCalls,
      slowCalls: this.slowCalls,
      openings,
      wouldTrips,
      storeFallbacks: link === null ? 0 : link.fallbacks,
    };
  }
}

/** What snapshotOf reads of its breaker (CircuitBreaker; engine-internal members). */
export interface SnapshotSource extends StateHost {
  readonly current: StateBehaviour;
  readonly window: SlidingWindow;
  readonly totalsSoFar: CallTotals;
  readonly shadowSet: ShadowSet | null;
}

export function snapshotOf(breaker: SnapshotSource): CircuitBreakerSnapshot {
  const window = breaker.window;
  window.advance(breaker.windowNow());
  const calls = window.calls;
  const snapshot: CircuitBreakerSnapshot = {
    name: breaker.name,
    state: breaker.current.name,
    calls,
    failures: window.failures,
    slowCalls: window.slowCalls,
    failureRate: calls === 0 ? 0 : (window.failures * 100) / calls,
    slowCallRate: calls === 0 ? 0 : (window.slowCalls * 100) / calls,
    consecutiveFailures: breaker.consecutiveFailures,
    notPermittedCalls: breaker.totalsSoFar.notPermittedCalls,
    ...breaker.current.describe(breaker, breaker.now()),
  };
  const link = breaker.link;
  const store = link === null ? undefined : !link.active ? 'local_fallback' : link.unreadable ? 'unreadable' : 'shared';
  const fleet = link === null ? null : link.fleetOptions;
  const withStore: CircuitBreakerSnapshot =
    store === undefined ? snapshot : fleet === null ? { ...snapshot, store } : { ...snapshot, store, fleetOptionsVersion: fleet.version };
  return breaker.shadowSet === null ? withStore : { ...withStore, shadows: breaker.shadowSet.snapshot() };
}
