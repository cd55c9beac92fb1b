/**
 * Shares breaker state between breakers of one process, with the semantics of the Redis store: the
 * reference implementation of {@link CircuitBreakerStore} and the store of fleet tests.
 */
import type { Clock } from '../clock.js';
import type {
  CircuitBreakerStore,
  FleetOptions,
  FleetOptionsWrite,
  FleetWindowSpec,
  InstanceHeartbeat,
  LiveInstance,
  SharedState,
  StoreLogger,
  StoreOptions,
  SyncReply,
  SyncRequest,
  TransitionRequest,
  TrialReply,
  TrialRequest,
} from './store.js';
import { resolveStoreOptions } from './store.js';

/** The slice number of `nowMs` and the slices a window sums, newest first. */
function fleetSlice(spec: FleetWindowSpec, nowMs: number): number {
  return Math.floor(nowMs / spec.bucketMs);
}

interface MemoryEntry {
  state: SharedState | undefined;
  /** Bumped when the fleet's window starts afresh; slices of older epochs are not summed. */
  windowEpoch: number;
  slices: Map<string, { calls: number; failures: number; slowCalls: number }>;
  permits: Map<string, number>;
  trialSuccesses: number;
  /** The fleet options record (see fleet-options.ts). */
  options: FleetOptions | undefined;
}

/**
 * Shares breaker state between breakers of the same name in one process, with the same semantics as
 * the Redis store (compare-and-set transitions, fleet window, fleet-wide half-open permits) and
 * peers notified on a later microtask, like a pub/sub message. Use it in tests of fleet behaviour
 * and to share breakers between several Nest apps in one process.
 */
export class InMemoryCircuitBreakerStore implements CircuitBreakerStore {
  readonly syncIntervalMs: number;
  readonly commandTimeoutMs: number;
  readonly clock: Clock;
  logger: StoreLogger;
  private readonly entries = new Map<string, MemoryEntry>();
  private listeners: ((name: string, state: SharedState) => void)[] = [];
  /** Heartbeats by instance id, with the store time they were written and their lifetime. */
  private readonly beats = new Map<string, { beat: InstanceHeartbeat; atMs: number; ttlMs: number }>();

  constructor(options: StoreOptions = {}) {
    const resolved = resolveStoreOptions('InMemoryCircuitBreakerStore', options);
    this.syncIntervalMs = resolved.syncIntervalMs;
    this.commandTimeoutMs = resolved.commandTimeoutMs;
    this.clock = resolved.clock;
    this.logger = resolved.logger;
  }

  /**
   * The store's clock, in whole milliseconds: stored times are on it, and every answer carries
   * `readAtMs`, so breakers whose clocks differ agree on when an opening ends (as with Redis TIME).
   * Whole milliseconds keep the move to a reader's clock exact for whole-millisecond times.
   */
  private storeNow(): number {
    return Math.floor(this.clock.now());
  }

  /** A stored state as an answer, stamped with the store's now (readers place its times on their clocks). */
  private answer(state: SharedState | undefined): SharedState | undefined {
    return state === undefined ? undefined : { ...state, readAtMs: this.storeNow() };
  }

  /** The stored state of a breaker (for tests and diagnostics). */
  peek(name: string): SharedState | undefined {
    return this.entries.get(name)?.state;
  }

  /** Drops everything stored for a breaker, as a Redis restart without persistence would (tests). */
  forget(name: string): void {
    this.entries.delete(name);
  }

  async sync(requests: readonly SyncRequest[]): Promise<readonly SyncReply[]> {
    return requests.map((request) => {
      const entry = this.entry(request.name);
      const { window, delta, nowMs } = request;
      const slice = fleetSlice(window, nowMs);
      if (delta.calls > 0) {
        const key = `${entry.windowEpoch}:${slice}`;
        const counts = entry.slices.get(key) ?? { calls: 0, failures: 0, slowCalls: 0 };
        counts.calls += delta.calls;
        counts.failures += delta.failures;
        counts.slowCalls += delta.slowCalls;
        entry.slices.set(key, counts);
      }
      let calls = 0;
      let failures = 0;
      let slowCalls = 0;
      for (let i = 0; i < window.buckets; i++) {
        const counts = entry.slices.get(`${entry.windowEpoch}:${slice - i}`);
        if (counts !== undefined) {
          calls += counts.calls;
          failures += counts.failures;
          slowCalls += counts.slowCalls;
        }
        if (window.countLimit > 0 && calls >= window.countLimit) break;
      }
      // Slices older than any window reads are dropped (Redis lets them expire).
      for (const key of entry.slices.keys()) {
        const [epoch, at] = key.split(':').map(Number);
        if (epoch !== entry.windowEpoch || at! <= slice - window.buckets) entry.slices.delete(key);
      }
      const options = entry.options;
      const newer = options !== undefined && options.version > (request.optionsVersion ?? 0);
      return { state: this.answer(entry.state), corrupt: false, stateUnreadable: false, calls, failures, slowCalls, ...(newer ? { options } : {}) };
    });
  }

