/**
 * Coordination between breakers and a {@link CircuitBreakerStore}: one session per store (a sync
 * ticker, the outage state, the pub/sub subscription) and one link per breaker.
 *
 * The breaker always runs its full local state machine and admits calls from local state only;
 * the store is an overlay that (1) brings peers' transitions in, (2) trips on the fleet's window,
 * (3) limits half-open trials fleet-wide. When the store fails, the overlay switches off and the
 * breaker is exactly a local breaker until the store answers again. No store command is sent on a
 * call's path: deltas are counted in three integers and sent by the ticker.
 */
import { hostname } from 'node:os';
import type { Clock } from './clock.js';
import { cancelTimer, scheduleTimer } from './clock.js';
import type { ResolvedOptions } from './options.js';
import type { CircuitBreakerStore, FleetWindowSpec, SharedState, SyncReply, WindowCounts } from './store.js';
import { COUNT_WINDOW_BUCKET_MS, COUNT_WINDOW_HORIZON_BUCKETS } from './store.js';

/** What a link needs of its breaker (implemented by CircuitBreaker). */
export interface LinkedBreaker {
  readonly name: string;
  readonly options: ResolvedOptions;
  /** Applies a state the fleet agreed on. */
  adoptShared(state: SharedState): void;
  /** Trips a closed breaker if a rate rule holds on the fleet's window. */
  judgeFleet(counts: WindowCounts, nowMs: number): void;
  /** The local state as the fleet stores it. */
  sharedView(): Omit<SharedState, 'version'>;
}

/** Sync every link at least this often (in ticks) even without deltas: repairs a missed message. */
const REFRESH_EVERY_TICKS = 5;

const sessions = new WeakMap<CircuitBreakerStore, StoreSession>();

export function joinStore(store: CircuitBreakerStore, breaker: LinkedBreaker): StoreLink {
  let session = sessions.get(store);
  if (session === undefined) {
    session = new StoreSession(store);
    sessions.set(store, session);
  }
  return session.join(breaker);
}

class StoreSession {
  available = true;
  private readonly links = new Map<string, Set<StoreLink>>();
  private size = 0;
  private ticks = 0;
  private busy = false;
  private timer: unknown = undefined;
  private unsubscribe: (() => void) | null = null;
  private readonly instance = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  private seq = 0;

  constructor(readonly store: CircuitBreakerStore) {}

  get clock(): Clock {
    return this.store.clock;
  }

  join(breaker: LinkedBreaker): StoreLink {
    const link = new StoreLink(this, breaker);
    let named = this.links.get(breaker.name);
    if (named === undefined) this.links.set(breaker.name, (named = new Set()));
    named.add(link);
    if (this.size++ === 0) this.start();
    return link;
  }

  leave(link: StoreLink): void {
    const named = this.links.get(link.name);
    if (named === undefined || !named.delete(link)) return;
    if (named.size === 0) this.links.delete(link.name);
    if (--this.size === 0) this.stop();
  }

  nextToken(): string {
    return `${this.instance}:${++this.seq}`;
  }

