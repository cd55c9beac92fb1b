/**
 * A family's idle detection, at no cost per call: the recency of a key's use is the family's call
 * counter at that use, not a clock. A sweep every quarter of `idleTtlMs` notes the counter with the
 * time; a closed breaker whose last use is older than the note taken `idleTtlMs` ago is idle, so a
 * breaker goes between `idleTtlMs` and 1.25 x `idleTtlMs` after its last call. The sweep is one
 * timer on the family's clock (unref'd by default), armed only while the family has breakers.
 */
import type { Clock } from '../core/clock.js';
import { cancelTimer, scheduleTimer } from '../core/clock.js';

/** What the sweeps read from, and act on, their family. */
export interface SweptFamily {
  /** The family's call counter now. */
  uses(): number;
  idleTtlMs(): number;
  /** Retires every closed breaker last used at or before the counter value `idleSince`. */
  retireIdle(idleSince: number): void;
  /** No breaker left: the sweeps stop (the next new key starts them again). */
  isEmpty(): boolean;
}

/** A sweep's note: the call counter at a time. */
interface Checkpoint {
  readonly at: number;
  readonly uses: number;
}

export class IdleSweeps {
  private timer: unknown = undefined;
  private checkpoints: Checkpoint[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly family: SweptFamily,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    this.checkpoints = [{ at: this.clock.now(), uses: this.family.uses() }];
    this.arm();
  }

  stop(): void {
    if (this.timer !== undefined) cancelTimer(this.clock, this.timer);
    this.timer = undefined;
    this.checkpoints = [];
  }

  private arm(): void {
    this.timer = scheduleTimer(this.clock, this.sweep, this.family.idleTtlMs() / 4);
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    const ttl = this.family.idleTtlMs();
    const checkpoints = this.checkpoints;
    checkpoints.push({ at: now, uses: this.family.uses() });
    // The newest note at least idleTtlMs old: a breaker unused since then is idle.
    let idx = -1;
    for (let i = 0; i < checkpoints.length; i++) if (checkpoints[i]!.at <= now - ttl) idx = i;
    if (idx >= 0) {
      const idleSince = checkpoints[idx]!.uses;
      checkpoints.splice(0, idx);
      this.family.retireIdle(idleSince);
    }
    if (this.family.isEmpty()) this.stop();
    else this.arm();
  };
}
