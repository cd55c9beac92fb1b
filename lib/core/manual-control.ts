/**
 * Manual control: an operator (admin API, dashboard, code) puts a breaker in a manual state or
 * resets it. Each is a transition like any other, announced with the state as its reason; a reset
 * of a closed breaker is announced too (closed to closed), so that manual actions can be audited.
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import { announceTransition } from './observers.js';

/** The states only an operator enters. */
export type ManualState = 'forced_open' | 'disabled' | 'metrics_only';

/** Enters `state` unless the breaker is in it already. */
export function enterManual(breaker: CircuitBreaker, state: ManualState): void {
  if (breaker.current.name !== state) breaker.transition(state, state, breaker.now());
}

/** Back to closed with an empty window and no backoff history; always announced (`manual_reset`). */
export function resetBreaker(breaker: CircuitBreaker): void {
  if (breaker.current.name !== 'closed') {
    breaker.transition('closed', 'manual_reset', breaker.now());
    return;
  }
  breaker.restartClosed();
  announceTransition(breaker, 'closed', 'closed', 'manual_reset', breaker.now());
}