  /** Runs a store operation with the command timeout; an error or timeout marks the store down. */
  run<T>(operation: () => Promise<T>): Promise<T | undefined> {
    if (!this.available) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve) => {
      let settled = false;
      const timer = scheduleTimer(
        this.clock,
        () => {
          if (settled) return;
          settled = true;
          this.markDown(new Error(`no answer within commandTimeoutMs = ${this.store.commandTimeoutMs} ms`));
          resolve(undefined);
        },
        this.store.commandTimeoutMs,
      );
      const done = (value: T | undefined, error?: unknown): void => {
        if (settled) return;
        settled = true;
        cancelTimer(this.clock, timer);
        if (error !== undefined) this.markDown(error);
        resolve(value);
      };
      let pending: Promise<T>;
      try {
        pending = operation();
      } catch (error) {
        done(undefined, error ?? new Error('store operation threw'));
        return;
      }
      pending.then(
        (value) => done(value),
        (error: unknown) => done(undefined, error ?? new Error('store operation failed')),
      );
    });
  }

  private start(): void {
    this.unsubscribe = this.store.subscribe((name, state) => {
      const named = this.links.get(name);
      if (named !== undefined && this.available) for (const link of named) link.adopt(state);
    });
    this.arm();
  }

  private stop(): void {
    if (this.timer !== undefined) cancelTimer(this.clock, this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = null;
    sessions.delete(this.store);
    this.store.release().catch((error: unknown) => this.store.logger.warn(`circuit breaker store: release failed: ${describe(error)}`));
  }

  private arm(): void {
    this.timer = scheduleTimer(this.clock, this.tick, this.store.syncIntervalMs);
  }

  private readonly tick = (): void => {
    this.arm();
    if (this.busy) return; // the previous sync has not answered: never pile up requests
    if (!this.available) {
      this.busy = true;
      void this.probe().finally(() => (this.busy = false));
      return;
    }
    const refresh = ++this.ticks % REFRESH_EVERY_TICKS === 0;
    const batch: StoreLink[] = [];
    for (const named of this.links.values()) for (const link of named) if (refresh || link.hasDelta()) batch.push(link);
    if (batch.length === 0) return;
    this.busy = true;
    void this.sync(batch).finally(() => (this.busy = false));
  };

  private async sync(batch: StoreLink[]): Promise<void> {
    const now = this.clock.now();
    const requests = batch.map((link) => link.takeDelta(now));
    const replies = await this.run(() => this.store.sync(requests));
    if (replies === undefined) return;
    if (!Array.isArray(replies) || replies.length !== batch.length) {
      this.markDown(new Error('the store answered a sync with a malformed reply'));
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.onSync(replies[i]!, now);
  }

  private async probe(): Promise<void> {
    const store = this.store;
    const answered = await new Promise<boolean>((resolve) => {
      const timer = scheduleTimer(this.clock, () => resolve(false), store.commandTimeoutMs);
      let pending: Promise<void>;
      try {
        pending = store.ping();
      } catch {
        cancelTimer(this.clock, timer);
        resolve(false);
        return;
      }
      pending.then(
        () => {
          cancelTimer(this.clock, timer);
          resolve(true);
        },
        () => {
          cancelTimer(this.clock, timer);
          resolve(false);
        },
      );
    });
    if (!answered || this.size === 0) return;
    this.available = true;
    store.logger.log('circuit breaker store is reachable again: breakers share their state again');
    const all: StoreLink[] = [];
    for (const named of this.links.values()) for (const link of named) all.push(link.rejoin());
    if (all.length > 0) await this.sync(all);
  }

  markDown(error: unknown): void {
    if (!this.available) return;
    this.available = false;
    this.store.logger.warn(
      `circuit breaker store unavailable (${describe(error)}): every breaker continues on its own local state until the store answers again`,
    );
    for (const named of this.links.values()) for (const link of named) link.fellBack();
  }
}

/** One breaker's connection to its store. */
export class StoreLink {
  readonly name: string;
  /** The version of the shared state this instance last adopted or wrote. */
  version = 0;
  /** Times the breaker fell back to local state because the store failed. */
  fallbacks = 0;
  // calls completed since the last sync (the only thing a call touches)
  private calls = 0;
  private failures = 0;
  private slowCalls = 0;
  /** A local transition the store has not heard of (made during an outage). */
  private dirty = false;
  private corruptWarned = false;
  // fleet-wide half-open permits this instance holds
  private claiming = false;
  private retryAtMs = 0;
  private readonly grants: { token: string; expiresAtMs: number }[] = [];
  private readonly slotTokens: (string | undefined)[] = [];
  private left = false;

  constructor(
    private readonly session: StoreSession,
    private readonly breaker: LinkedBreaker,
  ) {
    this.name = breaker.name;
  }

  /** False while the store is down: the breaker then acts on local state alone. */
  get active(): boolean {
    return this.session.available && !this.left;
  }

  /** Counts one completed call (`failed`, `slow` as 0/1). Hot path: three additions. */
  count(failed: number, slow: number): void {
    this.calls++;
    this.failures += failed;
    this.slowCalls += slow;
  }

  hasDelta(): boolean {
    return this.calls > 0;
  }

  takeDelta(nowMs: number): { name: string; nowMs: number; delta: WindowCounts; window: FleetWindowSpec } {
    const delta = { calls: this.calls, failures: this.failures, slowCalls: this.slowCalls };
    this.calls = this.failures = this.slowCalls = 0;
    return { name: this.name, nowMs, delta, window: fleetWindow(this.breaker.options) };
  }

  onSync(reply: SyncReply, nowMs: number): void {
    if (!this.active || reply === null || typeof reply !== 'object') return;
    if (reply.corrupt) this.warnCorrupt();
    this.reconcile(reply.state);
    if (isCount(reply.calls) && isCount(reply.failures) && isCount(reply.slowCalls)) this.breaker.judgeFleet(reply, nowMs);
  }

  /** A peer's or the store's state: adopted when newer than what this instance knows. */
  adopt(state: SharedState | undefined): void {
    if (!this.active || state === undefined || !validState(state) || state.version <= this.version) return;
    this.version = state.version;
    this.dirty = false;
    this.dropGrants();
    this.breaker.adoptShared(state);
  }

  /** The breaker moved on its own: tell the fleet (trips, re-opens, manual control). */
  transitioned(reason: string): void {
    this.dropGrants();
    if (reason === 'open_duration_elapsed' || reason === 'health_check_passed' || reason === 'trials_succeeded') return;
    if (!this.active) {
      this.dirty = true;
      return;
    }
    this.propose(this.version, reason === 'reset');
  }

  /**
   * half_open: whether this instance holds a fleet permit for a trial in `slot`. Without one, asks
   * the store for one (the call is rejected meanwhile; the answer comes within a round trip).
   */
  takeGrant(slot: number, nowMs: number): boolean {
    while (this.grants.length > 0) {
      const grant = this.grants.pop()!;
      if (grant.expiresAtMs > nowMs) {
        this.slotTokens[slot] = grant.token;
        return true;
      }
    }
    if (!this.claiming && nowMs >= this.retryAtMs) this.claim(nowMs);
    return false;
  }

  /** ms until a permit may be granted. */
  retryAfterMs(nowMs: number): number {
    return this.retryAtMs > nowMs ? Math.ceil(this.retryAtMs - nowMs) : 0;
  }

  /** A trial in `slot` succeeded: count it fleet-wide (the store closes the circuit on the last needed one). */
  trialSucceeded(slot: number): void {
    const token = this.slotTokens[slot];
    this.slotTokens[slot] = undefined;
    if (token === undefined || !this.active) return;
    const version = this.version;
    void this.session
      .run(() => this.session.store.completeTrial(this.name, version, token, this.breaker.options.halfOpenMaxCalls))
      .then((state) => this.adopt(state));
  }

  /** A trial in `slot` ended otherwise (failed: the re-open is proposed; ignored: the permit expires). */
  trialEnded(slot: number): void {
    this.slotTokens[slot] = undefined;
  }

  fellBack(): void {
    this.fallbacks++;
    this.dropGrants();
  }

  /** The store is back: forget what was counted meanwhile (judged locally) and sync afresh. */
  rejoin(): this {
    this.calls = this.failures = this.slowCalls = 0;
    this.dropGrants();
    return this;
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.session.leave(this);
  }

  private reconcile(state: SharedState | undefined): void {
    if (state !== undefined && validState(state) && state.version > this.version) {
      this.adopt(state);
      return;
    }
    // The store lost our state (flushed, restarted, corrupted) or never heard of a transition made
    // during an outage: write the local state back so peers converge on it.
    const lost = state === undefined || state.version < this.version;
    if (this.dirty || (lost && this.breaker.sharedView().state !== 'closed')) {
      this.dirty = false;
      this.propose(state?.version ?? this.version, false);
    }
  }

  private propose(expectedVersion: number, clearWindow: boolean): void {
    const next = this.breaker.sharedView();
    void this.session
      .run(() => this.session.store.transition({ name: this.name, expectedVersion, next, clearWindow }))
      .then((state) => this.adopt(state));
  }

  private claim(nowMs: number): void {
    const opts = this.breaker.options;
    const token = this.session.nextToken();
    const expiresAtMs = nowMs + opts.halfOpenProbeTimeoutMs;
    const version = this.version;
    this.claiming = true;
    void this.session
      .run(() =>
        this.session.store.acquireTrial({
          name: this.name,
          version,
          token,
          maxCalls: opts.halfOpenMaxCalls,
          nowMs,
          expiresAtMs,
          ignoreOpenUntil: opts.healthCheck !== undefined,
        }),
      )
      .then((reply) => {
        this.claiming = false;
        if (reply === undefined || reply === null || typeof reply !== 'object') return;
        if (reply.granted === true && version === this.version) {
          this.grants.push({ token, expiresAtMs });
          return;
        }
        if (typeof reply.retryAtMs === 'number') this.retryAtMs = reply.retryAtMs;
        this.reconcile(reply.state);
      });
  }

  private dropGrants(): void {
    this.grants.length = 0;
    this.slotTokens.length = 0;
    this.claiming = false;
    this.retryAtMs = 0;
  }

  private warnCorrupt(): void {
    if (this.corruptWarned) return;
    this.corruptWarned = true;
    this.session.store.logger.warn(
      `circuit breaker "${this.name}": the store holds unreadable data for this breaker; it is ignored and overwritten by the next transition`,
    );
  }
}

/** The fleet window matching a breaker's own: the same slices for a time window, 1 s slices for a count window. */
export function fleetWindow(opts: ResolvedOptions): FleetWindowSpec {
  const window = opts.slidingWindow;
  if (window.type === 'time') return { bucketMs: window.durationMs / window.buckets, buckets: window.buckets, countLimit: 0 };
  return { bucketMs: COUNT_WINDOW_BUCKET_MS, buckets: COUNT_WINDOW_HORIZON_BUCKETS, countLimit: window.size };
}

const SHARED = new Set(['closed', 'open', 'forced_open', 'disabled', 'metrics_only']);

function validState(state: SharedState): boolean {
  return (
    typeof state === 'object' &&
    Number.isSafeInteger(state.version) &&
    state.version > 0 &&
    SHARED.has(state.state) &&
    typeof state.openUntil === 'number' &&
    Number.isFinite(state.openUntil) &&
    Number.isSafeInteger(state.openStreak) &&
    state.openStreak >= 0
  );
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
