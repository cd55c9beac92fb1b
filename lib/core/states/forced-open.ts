/** forced_open: every call is rejected, with no retry time, until another manual transition. */
import { NOT_PERMITTED, defineState } from './state.js';

export const forcedOpen = defineState({
  name: 'forced_open',
  holds: () => false, // admits no call
  acquire(host) {
    host.rejectRetryAfterMs = undefined;
    return NOT_PERMITTED;
  },
  enter(host, _from, _reason, nowMs) {
    host.openedAt = nowMs;
    host.openCause = undefined; // opened by hand: no failure caused it
  },
  describe: (host) => ({ openedAt: host.openedAt }),
});
