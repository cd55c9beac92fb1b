/**
 * The nested-call exemption: a call through a breaker made while a call through the same breaker
 * is in progress in the same async context runs directly. "In progress" ends when the outer call
 * settles: work it scheduled for later (timers, listeners, intervals) inherits the async context
 * but not the exemption.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CircuitBreaker } from './core/circuit-breaker.js';

/** One decorated call in progress; `settled` once its outcome is known. */
export class ActiveCall {
  settled = false;
  /** Set when the breaker has a timeout: aborts when the call times out. */
  signal: AbortSignal | undefined = undefined;

  constructor(
    readonly breaker: CircuitBreaker,
    readonly parent: ActiveCall | undefined,
  ) {}
}

const activeCalls = new AsyncLocalStorage<ActiveCall>();

/** The innermost call of this async context that has not settled yet. */
function innermost(): ActiveCall | undefined {
  let call = activeCalls.getStore();
  while (call !== undefined && call.settled) call = call.parent;
  return call;
}

/** Whether a call through `breaker` is in progress in this async context. */
export function isNested(breaker: CircuitBreaker): boolean {
  for (let call = activeCalls.getStore(); call !== undefined; call = call.parent) {
    if (call.breaker === breaker && !call.settled) return true;
  }
  return false;
}

/**
 * A new call through `breaker`, child of the innermost unsettled one. Settled ancestors are left
 * out, so a chain of calls each scheduled by the previous one (a poller) does not grow a list.
 */
export function beginCall(breaker: CircuitBreaker): ActiveCall {
  return new ActiveCall(breaker, innermost());
}

/** Runs `fn(...args)` with `call` as the current call of its async context. */
export function runInCall<A extends unknown[], R>(call: ActiveCall, fn: (...args: A) => R, ...args: A): R {
  return activeCalls.run(call, fn, ...args);
}

/**
 * The AbortSignal of the @UseCircuitBreaker call in progress in this async context: pass it to
 * `fetch` or any abortable client so a timed-out call stops its work. Defined only while a
 * decorated method runs under a breaker that has a `timeoutMs`, and until that call settles.
 *
 * ```ts
 * @UseCircuitBreaker('payments')
 * async price(id: string) {
 *   const res = await fetch(`${base}/prices/${id}`, { signal: circuitBreakerSignal() });
 * }
 * ```
 */
export function circuitBreakerSignal(): AbortSignal | undefined {
  return innermost()?.signal;
}
