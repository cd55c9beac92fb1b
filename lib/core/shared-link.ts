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
import { COUNT_WINDOW_BUCKET_MS, COUNT_WINDOW_HORIZON_BUCKETS, isSharedState as validState } from './store.js';

/** What a link needs of its breaker (implemented by CircuitBreaker). */
export interface LinkedBreaker {
  readonly name: string;
  readonly options: ResolvedOptions;
  /** Applies a state the fleet agreed on. */
  adoptShared(state: SharedState): void;
  /** Trips a closed breaker if a rate rule holds on the fleet's window. */
  judgeFleet(counts: WindowCounts): void;
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
  private joinSyncQueued = false;
  /** Deadlines of store operations in flight (cleared when the last breaker leaves). */
  private readonly deadlines = new Set<unknown>();
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
    // Read the shared state now rather than at the next tick (one read for the breakers created
    // together): until then this instance does not know which version its first transition builds on.
    if (!this.joinSyncQueued) {
      this.joinSyncQueued = true;
      queueMicrotask(this.syncJoined);
    }
    return link;
  }

  private readonly syncJoined = (): void => {
    this.joinSyncQueued = false;
    if (!this.available || this.busy || this.size === 0) return; // the next tick reads them
    const fresh: StoreLink[] = [];
    for (const named of this.links.values()) for (const link of named) if (link.needsSync()) fresh.push(link);
    this.busy = true;
    void this.sync(fresh).finally(() => (this.busy = false));
  };

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
  async run<T>(operation: () => Promise<T>): Promise<T | undefined> {
    // Nothing after the last breaker left: the store has released its connections.
    if (!this.available || this.size === 0) return undefined;
    const outcome = await this.withDeadline(operation);
    if (outcome.ok) return outcome.value;
    if (this.size > 0) this.markDown(outcome.error);
    return undefined;
  }

  /** `operation`'s answer, or its failure: a throw, a rejection, or no answer within commandTimeoutMs. */
  private withDeadline<T>(operation: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: { ok: true; value: T } | { ok: false; error: unknown }): void => {
        if (settled) return;
        settled = true;
        this.deadlines.delete(timer);
        cancelTimer(this.clock, timer);
        resolve(outcome);
      };
      const timer = scheduleTimer(
        this.clock,
        () => finish({ ok: false, error: new Error(`no answer within commandTimeoutMs = ${this.store.commandTimeoutMs} ms`) }),
        this.store.commandTimeoutMs,
      );
      this.deadlines.add(timer);
      try {
        operation().then(
          (value) => finish({ ok: true, value }),
          (error: unknown) => finish({ ok: false, error: error ?? new Error('store operation failed') }),
        );
      } catch (error) {
        finish({ ok: false, error: error ?? new Error('store operation threw') });
      }
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
    // Operations still in flight end with the connections release() closes; their answers are ignored.
    for (const deadline of this.deadlines) cancelTimer(this.clock, deadline);
    this.deadlines.clear();
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
    for (const named of this.links.values()) for (const link of named) if (refresh || link.needsSync()) batch.push(link);
    if (batch.length === 0) return;
    this.busy = true;
    void this.sync(batch).finally(() => (this.busy = false));
  };

  private async sync(batch: StoreLink[]): Promise<void> {
    const now = this.clock.now();
    const requests = batch.map((link) => link.takeDelta(now));
    const marks = batch.map((link) => link.changes);
    const replies = await this.run(() => this.store.sync(requests));
    if (replies === undefined) return;
    if (!Array.isArray(replies) || replies.length !== batch.length) {
      this.markDown(new Error('the store answered a sync with a malformed reply'));
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.onSync(replies[i]!, marks[i]!);
  }

  private async probe(): Promise<void> {
    const store = this.store;
    const answered = (await this.withDeadline(() => store.ping())).ok;
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

/** A fleet permit this instance holds: usable for a trial until `usableUntilMs`. */
interface Grant {
  readonly token: string;
  readonly usableUntilMs: number;
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
  /** A local transition the store has not acknowledged yet (in flight, failed, or made during an outage). */
  private dirty = false;
  /** ... and one of them started the window afresh (a reset, a close after trials). */
  private clearPending = false;
  /** One proposal at a time: a transition made meanwhile is written on top of its answer. */
  private proposing = false;
  /** The shared state has been read once: transitions are written only from then on. */
  private synced = false;
  private corruptWarned = false;
  /**
   * Bumped by every change of local or adopted state. A reply to a request sent before a change
   * predates it: a sync reply and a pub/sub message travel on different connections, so a peer's
   * newer state can arrive before an older read.
   */
  changes = 0;
  // fleet-wide half-open permits this instance holds
  private claiming = false;
  private retryAtMs = 0;
  private readonly grants: Grant[] = [];
  private readonly slotGrants: (Grant | undefined)[] = [];
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

  /** Calls to send, or the shared state never read yet. */
  needsSync(): boolean {
    return this.calls > 0 || !this.synced;
  }

  takeDelta(nowMs: number): { name: string; nowMs: number; delta: WindowCounts; window: FleetWindowSpec } {
    const delta = { calls: this.calls, failures: this.failures, slowCalls: this.slowCalls };
    this.calls = this.failures = this.slowCalls = 0;
    return { name: this.name, nowMs, delta, window: fleetWindow(this.breaker.options) };
  }

  onSync(reply: SyncReply, mark: number): void {
    if (!this.active || reply === null || typeof reply !== 'object') return;
    if (reply.corrupt) this.warnCorrupt();
    if (mark !== this.changes) {
      // Stale (see `changes`): neither its state nor its window. Still the first read if it was one.
      if (!this.synced) this.firstRead(reply.state);
      return;
    }
    this.reconcile(reply.state);
    // A reply that disagreed with local state (now being written back) carries a window from
    // before that state: judge only a settled one.
    if (this.proposing || this.dirty) return;
    if (isCount(reply.calls) && isCount(reply.failures) && isCount(reply.slowCalls)) this.breaker.judgeFleet(reply);
  }

  /** A peer's or the store's state: adopted when newer than what this instance knows. */
  adopt(state: SharedState | undefined): void {
    if (!this.active || state === undefined || !validState(state) || state.version <= this.version) return;
    // A newer version freed every permit in the store: the ones this instance holds are void.
    this.dropGrants();
    // A local transition not yet written goes on top of whatever the store holds.
    if (this.dirty) return;
    this.version = state.version;
    this.changes++;
    this.breaker.adoptShared(state);
  }

  /** The breaker moved on its own: tell the fleet (trips, re-opens, closes, manual control). */
  transitioned(reason: string): void {
    this.changes++;
    this.dropGrants();
    if (reason === 'open_duration_elapsed' || reason === 'health_check_passed') return; // half_open is a local view
    this.dirty = true;
    if (reason === 'reset' || reason === 'trials_succeeded') this.clearPending = true;
    this.flush();
  }

  /**
   * half_open: whether this instance holds a fleet permit for a trial in `slot`. Without one, asks
   * the store for one (the call is rejected meanwhile; the answer comes within a round trip).
   */
  takeGrant(slot: number, nowMs: number): boolean {
    while (this.grants.length > 0) {
      const grant = this.grants.pop()!;
      if (grant.usableUntilMs > nowMs) {
        this.slotGrants[slot] = grant;
        return true;
      }
    }
    if (this.dirty || this.proposing) {
      // This instance's opening is not the stored one yet: a permit of the stored version would
      // belong to another opening (and be freed when ours is written). Write ours first.
      this.flush();
      return false;
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
    const grant = this.slotGrants[slot];
    this.slotGrants[slot] = undefined;
    if (grant === undefined || !this.active) return;
    const version = this.version;
    void this.session
      .run(() => this.session.store.completeTrial(this.name, version, grant.token, this.breaker.options.halfOpenMaxCalls))
      .then((state) => this.adopt(state));
  }

  /**
   * A trial in `slot` ended otherwise. Ignored (neither success nor failure): the permit serves
   * this instance's next trial instead of staying taken until it expires. Failed: the re-open is
   * proposed, which frees every permit.
   */
  trialEnded(slot: number, ignored: boolean): void {
    const grant = this.slotGrants[slot];
    this.slotGrants[slot] = undefined;
    if (ignored && grant !== undefined) this.grants.push(grant);
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

  /** Brings local state and the store's together after a sync or a refused claim. */
  private reconcile(state: SharedState | undefined): void {
    if (this.left || this.proposing) return; // a proposal's answer settles it
    const valid = state !== undefined && validState(state);
    if (!this.synced && this.firstRead(state)) return;
    if (valid && state.version < this.version) {
      // The store's history restarted (flushed, restarted without persistence, restored): its
      // numbering counts from now on, and what it holds is the fleet's present state.
      this.version = state.version - 1;
    }
    if (valid && state.version > this.version) {
      // Peers moved the state on while this instance's transitions went unwritten (an outage):
      // the fleet's newer state wins over a local view from the outage.
      this.dirty = false;
      this.clearPending = false;
      this.adopt(state);
      return;
    }
    const mine = this.breaker.sharedView();
    if (this.dirty) {
      this.flush();
    } else if (valid) {
      if (state.state !== mine.state || (state.state === 'open' && state.openedAt !== mine.openedAt)) {
        // Same version, other content: the store's history restarted (its data was lost) and a
        // peer's write reused this version. What it holds is the fleet's present state.
        this.version = state.version - 1;
        this.adopt(state);
      }
    } else if (mine.state !== 'closed') {
      // The store lost a non-closed state: write the local state back so peers converge on it.
      this.dirty = true;
      this.flush();
    }
  }

  /**
   * The first read of the shared state. If this instance moved before it, whatever the store held
   * was written earlier: the local transition goes on top of it (returns true).
   */
  private firstRead(state: SharedState | undefined): boolean {
    this.synced = true;
    if (!this.dirty || this.left || this.proposing) return false;
    if (state !== undefined && validState(state) && state.version > this.version) this.version = state.version;
    this.flush();
    return true;
  }

  /** Writes the local state if a transition is unacknowledged and no write is in flight. */
  private flush(): void {
    if (!this.dirty || this.proposing || !this.synced || !this.active) return;
    this.proposing = true;
    this.dirty = false;
    const clearWindow = this.clearPending;
    this.clearPending = false;
    const request = { name: this.name, expectedVersion: this.version, next: this.breaker.sharedView(), clearWindow };
    void this.session
      .run(() => this.session.store.transition(request))
      .then((state) => {
        this.proposing = false;
        if (this.left) return;
        if (state === undefined || !validState(state)) {
          // Not written (the store failed): written when the store answers again.
          this.dirty = true;
          this.clearPending ||= clearWindow;
          return;
        }
        if (this.dirty) {
          // Another local transition happened meanwhile: write it on top of this answer.
          this.version = state.version;
          this.flush();
          return;
        }
        this.adopt(state);
      });
  }

  private claim(nowMs: number): void {
    const opts = this.breaker.options;
    const token = this.session.nextToken();
    // The permit may start a trial until usableUntilMs, and stays taken in the store until that
    // trial's own probe timeout: a trial started late still holds its permit while it runs.
    const usableUntilMs = nowMs + opts.halfOpenProbeTimeoutMs;
    const version = this.version;
    const mark = this.changes;
    this.claiming = true;
    void this.session
      .run(() =>
        this.session.store.acquireTrial({
          name: this.name,
          version,
          token,
          maxCalls: opts.halfOpenMaxCalls,
          nowMs,
          expiresAtMs: usableUntilMs + opts.halfOpenProbeTimeoutMs,
          ignoreOpenUntil: opts.healthCheck !== undefined,
        }),
      )
      .then((reply) => {
        this.claiming = false;
        if (this.left || reply === undefined || reply === null || typeof reply !== 'object') return;
        if (reply.granted === true && version === this.version && mark === this.changes && !this.dirty && !this.proposing) {
          this.grants.push({ token, usableUntilMs });
          return;
        }
        if (mark !== this.changes) return; // refused for a state this instance has left since
        if (typeof reply.retryAtMs === 'number') this.retryAtMs = reply.retryAtMs;
        this.reconcile(reply.state);
      });
  }

  private dropGrants(): void {
    this.grants.length = 0;
    this.slotGrants.length = 0;
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

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
