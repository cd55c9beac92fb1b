/** The in-memory store under the store contract (test/support/store-contract.ts). */
import { InMemoryCircuitBreakerStore, ManualClock } from '../../../lib/index.js';
import { describeStoreContract } from '../../support/store-contract.js';

describeStoreContract('InMemoryCircuitBreakerStore', async () => {
  // The store's clock is not the requester's: times must still come back where they belong.
  const requester = new ManualClock(1_700_000_000_000);
  const store = new InMemoryCircuitBreakerStore({ clock: new ManualClock(1_700_000_123_456), logger: { warn: () => {}, log: () => {} } });
  return { store, now: () => requester.now(), cleanup: () => store.release() };
});
