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
 * The permits the low-level API handed out and that have not ended, each with the permit its
 * outcome is recorded under. In a state whose calls all share one permit (closed, disabled,
 * metrics_only) each call gets a ticket of its own, recorded as the shared one; a half-open trial's
 * permit is already its own. Ending a permit takes it out, so a permit ended twice (also across a
 * transition, when it is stale) or a number never issued is ignored, as the permit API promises.
 * Made on the first acquirePermission(). Bounded: past MAX_LIVE permits never ended, the oldest
 * are forgotten (ending one later is then ignored).
 */
export class PermitTickets {
  private next = 0;
  private base = -1;
  private readonly live = new Map<number, number>();

  /** A permit for the low-level API, for `permit` as the state issued it (`base`: the shared one). */
  issue(permit: number, base: number): number {
    let issued = permit;
    if (permit === base) {
      if (base !== this.base) {
        this.base = base;
        this.next = 0;
      }
      this.next = (this.next % (PERMIT_SPAN - 1)) + 1;
      issued = base + this.next;
    }
    this.live.set(issued, permit);
    if (this.live.size > MAX_LIVE) this.live.delete(this.live.keys().next().value!);
    return issued;
  }

  /** The permit `issued` is recorded under, ending it; NOT_PERMITTED when it is not live. */
  end(issued: number): number {
    const permit = this.live.get(issued);
    if (permit === undefined) return NOT_PERMITTED;
    this.live.delete(issued);
    return permit;
  }
}

/** Low-level permits kept live at most (a caller that never ends its permits must not grow memory without bound). */
const MAX_LIVE = 65_536;

/**
 * The permit a low-level API call (`recordSuccess(permit)`, ...) ends, or NOT_PERMITTED (ignore it)
 * when it is not a live permit of this breaker: never issued, or already ended. A value that is not
 * a safe integer >= 0 is a TypeError.
 */
export function endPermit(breaker: CircuitBreaker, permit: number, method: string): number {
  if (!Number.isSafeInteger(permit) || permit < 0) {
    throw new TypeError(`Circuit breaker "${breaker.name}": ${method}() expects a permit from acquirePermission(), got ${describeValue(permit)}`);
  }
  return breaker.tickets === null ? NOT_PERMITTED : breaker.tickets.end(permit);
}
