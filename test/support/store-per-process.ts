/**
 * A store object of its own over a shared in-memory store. A process keeps one session per store
 * object, so apps of one process that share a store object are one instance of the fleet; giving
 * each app its own object (all forwarding to one in-memory store) makes each an instance of its
 * own, as separate processes on Redis are. Used by the fleet-view and dashboard tests.
 */
import type { CircuitBreakerStore, InMemoryCircuitBreakerStore } from '../../lib/index.js';

export function storeOfOwnProcess(shared: InMemoryCircuitBreakerStore): CircuitBreakerStore {
  return {
    syncIntervalMs: shared.syncIntervalMs,
    commandTimeoutMs: shared.commandTimeoutMs,
    clock: shared.clock,
    logger: shared.logger,
    sync: (requests) => shared.sync(requests),
    transition: (request) => shared.transition(request),
    acquireTrial: (request) => shared.acquireTrial(request),
    completeTrial: (...args) => shared.completeTrial(...args),
    writeOptions: (write) => shared.writeOptions(write),
    heartbeat: (beat, ttlMs) => shared.heartbeat(beat, ttlMs),
    instances: () => shared.instances(),
    subscribe: (listener) => shared.subscribe(listener),
    ping: () => shared.ping(),
    release: async () => {},
  };
}
