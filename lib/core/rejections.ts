/**
 * Open fast-fail without a stack per rejection: one CircuitOpenError, and one rejected promise
 * (Node's unhandled-rejection bookkeeping then runs once, not per call), shared while the
 * generation and retryAfterMs stay the same.
 */
import { CircuitOpenError } from './errors.js';

export class Rejections {
  private error: CircuitOpenError | null = null;
  private rejected: Promise<never> | null = null;
  private generation = -1;

  errorFor(breakerName: string, generation: number, retryAfterMs: number | undefined, cause: unknown): CircuitOpenError {
    let error = this.error;
    if (error === null || this.generation !== generation || error.retryAfterMs !== retryAfterMs) {
      error = CircuitOpenError.withoutStack(breakerName, retryAfterMs, cause);
      this.error = error;
      this.generation = generation;
      this.rejected = null;
    }
    return error;
  }

  promiseFor(error: CircuitOpenError): Promise<never> {
    if (this.rejected === null || error !== this.error) this.rejected = Promise.reject(error);
    return this.rejected;
  }
}
