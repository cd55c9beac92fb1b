/**
 * One breaker's link to its store (see store-session.ts for the session all links of a store share).
 * A link counts the breaker's calls between syncs, writes its transitions (compare-and-set on the
 * version), adopts peers' newer states, and holds its fleet-wide trial permits.
 *
 * Its progress is one explicit phase:
 *
 * | phase           | meaning                                                                      |
 * |-----------------|------------------------------------------------------------------------------|
 * | `unread`        | the shared state was never read; nothing to write                            |
 * | `unread_moved`  | ... and the breaker moved meanwhile: written on top of what the first read finds |
 * | `clean`         | in step with the store as far as this instance knows                         |
 * | `dirty`         | a local transition waits to be written (the store is down, or it is queued)  |
 * | `writing`       | a transition is being written                                                |
 * | `writing_dirty` | ... and another local transition happened meanwhile: written on its answer   |
 * | `left`          | the breaker was disposed                                                     |
 */
import type { CircuitBreaker } from '../circuit-breaker.js';
import { applyFleetOptions } from '../reconfiguration.js';
import type { CircuitBreakerStore, FleetBreakerView, FleetWindowSpec, SharedState, StoreLogger, SyncReply, WindowCounts } from './store.js';
import { fleetWindow } from '../windows/index.js';
import { isSharedState as validState } from './store.js';
import type { StoreSession } from './store-session.js';
import { TrialPermits } from './trial-permits.js';
import type { FleetOptions, FleetOptionsChange } from './fleet-options.js';
import { isFleetOptions } from './fleet-options.js';
import { adoptSharedState, judgeFleetWindow, sharedViewOf } from './shared-view.js';

export type LinkPhase = 'unread' | 'unread_moved' | 'clean' | 'dirty' | 'writing' | 'writing_dirty' | 'left';

/**
 * A stored state with its times moved onto the reader's clock: a store with a clock of its own
 * (`readAtMs`) answers times on that clock, and what matters is how far they are from its now.
 */
function onLocalClock(state: SharedState, nowMs: number): SharedState {
  const readAt = state.readAtMs;
  if (readAt === undefined) return state;
  const shift = nowMs - readAt;
  return {
    ...state,
    openedAt: state.openedAt + shift,
    openUntil: state.state === 'open' ? state.openUntil + shift : state.openUntil,
  };
}

/** One breaker's connection to its store. */
export class StoreLink {
  readonly name: string;
  phase: LinkPhase = 'unread';
  /** The version of the shared state this instance last adopted or wrote. */
  version = 0;
  /** That version's openedAt as the store holds it (its clock): identifies the opening. */
  private storedOpenedAt = Number.NaN;
  /** Times the breaker fell back to local state because the store failed. */
  fallbacks = 0;
  /**
   * Bumped by every change of local or adopted state. A reply to a request sent before a change
   * predates it: a sync reply and a pub/sub message travel on different connections, so a peer's
   * newer state can arrive before an older read.
   */
  changes = 0;
  /**
   * The store answers, but what it holds for this breaker cannot be read (corrupt data): peers'
   * transitions cannot reach this instance until the next transition overwrites it. Health and
   * metrics say so instead of `shared`.
   */
  unreadable = false;
  // calls completed since the last sync (the only thing a call touches)
  private calls = 0;
  private failures = 0;
  private slowCalls = 0;
  /** The transition waiting to be written started the window afresh (a reset, a close after trials). */
  private clearPending = false;
  private corruptWarned = false;
  private readonly permits = new TrialPermits();

  // The breaker's own side of the fleet lives here, so that a breaker without a store carries none of it.
  /** The fleet's options record in force over the breaker's own options (see fleet-options.ts). */
  fleetOptions: FleetOptions | null = null;
  /** Where this breaker's fleet messages go (the Nest layer sets the app's logger); null: the store's logger. */
  fleetLog: StoreLogger | null = null;
  /** Told of every fleet options record that reaches the breaker (the registry's fleetOptions$). */
  onFleetOptions: ((change: FleetOptionsChange) => void) | null = null;
  /** A peer's open state being applied (shared-view.ts): open's `enter` takes its times instead of computing them. */
  adopted: SharedState | null = null;
  /** The fleet's window while a trip on it is being made (judgeFleetWindow): the opening's facts. */
  fleetCounts: WindowCounts | null = null;

