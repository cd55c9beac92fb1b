/**
 * Where errors thrown by user callbacks (listeners, predicates) go by default: one process warning
 * per error object, never a crash. The Nest layer replaces it with its Logger (`onInternalError`).
 */
const reported = new WeakSet<object>();

/**
 * A callback that did not throw but answered what it must not (a health check answering neither
 * true nor false): reported the same way, with its own words instead of "threw".
 */
export class CallbackAnswerError extends TypeError {}

/**
 * The line a callback error is reported with: `<where> threw: <message>` (`<name>: <message>` with
 * `withName`, as the Nest logger shows it), or a CallbackAnswerError's own message.
 */
export function describeCallbackError(error: unknown, where: string, withName = false): string {
  if (error instanceof CallbackAnswerError) return error.message;
  const message = error instanceof Error ? (withName ? `${error.name}: ${error.message}` : error.message) : String(error);
  return `${where} threw: ${message}`;
}

export function reportOnce(error: unknown, where: string): void {
  if (typeof error === 'object' && error !== null) {
    if (reported.has(error)) return;
    reported.add(error);
  }
  process.emitWarning(describeCallbackError(error, where), { code: 'CIRCUIT_BREAKER_CALLBACK_ERROR' });
}
