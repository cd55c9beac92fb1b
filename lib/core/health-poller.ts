/**
 * Recovery driven by a check of the dependency (the `healthCheck` option): while the circuit is
 * open, `check()` runs every `intervalMs`, and a pass moves the circuit to half_open at once. The
 * open duration is then not a trigger. Polls run only in `open` (never in forced_open).
 */
import { cancelTimer, scheduleTimer } from './clock.js';
import type { ResolvedOptions } from './options.js';
import type { CircuitState } from './states/index.js';

/** What the poller needs of its breaker. */
export interface PolledBreaker {
  readonly name: string;
  readonly opts: ResolvedOptions;
  readonly disposed: boolean;
  readonly state: CircuitState;
  transition(to: 'half_open', reason: 'health_check_passed', nowMs: number): void;
  onInternalError(error: unknown, where: string): void;
}

export class HealthPoller {
  /** When the next poll runs (the retry time an open circuit reports). */
  nextPollAt = 0;
  /** Polling (the circuit is open and the breaker not disposed). */
  active = false;
  private timer: unknown = undefined;
  /** Bumped by every poll and every start: an answer of an older check is irrelevant. */
  private seq = 0;

  constructor(private readonly breaker: PolledBreaker) {}

  /** The circuit opened: the first poll runs one interval from now. */
  start(nowMs: number): void {
    this.stop();
    if (this.breaker.disposed || this.breaker.opts.healthCheck === undefined) return;
    this.active = true;
    this.seq++;
    this.arm(nowMs);
  }

  /** The circuit left open (or the breaker is disposed). */
  stop(): void {
    this.active = false;
    if (this.timer !== undefined) cancelTimer(this.breaker.opts.clock, this.timer);
    this.timer = undefined;
  }

  private arm(nowMs: number): void {
    const intervalMs = this.breaker.opts.healthCheck!.intervalMs;
    this.nextPollAt = nowMs + intervalMs;
    this.timer = scheduleTimer(this.breaker.opts.clock, this.poll, intervalMs);
  }

  private readonly poll = (): void => {
    this.timer = undefined;
    const breaker = this.breaker;
    const healthCheck = breaker.opts.healthCheck;
    if (!this.active || healthCheck === undefined) return;
    const seq = ++this.seq; // a newer poll makes a still-pending check's answer irrelevant
    this.arm(breaker.opts.clock.now());
    let answer: unknown;
    try {
      answer = healthCheck.check();
      if (isThenable(answer)) {
        answer.then(
          (ok) => this.answered(seq, ok === true),
          (error: unknown) => this.failed(error),
        );
        return;
      }
    } catch (error) {
      // A throwing check, or an answer whose `then` throws: a failed check, never a crash.
      this.failed(error);
      return;
    }
    this.answered(seq, answer === true);
  };

  private answered(seq: number, healthy: boolean): void {
    if (!healthy || seq !== this.seq || !this.active || this.breaker.state !== 'open') return;
    this.breaker.transition('half_open', 'health_check_passed', this.breaker.opts.clock.now());
  }

  private failed(error: unknown): void {
    this.breaker.onInternalError(error, `healthCheck.check of circuit breaker "${this.breaker.name}"`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
