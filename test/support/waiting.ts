/**
 * Waiting without sleeping on time semantics: time moves through ManualClock.advance only; these
 * let promise reactions and I/O callbacks run (`turn`, `turns`) or poll a condition that depends on
 * real I/O (Redis, sockets) up to a deadline (`eventually`). Shared by the unit, e2e, stress and
 * Redis tests, which each had their own copy.
 */

/** Lets pending promise reactions and I/O callbacks run (one macrotask turn). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `count` turns: enough for a chain of a few promise hops (a store answer, then its listener). */
export async function turns(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await turn();
}

/** Polls `condition` (for I/O only, never for time semantics) until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`eventually: ${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
