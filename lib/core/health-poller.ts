/**
 * Recovery driven by a check of the dependency (the `healthCheck` option): while the circuit is
 * open, `check()` runs every `intervalMs`, and a pass moves the circuit to half_open at once. The
 * open duration is then not a trigger. Polls run only in `open` (never in forced_open). At most
 * one check is in flight; one not settled within `intervalMs` counts as failed (its AbortSignal,
 * if it asked for one, aborts), and the next poll after it settled asks again.
 */
import { cancelTimer, scheduleTimer } from './clock.js';
import { CallbackAnswerError } from './callback-errors.js';
import { CircuitBreakerTimeoutError, describeValue } from './errors.js';
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

/** One run of the check. */
interface CheckRun {
  /** The open period it was asked in (start() begins a new one). */
  readonly period: number;
  /** Not settled within intervalMs: it counts as failed, its answer is ignored. */
  late: boolean;
  readonly controller: AbortController | undefined;
}

export class HealthPoller {
  /** When the next poll runs (the retry time an open circuit reports). */
  nextPollAt = 0;
  /** Polling (the circuit is open and the breaker not disposed). */
  active = false;
  private timer: unknown = undefined;
  private period = 0;
  /**
   * The check still running, if any: at most one is in flight, so a dependency that never answers
   * is asked once, not once per interval. It stays in flight until it settles, even after the
   * circuit left open.
   */
  private inFlight: CheckRun | null = null;
  private warnedAnswer = false;

  constructor(private readonly breaker: PolledBreaker) {}

  /** The circuit opened: the first poll runs one interval from now. */
  start(nowMs: number): void {
    this.stop();
    if (this.breaker.disposed || this.breaker.opts.healthCheck === undefined) return;
    this.active = true;
    this.period++;
    this.arm(nowMs);
  }

  /** The circuit left open (or the breaker is disposed): no more polls; a check in flight is aborted. */
  stop(): void {
    this.active = false;
    if (this.timer !== undefined) cancelTimer(this.breaker.opts.clock, this.timer);
    this.timer = undefined;
    const running = this.inFlight;
    if (running !== null && !running.late) {
      running.late = true;
      running.controller?.abort();
    }
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
    this.arm(breaker.opts.clock.now());
    const running = this.inFlight;
    if (running !== null) {
      // Not settled within intervalMs: it failed. No second check while it runs.
      if (!running.late) {
        running.late = true;
        running.controller?.abort(new CircuitBreakerTimeoutError(breaker.name, healthCheck.intervalMs, 'healthCheck.intervalMs'));
      }
      return;
    }
    const check = healthCheck.check;
    const run: CheckRun = { period: this.period, late: false, controller: check.length > 0 ? new AbortController() : undefined };
    let answer: unknown;
    try {
      answer = run.controller === undefined ? check() : check(run.controller.signal);
      if (isThenable(answer)) {
        this.inFlight = run;
        answer.then(
          (ok) => this.settled(run, this.passed(ok)),
          (error: unknown) => {
            this.settled(run, false);
            this.failed(error);
          },
        );
        return;
      }
    } catch (error) {
      // A throwing check, or an answer whose `then` throws: a failed check, never a crash.
      if (this.inFlight === run) this.inFlight = null;
      this.failed(error);
      return;
    }
    this.settled(run, this.passed(answer));
  };

  /**
   * A check passes by answering `true`; `false`, a throw or a rejection fail it. Any other answer
   * fails it too, and is reported once: `async () => { await db.ping(); }` answers undefined and
   * would otherwise keep the circuit open without a word.
   */
  private passed(answer: unknown): boolean {
    if (answer === true || answer === false) return answer;
    if (!this.warnedAnswer) {
      this.warnedAnswer = true;
      this.breaker.onInternalError(
        new CallbackAnswerError(`healthCheck.check of circuit breaker "${this.breaker.name}" answered ${describeValue(answer)}: a check passes by answering true (false, a throw or a rejection fail it); this answer counts as failed`),
        `healthCheck.check of circuit breaker "${this.breaker.name}"`,
      );
    }
    return false;
  }

  private settled(run: CheckRun, healthy: boolean): void {
    if (this.inFlight === run) this.inFlight = null;
    if (!healthy || run.late || run.period !== this.period || !this.active || this.breaker.state !== 'open') return;
    this.breaker.transition('half_open', 'health_check_passed', this.breaker.opts.clock.now());
  }

  private failed(error: unknown): void {
    this.breaker.onInternalError(error, `healthCheck.check of circuit breaker "${this.breaker.name}"`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
