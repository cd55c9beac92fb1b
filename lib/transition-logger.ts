/**
 * The module's log line for each transition of a breaker. A trip gives the rates that caused it; a
 * manual transition gives no rates (they say nothing about it: "failure rate 0% over 0 calls" on a
 * force-open misleads whoever reads the log) but which call made it and from where: the admin API
 * (which runs its actions through {@link TransitionLogger.by}) or code.
 */
import type { LoggerService } from '@nestjs/common';
import type { CircuitBreaker } from './core/circuit-breaker.js';
import type { StateChangeEvent, TransitionReason } from './core/events.js';
import { STATE_TABLE } from './core/states/index.js';

/** For each manual reason: the call that makes it and what it means until the next one. */
const MANUAL: Partial<Record<TransitionReason, { call: string; meaning: string }>> = {
  forced_open: { call: 'forceOpen()', meaning: 'every call is refused until reset()' },
  disabled: { call: 'disable()', meaning: 'every call is admitted and none is recorded until reset()' },
  metrics_only: { call: 'metricsOnly()', meaning: 'calls are recorded, none is refused, until reset()' },
  manual_reset: { call: 'reset()', meaning: 'the window is cleared' },
};

export class TransitionLogger {
  /** Who is operating breakers by hand right now; set only for the synchronous span of an action. */
  private actor: string | undefined;

  constructor(private readonly logger: LoggerService) {}

  /**
   * Runs a manual action so that the transitions it causes are logged as made by `actor` (e.g.
   * `over the admin API`). State-change listeners run synchronously, inside `action`.
   */
  by<T>(actor: string, action: () => T): T {
    const previous = this.actor;
    this.actor = actor;
    try {
      return action();
    } finally {
      this.actor = previous;
    }
  }

  log(breaker: CircuitBreaker, event: StateChangeEvent): void {
    const manual = MANUAL[event.reason];
    if (manual !== undefined) {
      const line = `Circuit breaker "${event.name}" ${event.from} -> ${event.to} by hand (${manual.call}, ${this.actor ?? 'in code'}): ${manual.meaning}`;
      if (STATE_TABLE[event.to].admits === 'none') this.logger.warn(line);
      else this.logger.log(line);
      return;
    }
    const prefix = `Circuit breaker "${event.name}" ${event.from} -> ${event.to} (${event.reason})`;
    const refuses = STATE_TABLE[event.to].admits === 'none';
    // The window that opened it: this instance's, the fleet's (a fleet-window trip), or, for an
    // opening adopted from a peer, the peer's facts (this instance's own window says nothing).
    const facts = breaker.openFacts;
    if (event.reason === 'shared_state') {
      const retry = refuses ? retryOf(breaker) : '';
      const why =
        facts === null || event.to !== 'open'
          ? 'set by another instance through the store'
          : `opened by another instance (${facts.reason}): failure rate ${round(facts.failureRate)}%, slow-call rate ${round(facts.slowCallRate)}% over ${facts.calls} calls`;
      if (refuses) this.logger.warn(`${prefix}: ${why}${retry}`);
      else this.logger.log(`${prefix}: ${why}`);
      return;
    }
    if (refuses) {
      const s = breaker.snapshot();
      const rates = facts ?? { failureRate: s.failureRate, slowCallRate: s.slowCallRate, calls: s.calls };
      const fleet = facts !== null && facts.calls !== s.calls ? " in the fleet's window" : '';
      this.logger.warn(`${prefix}: failure rate ${round(rates.failureRate)}%, slow-call rate ${round(rates.slowCallRate)}% over ${rates.calls} calls${fleet}${retryOf(breaker)}`);
    } else {
      this.logger.log(prefix);
    }
  }
}

function retryOf(breaker: CircuitBreaker): string {
  const retryAfterMs = breaker.snapshot().retryAfterMs;
  return retryAfterMs === undefined ? '' : `; next trial in ${retryAfterMs} ms`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
