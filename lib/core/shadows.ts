/**
 * Shadow configurations, live (the `shadows` option): each shadow is a hidden engine breaker on
 * the enforced breaker's clock, fed the enforced breaker's calls through the low-level permit API
 * the way a replay drives its candidates. A call the enforced breaker completed asks each shadow
 * for a permit: refused, it is a would-be rejection; granted, the call's outcome is recorded there.
 * A call the enforced breaker rejected has no outcome: a shadow that would have refused it too
 * counts a would-be rejection, one that would have admitted it records nothing.
 *
 * Nothing here ever rejects or delays a call. The enforced breaker pays nothing without shadows:
 * they listen to its call events, which cost nothing while nobody listens.
 */
import { CircuitBreaker } from './circuit-breaker.js';
import type { CallEvent } from './events.js';
import { timeCalls } from './observers.js';
import type { CircuitBreakerOptions, ShadowSettings } from './options.js';
import { shadowBreakerOptions } from './shadow-options.js';
import type { CircuitState } from './states/index.js';
import type { Outcome } from './states/state.js';
import { FAILED, IGNORED, NOT_PERMITTED, SUCCESS, TIMED_OUT } from './states/state.js';

/** One shadow configuration's would-be picture (`snapshot().shadows[name]`). */
export interface ShadowSnapshot {
  /** The state the circuit would be in under this configuration. */
  readonly state: CircuitState;
  /** Calls in the shadow's window (ignored calls excluded). */
  readonly calls: number;
  readonly failures: number;
  /** Percent of `calls`; 0 with an empty window. */
  readonly failureRate: number;
  /** Percent of `calls`; 0 with an empty window. */
  readonly slowCallRate: number;
  /** How often this configuration would have opened the circuit (re-openings from half_open included). */
  readonly wouldTrips: number;
  /** Calls this configuration would have rejected. */
  readonly wouldReject: number;
  /** open: time until the shadow would admit a trial. */
  readonly retryAfterMs?: number;
  /** When the shadow's current would-be opening began. */
  readonly openedAt?: number;
}

const OUTCOME_OF: Readonly<Record<CallEvent['kind'], Outcome | typeof NOT_PERMITTED>> = {
  success: SUCCESS,
  failure: FAILED,
  ignored: IGNORED,
  timeout: TIMED_OUT,
  not_permitted: NOT_PERMITTED,
};

interface Shadow {
  readonly name: string;
  readonly breaker: CircuitBreaker;
  /** The shadow's own timeoutMs, when it has one: a call that ran that long times out there. */
  readonly timeoutMs: number | undefined;
}

export class ShadowSet {
  private readonly shadows: Shadow[] = [];
  private readonly stopListening: () => void;
  private readonly stopTiming: (() => void) | undefined;
  /** Some shadow judges durations (slow calls, a timeout): calls then carry their start. */
  private readonly timed: boolean;

  constructor(
    private readonly host: CircuitBreaker,
    given: CircuitBreakerOptions,
    settings: Readonly<Record<string, Readonly<ShadowSettings>>>,
  ) {
    let timed = false;
    for (const [name, shadow] of Object.entries(settings)) {
      const breaker = new CircuitBreaker({ ...shadowBreakerOptions(given, shadow), name: host.name });
      breaker.onInternalError = (error, where) => host.onInternalError(error, `${where} (shadow "${name}")`);
      const opts = breaker.options;
      if (opts.slowCallDurationMs !== undefined || opts.timeoutMs !== undefined) timed = true;
      this.shadows.push({ name, breaker, timeoutMs: opts.timeoutMs });
    }
    this.timed = timed;
    this.stopTiming = timed ? timeCalls(host) : undefined;
    this.stopListening = host.onCall((event) => this.observe(event));
  }

  /** Each shadow's would-be picture, by name. */
  snapshot(): Readonly<Record<string, ShadowSnapshot>> {
    const result: Record<string, ShadowSnapshot> = {};
    for (const { name, breaker } of this.shadows) {
      const s = breaker.snapshot();
      const totals = breaker.totals();
      const entry: ShadowSnapshot = {
        state: s.state,
        calls: s.calls,
        failures: s.failures,
        failureRate: s.failureRate,
        slowCallRate: s.slowCallRate,
        wouldTrips: totals.openings,
        wouldReject: totals.notPermittedCalls,
      };
      result[name] = s.retryAfterMs === undefined && s.openedAt === undefined ? entry : { ...entry, retryAfterMs: s.retryAfterMs, openedAt: s.openedAt };
    }
    return result;
  }

  dispose(): void {
    this.stopListening();
    this.stopTiming?.();
    for (const { breaker } of this.shadows) breaker.dispose();
  }

  private observe(event: CallEvent): void {
    const outcome = OUTCOME_OF[event.kind];
    const durationMs = event.durationMs;
    let now = Number.NaN;
    let startedAt = Number.NaN;
    if (this.timed && durationMs !== undefined && outcome !== NOT_PERMITTED) {
      now = this.host.now();
      startedAt = now - durationMs;
    }
    for (const shadow of this.shadows) {
      const breaker = shadow.breaker;
      const permit = breaker.acquire();
      if (permit === NOT_PERMITTED) {
        breaker.rejection(); // counted as a would-be rejection
      } else if (outcome === NOT_PERMITTED) {
        breaker.complete(permit, IGNORED, Number.NaN, undefined); // admitted here, but the call never ran: no outcome to record
      } else {
        const timedOut = outcome !== IGNORED && shadow.timeoutMs !== undefined && durationMs !== undefined && durationMs >= shadow.timeoutMs;
        breaker.complete(permit, timedOut ? TIMED_OUT : outcome, startedAt, event.error, now);
      }
    }
  }
}
