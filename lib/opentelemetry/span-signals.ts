/**
 * Trace signals: what a breaker call adds to the span active where it is called. No span is
 * created. Every function runs synchronously in the async context of the call it is about (call
 * and state-change events are delivered there, see CallEvent), so the active span is that call's.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import type { CircuitBreaker } from '../core/circuit-breaker.js';
import { CircuitBreakerTimeoutError, CircuitOpenError } from '../core/errors.js';
import type { CallEvent, StateChangeEvent, TransitionReason } from '../core/events.js';
import { CIRCUIT_BREAKER_ATTRIBUTES as A, CIRCUIT_BREAKER_SPAN_EVENTS as E } from './opentelemetry-names.js';

/** Transitions no call causes: they run from a timer or the store's channel, so no span is theirs. */
const WITHOUT_A_CALL: ReadonlySet<TransitionReason> = new Set<TransitionReason>(['health_check_passed', 'shared_state']);

/**
 * The name attributes of a breaker's span signals: `circuitbreaker.name` alone for a named breaker;
 * for a keyed breaker (`family:key`), the family's name and `circuitbreaker.key`, as on the metrics,
 * so one query finds a family's calls in both. A span holds its own attributes, so every key is
 * named (no `topKeys` bound as on metrics).
 */
export type SpanNames = (breakerName: string) => Attributes;

/** Without a registry there are no families: the breaker's name as it is. */
export const plainSpanNames: SpanNames = (breakerName) => ({ [A.name]: breakerName });

function recordingSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span !== undefined && span.isRecording() ? span : undefined;
}

/**
 * A call ended (or was refused): `circuitbreaker.name` (and `circuitbreaker.key` for a keyed
 * breaker) and `circuitbreaker.state` (the state that admitted or refused it) on the span, and an
 * event when it was refused or timed out.
 */
export function markCall(breaker: CircuitBreaker | undefined, event: CallEvent, namesOf: SpanNames = plainSpanNames): void {
  const span = recordingSpan();
  if (span === undefined) return;
  const names = namesOf(event.name);
  span.setAttributes(names);
  // The event comes before the call's outcome is applied, so the state is the one that admitted it;
  // a stale call was admitted under an earlier state, which is no longer known.
  const state = breaker === undefined || event.stale ? undefined : breaker.state;
  if (state !== undefined) span.setAttribute(A.state, state);
  if (event.kind === 'not_permitted') {
    const attributes: Attributes = { ...names };
    if (state !== undefined) attributes[A.state] = state;
    const retryAfterMs = event.error instanceof CircuitOpenError ? event.error.retryAfterMs : undefined;
    if (retryAfterMs !== undefined) attributes[A.retryAfterMs] = retryAfterMs;
    span.addEvent(E.rejected, attributes);
  } else if (event.kind === 'timeout') {
    const attributes: Attributes = { ...names };
    if (event.error instanceof CircuitBreakerTimeoutError) attributes[A.timeoutMs] = event.error.timeoutMs;
    span.addEvent(E.timeout, attributes);
  }
}

/** A transition, on the span of the call that caused it (listeners run inside that call). */
export function markTransition(event: StateChangeEvent, namesOf: SpanNames = plainSpanNames): void {
  if (WITHOUT_A_CALL.has(event.reason)) return;
  const span = recordingSpan();
  if (span === undefined) return;
  span.addEvent(E.transition, {
    ...namesOf(event.name),
    [A.transitionFrom]: event.from,
    [A.transitionTo]: event.to,
    [A.transitionReason]: event.reason,
  });
}

/** What the registry reports of a decorated call that failed (its failedCalls$ event). */
interface FailedCall {
  readonly error: unknown;
  /** The method's fallback answered the caller. */
  readonly fallback: boolean;
}

/**
 * A decorated call the circuit refused, or that timed out, and that no fallback answered: the call
 * failed, so its span's status is an error. Answered by a fallback, the span keeps its status.
 */
export function markFailedCall(event: FailedCall): void {
  if (event.fallback) return;
  const error = event.error;
  if (!(error instanceof CircuitOpenError) && !(error instanceof CircuitBreakerTimeoutError)) return;
  recordingSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
