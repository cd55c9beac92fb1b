/**
 * The fleet-wide half-open permits one instance holds. A trial needs a local slot and one of the
 * fleet's permits; permits are claimed from the store ahead of time (never awaited on a call's path)
 * and kept here until a trial takes one. Any change of state voids them: the store frees every
 * permit of an opening when a newer version is written.
 */

/** A fleet permit this instance holds: usable for a trial until `usableUntilMs`. */
export interface Grant {
  readonly token: string;
  readonly usableUntilMs: number;
}

export class TrialPermits {
  /** A claim is in flight: one at a time. */
  claiming = false;
  /** The store refused a claim: when a permit may be free again. */
  private retryAtMs = 0;
  private readonly unused: Grant[] = [];
  private readonly bySlot: (Grant | undefined)[] = [];

  /** Gives `slot` an unused, still usable permit; false when there is none. */
  take(slot: number, nowMs: number): boolean {
    while (this.unused.length > 0) {
      const grant = this.unused.pop()!;
      if (grant.usableUntilMs > nowMs) {
        this.bySlot[slot] = grant;
        return true;
      }
    }
    return false;
  }

  /** Whether a claim may be sent now (none in flight, and the store's retry time has passed). */
  mayClaim(nowMs: number): boolean {
    return !this.claiming && nowMs >= this.retryAtMs;
  }

  granted(grant: Grant): void {
    this.unused.push(grant);
  }

  refused(retryAtMs: unknown): void {
    if (typeof retryAtMs === 'number') this.retryAtMs = retryAtMs;
  }

  /** The permit the trial in `slot` used (released from the slot). */
  release(slot: number): Grant | undefined {
    const grant = this.bySlot[slot];
    this.bySlot[slot] = undefined;
    return grant;
  }

  /** ms until a permit may be granted. */
  retryAfterMs(nowMs: number): number {
    return this.retryAtMs > nowMs ? Math.ceil(this.retryAtMs - nowMs) : 0;
  }

  /** Every permit held is void (a newer version, an outage, a local transition). */
  drop(): void {
    this.unused.length = 0;
    this.bySlot.length = 0;
    this.claiming = false;
    this.retryAtMs = 0;
  }
}
