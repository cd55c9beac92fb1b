/**
 * half_open: at most `halfOpenMaxCalls` trial calls run at once; others are rejected like open.
 * Any failed (or, with slow-call tracking, slow) trial re-opens; that many successes close the
 * circuit and clear the window. A trial still unsettled after `halfOpenProbeTimeoutMs` counts as
 * failed: a timer checks, and so does the next admission at the latest.
 */
import { cancelTimer, scheduleTimer } from '../clock.js';
import { CircuitBreakerTimeoutError } from '../errors.js';
import type { StateHost } from './state.js';
import { FAILED, IGNORED, NOT_PERMITTED, PERMIT_SPAN, SUCCESS, TIMED_OUT, ceilMs, defineState, timeOf } from './state.js';

/**
 * The trials of one half-open period (created on entry). Each admission gets its own permit (the
 * period's base plus a ticket), so a permit that ended cannot end the trial that reuses its slot.
 */
export class Trials {
  /** Start time per slot; NaN = free. */
  readonly startedAt: number[];
  /** The permit each busy slot was issued. */
  private readonly permits: number[];
  inFlight = 0;
  successes = 0;
  private tickets = 0;
  private timer: unknown = undefined;

  constructor(
    private readonly host: StateHost,
    /** Trials admitted at once, and successes needed to close. */
    public limit: number,
  ) {
    this.startedAt = new Array<number>(limit).fill(Number.NaN);
    this.permits = new Array<number>(limit).fill(-1);
  }

  /**
   * A new `halfOpenMaxCalls` during the period: trials in flight keep their slots (a lower limit
   * admits nothing until they drop below it), and closing takes the new number of successes.
   */
  resize(limit: number): void {
    this.limit = limit;
    while (this.startedAt.length < limit) {
      this.startedAt.push(Number.NaN);
      this.permits.push(-1);
    }
  }

  /** A free slot, or -1. */
  freeSlot(): number {
    if (this.inFlight >= this.limit) return -1;
    const slots = this.startedAt;
    for (let slot = 0; slot < slots.length; slot++) if (slots[slot] !== slots[slot]) return slot;
    return -1;
  }

  /** Starts a trial in `slot`; returns its permit. */
  start(slot: number, nowMs: number): number {
    this.startedAt[slot] = nowMs;
    const permit = this.host.permitBase + 1 + (this.tickets++ % (PERMIT_SPAN - 1));
    this.permits[slot] = permit;
    if (this.inFlight++ === 0) this.armProbeTimer(nowMs);
    return permit;
  }

  /** The slot of a trial still running under `permit`, or -1. */
  slotOf(permit: number): number {
    return this.permits.indexOf(permit);
  }

  /** Ends the trial of `permit`; returns its slot, or -1 if it holds none (ended already, or never issued). */
  end(permit: number): number {
    const slot = this.slotOf(permit);
    if (slot === -1) return -1;
    this.startedAt[slot] = Number.NaN;
    this.permits[slot] = -1;
    this.inFlight--;
    return slot;
  }

  oldestStart(): number {
    let oldest = Number.POSITIVE_INFINITY;
    const slots = this.startedAt;
    for (let i = 0; i < slots.length; i++) if (slots[i]! < oldest) oldest = slots[i]!;
    return oldest;
  }

  /** A trial unsettled after the probe timeout fails: re-opens. Returns true if it did. */
  expire(nowMs: number): boolean {
    const host = this.host;
    const probeTimeoutMs = host.opts.halfOpenProbeTimeoutMs;
    if (this.inFlight === 0 || nowMs - this.oldestStart() < probeTimeoutMs) return false;
    host.transition('open', 'probe_timeout', nowMs, new CircuitBreakerTimeoutError(host.name, probeTimeoutMs, 'halfOpenProbeTimeoutMs'));
    return true;
  }

  stop(): void {
    if (this.timer !== undefined) cancelTimer(this.host.opts.clock, this.timer);
    this.timer = undefined;
  }

  private armProbeTimer(nowMs: number): void {
    const host = this.host;
    if (host.disposed) return;
    this.stop();
    const due = this.oldestStart() + host.opts.halfOpenProbeTimeoutMs;
    this.timer = scheduleTimer(host.opts.clock, this.onProbeTimer, Math.max(0, due - nowMs));
  }

  private readonly onProbeTimer = (): void => {
    this.timer = undefined;
    if (this.host.trials !== this || this.inFlight === 0) return;
    const now = this.host.now();
    if (!this.expire(now)) this.armProbeTimer(now);
  };
}

export const halfOpen = defineState({
  name: 'half_open',
  holds: (host, permit) => host.trials!.slotOf(permit) !== -1,
  acquire(host) {
    const now = host.now();
    const trials = host.trials!;
    if (trials.expire(now)) return host.acquire();
    const slot = trials.freeSlot();
    if (slot === -1) {
      host.rejectRetryAfterMs = ceilMs(trials.oldestStart() + host.opts.halfOpenProbeTimeoutMs - now);
      return NOT_PERMITTED;
    }
    // Shared: a trial also needs one of the fleet's permits (claimed ahead, never awaited here).
    const link = host.link;
    if (link !== null && link.active && !link.takeGrant(slot, now)) {
      host.rejectRetryAfterMs = link.retryAfterMs(now);
      return NOT_PERMITTED;
    }
    return trials.start(slot, now);
  },
  record(host, permit, outcome, slow, nowMs, cause) {
    const trials = host.trials!;
    const slot = trials.end(permit);
    if (slot === -1) return;
    const link = host.link;
    if (link !== null) {
      if (outcome === SUCCESS && !slow) link.trialSucceeded(slot);
      else link.trialEnded(slot, outcome === IGNORED);
    }
    if (outcome === IGNORED) return; // the permit goes back; the trial did not count
    if (outcome === FAILED || outcome === TIMED_OUT) host.transition('open', 'trial_failed', timeOf(host, nowMs), cause);
    else if (slow) host.transition('open', 'trial_slow', timeOf(host, nowMs));
    else if (++trials.successes >= trials.limit) host.transition('closed', 'trials_succeeded', timeOf(host, nowMs));
  },
  enter(host) {
    host.trials = new Trials(host, host.opts.halfOpenMaxCalls);
  },
  leave(host) {
    host.trials?.stop();
    host.trials = null;
  },
  describe(host, nowMs) {
    const trials = host.trials!;
    const full = trials.inFlight >= trials.limit;
    return {
      openedAt: host.openedAt,
      halfOpenCallsInFlight: trials.inFlight,
      ...(full ? { retryAfterMs: ceilMs(trials.oldestStart() + host.opts.halfOpenProbeTimeoutMs - nowMs) } : {}),
    };
  },
});