  constructor(
    private readonly session: StoreSession,
    private readonly breaker: CircuitBreaker,
  ) {
    this.name = breaker.name;
  }

  private get store(): CircuitBreakerStore {
    return this.session.store;
  }

  /** How this instance sees the breaker (its heartbeat's entry). */
  view(): FleetBreakerView {
    const s = this.breaker.snapshot();
    return { state: s.state, failureRate: s.failureRate, slowCallRate: s.slowCallRate, calls: s.calls, ...(s.store === undefined ? {} : { store: s.store }) };
  }

  /** False while the store is down: the breaker then acts on local state alone. */
  get active(): boolean {
    return this.session.available && this.phase !== 'left';
  }

  /** A local transition is not in the store yet (queued, or written on top of a write in flight). */
  private get moved(): boolean {
    return this.phase === 'unread_moved' || this.phase === 'dirty' || this.phase === 'writing_dirty';
  }

  /** Counts one completed call (`failed`, `slow` as 0/1). Hot path: three additions. */
  count(failed: number, slow: number): void {
    this.calls++;
    this.failures += failed;
    this.slowCalls += slow;
  }

  /** Calls to send, or the shared state never read yet. */
  needsSync(): boolean {
    return this.calls > 0 || this.phase === 'unread' || this.phase === 'unread_moved';
  }

  takeDelta(nowMs: number): { name: string; nowMs: number; delta: WindowCounts; window: FleetWindowSpec; optionsVersion: number } {
    const delta = { calls: this.calls, failures: this.failures, slowCalls: this.slowCalls };
    this.calls = this.failures = this.slowCalls = 0;
    return { name: this.name, nowMs, delta, window: fleetWindow(this.breaker.options.slidingWindow), optionsVersion: this.optionsVersion };
  }

  /** The version of the fleet options record this instance adopted or refused last (0: none). */
  private optionsVersion = 0;

  /**
   * Writes the fleet's options record (already merged and validated by the caller) and applies it
   * here; peers take it with their next sync. Undefined when the store did not answer.
   */
  async writeOptions(settings: Readonly<Record<string, unknown>>, source: string): Promise<FleetOptions | undefined> {
    const store = this.store;
    if (store.writeOptions === undefined) return undefined;
    const record = await this.session.run(() => store.writeOptions!({ name: this.name, settings, source }));
    if (record === undefined || !isFleetOptions(record)) return undefined;
    this.adoptOptions(record);
    return record;
  }

  /** A fleet options record newer than the one in force: applied, or refused with one warning. */
  private adoptOptions(record: FleetOptions): void {
    if (!isFleetOptions(record) || record.version <= this.optionsVersion) return;
    this.optionsVersion = record.version;
    const logger = this.fleetLog ?? this.store.logger;
    const change = { name: this.name, version: record.version, source: record.source, settings: record.settings };
    try {
      applyFleetOptions(this.breaker, this, record);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn(`circuit breaker "${this.name}": fleet options version ${record.version} (from ${record.source}) not adopted, this instance keeps its options: ${reason}`);
      this.onFleetOptions?.({ ...change, adopted: false, reason });
      return;
    }
    logger.log(`circuit breaker "${this.name}": fleet options version ${record.version} (from ${record.source}) adopted: ${JSON.stringify(record.settings)}`);
    this.onFleetOptions?.({ ...change, adopted: true });
  }

