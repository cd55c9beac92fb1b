/**
 * A breaker's state as a fleet stores it, and applying a state the fleet agreed on. Used by the
 * store link through CircuitBreaker.adoptShared / sharedView.
 */
import type { TransitionReason } from '../events.js';
import type { CircuitState } from '../states/index.js';
import { STATE_TABLE } from '../states/index.js';
import type { LocalSharedState, OpeningFacts, SharedState } from './store.js';

/** The breaker's fields this needs (CircuitBreaker; engine-internal members). */
export interface SharedViewHost {
  readonly state: CircuitState;
  openedAt: number;
  openUntil: number;
  openStreak: number;
  adopted: SharedState | null;
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

/** Applies a state the fleet agreed on. */
export function adoptSharedState(host: SharedViewHost, shared: SharedState): void {
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
  host.adopted = to === 'open' ? shared : null;
  // The opening's facts are the fleet's (the instance that opened it), not this instance's window.
  if (to === 'open' || to === 'forced_open') host.openFacts = shared.trip ?? null;
  try {
    host.transition(to, 'shared_state', host.now());
  } finally {
    host.adopted = null;
  }
}
