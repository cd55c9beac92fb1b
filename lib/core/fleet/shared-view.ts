/**
 * A breaker's state as a fleet stores it, and applying what the fleet says: a state it agreed on, or
 * a trip on its window. Used by the breaker's store link (store-link.ts), which holds what is being
 * applied (`adopted`, `fleetCounts`) while the transition runs.
 */
import type { CircuitBreaker } from '../circuit-breaker.js';
import type { TransitionReason } from '../events.js';
import type { CircuitState } from '../states/index.js';
import { STATE_TABLE } from '../states/index.js';
import { tripReason } from '../trip-rules.js';
import type { LocalSharedState, OpeningFacts, SharedState, WindowCounts } from './store.js';

/** The breaker's fields this needs (CircuitBreaker; engine-internal members). */
export interface SharedViewHost {
  readonly state: CircuitState;
  openedAt: number;
  openUntil: number;
  openStreak: number;
  openFacts: OpeningFacts | null;
  now(): number;
  transition(to: CircuitState, reason: TransitionReason, nowMs: number): void;
  restartClosed(): void;
}

/** The local state as the fleet stores it (half_open is an open circuit whose trials have begun). */
export function sharedViewOf(host: SharedViewHost): LocalSharedState {
  const row = STATE_TABLE[host.state];
  const view = { state: row.storedAs, openedAt: host.openedAt, openUntil: row.storedAs === 'open' ? host.openUntil : 0, openStreak: host.openStreak };
  const facts = host.openFacts;
  return facts !== null && (row.storedAs === 'open' || row.storedAs === 'forced_open') ? { ...view, trip: facts } : view;
}

/** What the fleet is applying to a breaker right now (its StoreLink's fields; open's `enter` and openingFactsOf read them). */
export interface FleetApplying {
  adopted: SharedState | null;
  fleetCounts: WindowCounts | null;
}

/** Applies a state the fleet agreed on. */
export function adoptSharedState(host: SharedViewHost, fleet: FleetApplying, shared: SharedState): void {
  const to = shared.state;
  if (!Object.hasOwn(STATE_TABLE, to) || STATE_TABLE[to].storedAs !== to) return;
  const here = host.state;
  if (to === 'open' && (here === 'open' || (here === 'half_open' && host.openedAt === shared.openedAt))) {
    // Already open here (two instances tripped at once, or our own opening confirmed): one
    // opening, not two. Take the fleet's times without a transition.
    host.openedAt = shared.openedAt;
    host.openUntil = shared.openUntil;
    host.openStreak = shared.openStreak;
    if (shared.trip !== undefined && here === 'open' && host.openFacts === null) host.openFacts = shared.trip;
    return;
  }
  if (to === here) {
    // A newer closed state while closed: a peer's reset (the fleet's window was cleared too).
    if (to === 'closed') host.restartClosed();
    return;
  }
  fleet.adopted = to === 'open' ? shared : null;
  // The opening's facts are the fleet's (the instance that opened it), not this instance's window.
  if (to === 'open' || to === 'forced_open') host.openFacts = shared.trip ?? null;
  try {
    host.transition(to, 'shared_state', host.now());
  } finally {
    fleet.adopted = null;
  }
}

/** Trips a closed breaker when a rate rule holds on the fleet's window. */
export function judgeFleetWindow(breaker: CircuitBreaker, fleet: FleetApplying, counts: WindowCounts): void {
  if (breaker.current.name !== 'closed') return;
  const reason = tripReason(breaker.rules, counts, 0, breaker.opts, true);
  if (reason === null) return;
  fleet.fleetCounts = counts; // the opening's facts are the fleet's window, not this instance's
  try {
    breaker.transition('open', reason, breaker.now());
  } finally {
    fleet.fleetCounts = null;
  }
}

/** The window an opening was judged on: this instance's, or the fleet's for a fleet-window trip. */
export function openingFactsOf(breaker: CircuitBreaker, reason: TransitionReason): OpeningFacts {
  const fleet = breaker.link === null ? null : breaker.link.fleetCounts;
  const window = breaker.window;
  const calls = fleet !== null ? fleet.calls : window.calls;
  const failures = fleet !== null ? fleet.failures : window.failures;
  const slowCalls = fleet !== null ? fleet.slowCalls : window.slowCalls;
  return {
    reason,
    calls,
    failureRate: calls === 0 ? 0 : Math.min(100, (failures * 100) / calls),
    slowCallRate: calls === 0 ? 0 : Math.min(100, (slowCalls * 100) / calls),
  };
}