  onSync(reply: SyncReply, mark: number): void {
    if (!this.active || reply === null || typeof reply !== 'object') return;
    if (reply.options !== undefined) this.adoptOptions(reply.options);
    if (reply.corrupt) this.warnCorrupt();
    const stateUnreadable = reply.stateUnreadable ?? (reply.corrupt && reply.state === undefined);
    if (stateUnreadable) this.unreadable = true;
    else if (reply.state !== undefined || !reply.corrupt) this.unreadable = false;
    if (mark !== this.changes) {
      // Stale (see `changes`): neither its state nor its window. Still the first read if it was one.
      this.firstRead(reply.state);
      return;
    }
    this.reconcile(reply.state);
    // A reply that disagreed with local state (now being written back) carries a window from
    // before that state: judge only a settled one.
    if (this.phase !== 'clean') return;
    if (isCount(reply.calls) && isCount(reply.failures) && isCount(reply.slowCalls)) judgeFleetWindow(this.breaker, this, reply);
  }

  /** A peer's or the store's state: adopted when newer than what this instance knows. */
  adopt(state: SharedState | undefined): void {
    if (!this.active || state === undefined || !validState(state) || state.version <= this.version) return;
    this.unreadable = false; // a newer readable state replaced whatever the store held
    // A newer version freed every permit in the store: the ones this instance holds are void.
    this.permits.drop();
    // A local transition not yet written goes on top of whatever the store holds.
    if (this.moved) return;
    this.version = state.version;
    this.storedOpenedAt = state.openedAt;
    this.changes++;
    adoptSharedState(this.breaker, this, onLocalClock(state, this.breaker.now()));
  }

  /** The breaker moved on its own: tell the fleet (trips, re-opens, closes, manual control). */
  transitioned(reason: string): void {
    this.changes++;
    this.permits.drop();
    if (reason === 'open_duration_elapsed' || reason === 'health_check_passed') return; // half_open is a local view
    if (this.phase === 'unread') this.phase = 'unread_moved';
    else if (this.phase === 'clean') this.phase = 'dirty';
    else if (this.phase === 'writing') this.phase = 'writing_dirty';
    if (reason === 'manual_reset' || reason === 'trials_succeeded') this.clearPending = true;
    this.flush();
  }

  /**
   * half_open: whether this instance holds a fleet permit for a trial in `slot`. Without one, asks
   * the store for one (the call is rejected meanwhile; the answer comes within a round trip).
   */
  takeGrant(slot: number, nowMs: number): boolean {
    if (this.permits.take(slot, nowMs)) return true;
    if (this.moved || this.phase === 'writing') {
      // This instance's opening is not the stored one yet: a permit of the stored version would
      // belong to another opening (and be freed when ours is written). Write ours first.
      this.flush();
      return false;
    }
    if (this.permits.mayClaim(nowMs)) this.claim(nowMs);
    return false;
  }

  /** ms until a permit may be granted. */
  retryAfterMs(nowMs: number): number {
    return this.permits.retryAfterMs(nowMs);
  }

  /** A trial in `slot` succeeded: count it fleet-wide (the store closes the circuit on the last needed one). */
  trialSucceeded(slot: number): void {
    const grant = this.permits.release(slot);
    if (grant === undefined || !this.active) return;
    const version = this.version;
    void this.session
      .run(() => this.store.completeTrial(this.name, version, grant.token, this.breaker.options.halfOpenMaxCalls))
      .then((state) => this.adopt(state));
  }

  /**
   * A trial in `slot` ended otherwise. Ignored (neither success nor failure): the permit serves
   * this instance's next trial instead of staying taken until it expires. Failed: the re-open is
   * proposed, which frees every permit.
   */
  trialEnded(slot: number, ignored: boolean): void {
    const grant = this.permits.release(slot);
    if (ignored && grant !== undefined) this.permits.granted(grant);
  }

  fellBack(): void {
    this.fallbacks++;
    this.permits.drop();
  }

  /** The store is back: forget what was counted meanwhile (judged locally) and sync afresh. */
  rejoin(): this {
    this.calls = this.failures = this.slowCalls = 0;
    this.permits.drop();
    return this;
  }

  leave(): void {
    if (this.phase === 'left') return;
    this.phase = 'left';
    this.session.leave(this);
  }

