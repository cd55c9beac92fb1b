/**
 * Who watches a breaker, and what watching costs it: state-change listeners (told of every
 * transition, after the store link), call listeners (which take recordResult off its quiet path)
 * and timed observers (which take execute off its clockless fast path). Subscribing or leaving
 * re-settles the breaker's paths; nothing here runs per call.
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import type { CallListener, StateChangeEvent, TransitionReason } from './events.js';
import type { CircuitState } from './states/index.js';

/** Tells the store link (unless the fleet told us) and the state-change listeners. */
export function announceTransition(breaker: CircuitBreaker, from: CircuitState, to: CircuitState, reason: TransitionReason, nowMs: number): void {
  if (breaker.link !== null && reason !== 'shared_state') breaker.link.transitioned(reason);
  const listeners = breaker.stateListeners;
  if (listeners.empty) return;
  const name = breaker.name;
  const event: StateChangeEvent = { name, from, to, at: nowMs, reason };
  listeners.emit(event, (error) => breaker.onInternalError(error, `onStateChange listener of circuit breaker "${name}"`));
}

/** Adds a call listener; the function returned removes it. */
export function watchCalls(breaker: CircuitBreaker, listener: CallListener): () => void {
  const off = breaker.callListeners.add(listener);
  breaker.settle();
  return () => {
    off();
    breaker.settle();
  };
}

/**
 * Makes every call read the breaker's clock at its start, so that each call event carries its
 * `durationMs` (a recorder needs every call's start and duration; so do shadows judging durations).
 * It takes calls off execute's clockless fast path, so it is on only while someone needs it: call
 * the returned function to stop (once; further calls do nothing).
 */
export function timeCalls(breaker: CircuitBreaker): () => void {
  breaker.timedObservers++;
  breaker.settle();
  let on = true;
  return () => {
    if (!on) return;
    on = false;
    breaker.timedObservers--;
    breaker.settle();
  };
}
