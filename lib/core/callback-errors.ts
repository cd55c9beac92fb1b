/**
 * Where errors thrown by user callbacks (listeners, predicates) go by default: one process warning
 * per error object, never a crash. The Nest layer replaces it with its Logger (`onInternalError`).
 */
const reported = new WeakSet<object>();

export function reportOnce(error: unknown, where: string): void {
  if (typeof error === 'object' && error !== null) {
    if (reported.has(error)) return;
    reported.add(error);
  }
  process.emitWarning(`${where} threw: ${error instanceof Error ? error.message : String(error)}`, { code: 'CIRCUIT_BREAKER_CALLBACK_ERROR' });
}