  /** Brings local state and the store's together after a sync or a refused claim. */
  private reconcile(state: SharedState | undefined): void {
    if (this.phase === 'left' || this.phase === 'writing' || this.phase === 'writing_dirty') return; // a write's answer settles it
    const valid = state !== undefined && validState(state);
    if (this.firstRead(state)) return;
    if (valid && state.version < this.version) {
      // The store's history restarted (flushed, restarted without persistence, restored): its
      // numbering counts from now on, and what it holds is the fleet's present state.
      this.version = state.version - 1;
    }
    if (valid && state.version > this.version) {
      // Peers moved the state on while this instance's transitions went unwritten (an outage):
      // the fleet's newer state wins over a local view from the outage.
      this.phase = 'clean';
      this.clearPending = false;
      this.adopt(state);
      return;
    }
    const mine = sharedViewOf(this.breaker);
    if (this.phase === 'dirty') {
      this.flush();
    } else if (valid) {
      if (state.state !== mine.state || (state.state === 'open' && !sameTime(state.openedAt, this.storedOpenedAt))) {
        // Same version, other content: the store's history restarted (its data was lost) and a
        // peer's write reused this version. What it holds is the fleet's present state.
        this.version = state.version - 1;
        this.adopt(state);
      }
    } else if (mine.state !== 'closed') {
      // The store lost a non-closed state: write the local state back so peers converge on it.
      this.phase = 'dirty';
      this.flush();
    }
  }

  /**
   * The first read of the shared state (nothing happens on later reads). If this instance moved
   * before it, whatever the store held was written earlier: the local transition goes on top of it
   * (returns true).
   */
  private firstRead(state: SharedState | undefined): boolean {
    if (this.phase === 'unread') {
      this.phase = 'clean';
      return false;
    }
    if (this.phase !== 'unread_moved') return false;
    this.phase = 'dirty';
    if (state !== undefined && validState(state) && state.version > this.version) this.version = state.version;
    this.flush();
    return true;
  }

  /** Writes the local state if a transition is queued and the store is up. */
  private flush(): void {
    if (this.phase !== 'dirty' || !this.active) return;
    this.phase = 'writing';
    const clearWindow = this.clearPending;
    this.clearPending = false;
    const request = { name: this.name, expectedVersion: this.version, next: sharedViewOf(this.breaker), nowMs: this.breaker.now(), clearWindow };
    void this.session
      .run(() => this.store.transition(request))
      .then((state) => {
        if (this.phase === 'left') return;
        if (state === undefined || !validState(state)) {
          // Not written (the store failed): written when the store answers again.
          this.phase = 'dirty';
          this.clearPending ||= clearWindow;
          return;
        }
        this.unreadable = false;
        if (this.phase === 'writing_dirty') {
          // Another local transition happened meanwhile: write it on top of this answer.
          this.version = state.version;
          this.phase = 'dirty';
          this.flush();
          return;
        }
        this.phase = 'clean';
        this.unreadable = false; // written over whatever the store held
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
    this.permits.claiming = true;
    void this.session
      .run(() =>
        this.store.acquireTrial({
          name: this.name,
          version,
          token,
          maxCalls: opts.halfOpenMaxCalls,
          nowMs,
          expiresAtMs: usableUntilMs + opts.halfOpenProbeTimeoutMs,
          openUntilMs: sharedViewOf(this.breaker).openUntil,
          ignoreOpenUntil: opts.healthCheck !== undefined,
        }),
      )
      .then((reply) => {
        this.permits.claiming = false;
        if (this.phase === 'left' || reply === undefined || reply === null || typeof reply !== 'object') return;
        const settled = this.phase === 'clean' || this.phase === 'unread';
        if (reply.granted === true && version === this.version && mark === this.changes && settled) {
          this.permits.granted({ token, usableUntilMs });
          return;
        }
        if (mark !== this.changes) return; // refused for a state this instance has left since
        this.permits.refused(reply.retryAtMs);
        this.reconcile(reply.state);
      });
  }

  private warnCorrupt(): void {
    if (this.corruptWarned) return;
    this.corruptWarned = true;
    this.store.logger.warn(
      `circuit breaker "${this.name}": the store holds unreadable data for this breaker; it is ignored and overwritten by the next transition`,
    );
  }
}

/** Both NaN (no opening), or the same time. */
function sameTime(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
