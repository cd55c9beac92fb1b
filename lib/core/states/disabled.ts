/** disabled: every call is admitted and nothing is recorded, not even in the totals. */
import { defineState } from './state.js';

export const disabled = defineState({
  name: 'disabled',
  records: false,
  acquire: (host) => host.permitBase,
  enter(host) {
    host.openedAt = Number.NaN;
  },
});
