/**
 * Which outcomes count as failures: `isFailure` for errors (asked once per error object: the Nest
 * layer asks again to decide on a fallback, and a predicate must run, and a throwing one be
 * reported, once per error), `isResultFailure` for resolved values. A predicate that throws counts
 * as "failure": a broken classifier must not hide an outage.
 */
import type { ResolvedOptions } from './options.js';

export interface ClassifiedBreaker {
  readonly name: string;
  readonly opts: ResolvedOptions;
  onInternalError(error: unknown, where: string): void;
}

export class FailureClassifier {
  private classified: WeakMap<object, boolean> | null = null;

  constructor(private readonly breaker: ClassifiedBreaker) {}

  /** Whether `error` counts as a failure (false: the breaker ignores it). */
  errorCounts(error: unknown): boolean {
    const isFailure = this.breaker.opts.isFailure;
    if (isFailure === undefined) return true;
    if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return this.ask(isFailure, error, 'isFailure');
    const classified = (this.classified ??= new WeakMap());
    let failed = classified.get(error);
    if (failed === undefined) {
      failed = this.ask(isFailure, error, 'isFailure');
      classified.set(error, failed);
    }
    return failed;
  }

  /** Whether a resolved `result` is recorded as a failure. */
  resultFails(result: unknown): boolean {
    const isResultFailure = this.breaker.opts.isResultFailure;
    return isResultFailure !== undefined && this.ask(isResultFailure, result, 'isResultFailure');
  }

  /** A new isFailure: earlier answers no longer hold. */
  forget(): void {
    this.classified = null;
  }

  private ask(predicate: (value: unknown) => boolean, value: unknown, where: string): boolean {
    try {
      return predicate(value) === true;
    } catch (error) {
      this.breaker.onInternalError(error, `${where} of circuit breaker "${this.breaker.name}"`);
      return true;
    }
  }
}
