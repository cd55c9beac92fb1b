/**
 * metrics_only: every call is admitted and recorded like closed; a trip rule that starts to hold is
 * counted as a would-be trip (and shown as `snapshot().wouldTrip`), but the circuit never opens.
 */
import { FAILURE, SLOW } from '../windows/sliding-window.js';
import type { StateHost } from './state.js';
import { IGNORED, SUCCESS, defineState } from './state.js';

/** A would-be trip is counted each time a trip rule starts to hold. */
function judge(host: StateHost): void {
  const holds = host.tripReason() !== null;
  if (holds && !host.wouldTrip) host.wouldTrips++;
  host.wouldTrip = holds;
}

export const metricsOnly = defineState({
  name: 'metrics_only',
  acquire: (host) => host.permitBase,
  record(host, _permit, outcome, slow) {
    if (outcome === IGNORED) return;
    const failed = outcome !== SUCCESS;
    host.link?.count(failed ? 1 : 0, slow ? 1 : 0);
    host.consecutiveFailures = failed ? host.consecutiveFailures + 1 : 0;
    host.window.record((failed ? FAILURE : 0) | (slow ? SLOW : 0), host.windowNow());
    judge(host);
  },
  enter(host) {
    host.openedAt = Number.NaN;
    // It judges the window it inherits at once; a rule that already holds on entry is not a new
    // would-be trip (it tripped, or was forced, before), so it is not counted.
    host.wouldTrip = host.tripReason() !== null;
  },
  leave(host) {
    host.wouldTrip = false;
  },
  describe(host) {
    // A time window may have aged the failures out since the last call.
    judge(host);
    return { wouldTrip: host.wouldTrip };
  },
});