  async transition(request: TransitionRequest): Promise<SharedState | undefined> {
    const entry = this.entry(request.name);
    const current = entry.state;
    if (current !== undefined && current.version !== request.expectedVersion) return this.answer(current);
    // The writer's times become durations from the store's now (the writer's clock offset drops out).
    const shift = this.storeNow() - request.nowMs;
    const given = request.next;
    const next: SharedState = {
      ...given,
      openedAt: given.openedAt + shift,
      openUntil: given.state === 'open' ? given.openUntil + shift : given.openUntil,
      version: Math.max(current?.version ?? 0, request.expectedVersion) + 1,
    };
    this.store(request.name, entry, next, request.clearWindow);
    return this.answer(next);
  }

  async acquireTrial(request: TrialRequest): Promise<TrialReply> {
    const entry = this.entry(request.name);
    const state = entry.state;
    if (state === undefined || state.version !== request.version || state.state !== 'open') {
      return { granted: false, retryAtMs: request.nowMs, state: this.answer(state) };
    }
    if (!request.ignoreOpenUntil && request.nowMs - request.openUntilMs < 0) {
      return { granted: false, retryAtMs: request.openUntilMs, state: this.answer(state) };
    }
    let earliest = Number.POSITIVE_INFINITY;
    for (const [token, expiresAt] of entry.permits) {
      if (expiresAt <= request.nowMs) entry.permits.delete(token);
      else earliest = Math.min(earliest, expiresAt);
    }
    if (entry.permits.size >= request.maxCalls) return { granted: false, retryAtMs: earliest, state: this.answer(state) };
    entry.permits.set(request.token, request.expiresAtMs);
    return { granted: true, retryAtMs: request.nowMs, state: this.answer(state) };
  }

  async completeTrial(name: string, version: number, token: string, maxCalls: number): Promise<SharedState | undefined> {
    const entry = this.entry(name);
    const state = entry.state;
    if (state === undefined || state.version !== version || !entry.permits.delete(token)) return this.answer(state);
    if (++entry.trialSuccesses < maxCalls) return this.answer(state);
    const closed: SharedState = { version: state.version + 1, state: 'closed', openedAt: Number.NaN, openUntil: 0, openStreak: 0 };
    this.store(name, entry, closed, true);
    return this.answer(closed);
  }

  async writeOptions(write: FleetOptionsWrite): Promise<FleetOptions> {
    const entry = this.entry(write.name);
    const record: FleetOptions = { version: (entry.options?.version ?? 0) + 1, settings: { ...write.settings }, source: write.source };
    entry.options = record;
    return record;
  }

  async heartbeat(beat: InstanceHeartbeat, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) this.beats.delete(beat.id);
    else this.beats.set(beat.id, { beat: structuredClone(beat), atMs: this.storeNow(), ttlMs });
  }

  async instances(): Promise<readonly LiveInstance[]> {
    const now = this.storeNow();
    const live: LiveInstance[] = [];
    for (const [id, { beat, atMs, ttlMs }] of this.beats) {
      if (now - atMs >= ttlMs) this.beats.delete(id);
      else live.push({ ...structuredClone(beat), ageMs: now - atMs });
    }
    return live;
  }

  subscribe(listener: (name: string, state: SharedState) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async ping(): Promise<void> {}

  async release(): Promise<void> {}

  private entry(name: string): MemoryEntry {
    let entry = this.entries.get(name);
    if (entry === undefined) {
      entry = { state: undefined, windowEpoch: 0, slices: new Map(), permits: new Map(), trialSuccesses: 0, options: undefined };
      this.entries.set(name, entry);
    }
    return entry;
  }

  private store(name: string, entry: MemoryEntry, state: SharedState, clearWindow: boolean): void {
    entry.state = state;
    entry.permits.clear();
    entry.trialSuccesses = 0;
    if (clearWindow) {
      entry.windowEpoch++;
      entry.slices.clear();
    }
    const listeners = this.listeners;
    const published = this.answer(state)!; // stamped when published, like the Redis script's TIME
    queueMicrotask(() => {
      for (const listener of listeners) listener(name, published);
    });
  }
}
