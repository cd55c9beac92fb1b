/**
 * Recording one call's outcome: whether its permit is live or stale, its duration and slowness
 * (a clock read only when slow calls are judged or someone listens), the totals, the call event,
 * and the state that issued the permit. execute's closed fast path and recordResult's quiet closed
 * success never come here (circuit-breaker.ts).
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import { describeValue } from './errors.js';
import type { CallEvent, CallEventKind } from './events.js';
import type { Outcome } from './states/state.js';
import { FAILED, IGNORED, NOT_PERMITTED, PERMIT_SPAN, SUCCESS } from './states/state.js';

const OUTCOME_KINDS: readonly CallEventKind[] = ['success', 'failure', 'ignored', 'timeout'];

export function completeCall(
  breaker: CircuitBreaker,
  permit: number,
  outcome: Outcome,
  startedAt: number,
  error: unknown,
  nowMs: number,
  result: unknown,
): void {
  const state = breaker.current;
  const base = breaker.permitBase;
  if (!state.records && permit === base) return; // disabled records nothing
  // Not live: never issued (a later generation, a slot nobody holds) or already ended. Ignored
  // entirely: it must not end a real call's slot, nor count.
  if (permit >= base + PERMIT_SPAN || (permit > base && !state.holds(breaker, permit))) return;
  const stale = permit < base;
  const opts = breaker.opts;
  const slowMs = opts.slowCallDurationMs;
  const listening = !breaker.callListeners.empty;
  // A call whose start is known (slow-call tracking, a timeout) has a duration: read the clock
  // for it when slow calls are judged or someone listens, never otherwise.
  const timed = startedAt === startedAt;
  let now = nowMs;
  if (timed && now !== now && ((slowMs !== undefined && outcome !== IGNORED) || listening)) now = opts.clock.now();
  const slow = timed && slowMs !== undefined && outcome !== IGNORED && now - startedAt >= slowMs;
  const totals = breaker.totalsSoFar;
  if (outcome === SUCCESS) totals.successfulCalls++;
  else if (outcome === FAILED) totals.failedCalls++;
  else if (outcome === IGNORED) totals.ignoredCalls++;
  else totals.timeoutCalls++;
  if (slow) totals.slowCalls++;
  if (listening) emitCallEvent(breaker, OUTCOME_KINDS[outcome]!, slow, timed ? now - startedAt : undefined, error, stale);
  if (stale) return;
  state.record(breaker, permit, outcome, slow, now, outcome === FAILED && error === undefined ? result : error);
}

/** Builds and delivers a call event (only called while someone listens). */
export function emitCallEvent(
  breaker: CircuitBreaker,
  kind: CallEventKind,
  slow: boolean,
  durationMs: number | undefined,
  error: unknown,
  stale: boolean,
): void {
  const event: CallEvent = { name: breaker.name, kind, slow, durationMs, error, stale };
  breaker.callListeners.emit(event, (listenerError) => breaker.onInternalError(listenerError, `onCall listener of circuit breaker "${breaker.name}"`));
}

/**
 * The low-level API's permits in a state whose calls all share one permit (closed, disabled,
 * metrics_only): each call gets a ticket of its own, so that ending it twice, or ending a number
 * never issued, is ignored as the permit API promises. Made on the first acquirePermission(); a
 * new generation (a transition) starts a new set (the old tickets are stale: totals only).
 */
export class PermitTickets {
  private base = -1;
  private next = 0;
  private readonly live = new Set<number>();

  issue(base: number): number {
    if (base !== this.base) this.restart(base);
    this.next = (this.next % (PERMIT_SPAN - 1)) + 1;
    const ticket = base + this.next;
    this.live.add(ticket);
    return ticket;
  }

  /** Whether `permit` is a live ticket of generation `base` (it is then ended). */
  end(permit: number, base: number): boolean {
    if (base !== this.base) this.restart(base);
    return this.live.delete(permit);
  }

  private restart(base: number): void {
    this.base = base;
    this.next = 0;
    this.live.clear();
  }
}

/**
 * The permit a low-level API call (`recordSuccess(permit)`, ...) ends: a live ticket ends as its
 * state's shared permit; the shared permit itself was never handed to the low-level API, so it is
 * ignored (NOT_PERMITTED); anything else (a half-open trial's own permit, a stale one) as given.
 * A value that is not a safe integer >= 0 is a TypeError.
 */
export function endPermit(breaker: CircuitBreaker, permit: number, method: string): number {
  if (!Number.isSafeInteger(permit) || permit < 0) {
    throw new TypeError(`Circuit breaker "${breaker.name}": ${method}() expects a permit from acquirePermission(), got ${describeValue(permit)}`);
  }
  const base = breaker.permitBase;
  if (permit === base) return NOT_PERMITTED;
  const tickets = breaker.tickets;
  if (tickets !== null && permit > base && permit < base + PERMIT_SPAN && tickets.end(permit, base)) return base;
  return permit;
}
