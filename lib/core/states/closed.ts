/**
 * closed: every call is admitted and recorded in the window; the trip rules are judged after each
 * recorded call, and the first that holds opens the circuit.
 */
import { FAILURE, SLOW } from '../windows/sliding-window.js';
import type { StateHost } from './state.js';
import { IGNORED, SUCCESS, defineState, timeOf } from './state.js';

/**
 * A success that is not slow, admitted in closed. Exported for execute's fast path, which calls it
 * directly rather than through the state object (one call target: no polymorphic dispatch).
 */
export function recordClosedSuccess(host: StateHost, nowMs: number): void {
  const link = host.link;
  if (link !== null) link.count(0, 0);
  host.consecutiveFailures = 0;
  const window = host.window;
  window.recordSuccess(host.windowNow());
  // The usual closed success: nothing in the window can trip, skip the rules.
  if (window.failures === 0 && window.slowCalls === 0) return;
  const reason = host.tripReason();
  if (reason !== null) host.transition('open', reason, timeOf(host, nowMs));
}

export const closed = defineState({
  name: 'closed',
  acquire: (host) => host.permitBase,
  record(host, _permit, outcome, slow, nowMs, cause) {
    if (outcome === IGNORED) return;
    if (outcome === SUCCESS && !slow) {
      recordClosedSuccess(host, nowMs);
      return;
    }
    const failed = outcome !== SUCCESS;
    host.link?.count(failed ? 1 : 0, slow ? 1 : 0);
    const window = host.window;
    if (failed) {
      host.consecutiveFailures++;
      window.record(slow ? FAILURE | SLOW : FAILURE, host.windowNow());
    } else {
      host.consecutiveFailures = 0;
      window.record(SLOW, host.windowNow());
    }
    const reason = host.tripReason();
    if (reason !== null) host.transition('open', reason, timeOf(host, nowMs), cause);
  },
  enter(host, from, reason) {
    // Only a close after trials, a reset and a peer's close start afresh; other ways back keep the window.
    if (from.name === 'half_open' || reason === 'manual_reset' || reason === 'shared_state') {
      host.window.clear();
      host.openStreak = 0;
    }
    host.consecutiveFailures = 0;
    host.openedAt = Number.NaN;
  },
});
