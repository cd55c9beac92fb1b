/**
 * One session per store: the sync ticker, the outage state (down until a ping answers), the pub/sub
 * subscription and the deadline of every store operation. Breakers join it through their link.
 *
 * The breaker always runs its full local state machine and admits calls from local state only;
 * the store is an overlay that (1) brings peers' transitions in, (2) trips on the fleet's window,
 * (3) limits half-open trials fleet-wide. When the store fails, the overlay switches off and the
 * breaker is exactly a local breaker until the store answers again. No store command is sent on a
 * call's path: deltas are counted in three integers and sent by the ticker.
 */
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { cancelTimer, scheduleTimer } from '../clock.js';
import type { CircuitBreakerStore, FleetBreakerView, InstanceHeartbeat, LiveInstance } from './store.js';
import type { CircuitBreaker } from '../circuit-breaker.js';
import { StoreLink } from './store-link.js';

/** Sync every link at least this often (in ticks) even without deltas: repairs a missed message. */
const REFRESH_EVERY_TICKS = 5;
/** A heartbeat every this many ticks (1 s at the default syncIntervalMs)... */
const HEARTBEAT_EVERY_TICKS = 5;
/** ...that lives this many heartbeat intervals: an instance missing 3 in a row has left the fleet view. */
const HEARTBEAT_LIFETIMES = 3;

/**
 * The live instances of `store` (from their heartbeats), this process's marked `self`; undefined
 * when the store keeps no heartbeats or did not answer within its command timeout.
 */
export async function fleetOf(store: CircuitBreakerStore): Promise<(LiveInstance & { self: boolean })[] | undefined> {
  const session = sessions.get(store);
  if (session === undefined || store.instances === undefined) return undefined;
  return session.liveInstances();
}

const sessions = new WeakMap<CircuitBreakerStore, StoreSession>();

export function joinStore(store: CircuitBreakerStore, breaker: CircuitBreaker): StoreLink {
  let session = sessions.get(store);
  if (session === undefined) {
    session = new StoreSession(store);
    sessions.set(store, session);
  }
  return session.join(breaker);
}

export class StoreSession {
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
  private heartbeatSent = false;
  private seq = 0;

  constructor(readonly store: CircuitBreakerStore) {}

  get clock(): Clock {
    return this.store.clock;
  }

  join(breaker: CircuitBreaker): StoreLink {
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

  /** This instance's heartbeat: how it sees each breaker of this store (not on any call's path). */
  private beat(): void {
    const store = this.store;
    if (store.heartbeat === undefined || !this.available) return;
    const breakers: Record<string, FleetBreakerView> = {};
    for (const [name, named] of this.links) {
      const first = named.values().next().value;
      if (first !== undefined) breakers[name] = first.view();
    }
    const beat: InstanceHeartbeat = { id: this.instance, host: hostname(), pid: process.pid, breakers };
    this.heartbeatSent = true;
    void this.run(() => store.heartbeat!(beat, HEARTBEAT_EVERY_TICKS * HEARTBEAT_LIFETIMES * store.syncIntervalMs));
  }

  /** The live heartbeats, this instance's marked. */
  async liveInstances(): Promise<(LiveInstance & { self: boolean })[] | undefined> {
    const store = this.store;
    const live = await this.run(() => store.instances!());
    if (!Array.isArray(live)) return undefined;
    return live.map((instance) => ({ ...instance, self: instance.id === this.instance }));
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
    const store = this.store;
    const release = (): void => {
      store.release().catch((error: unknown) => store.logger.warn(`circuit breaker store: release failed: ${describe(error)}`));
    };
    if (!this.heartbeatSent || !this.available || store.heartbeat === undefined) {
      release();
      return;
    }
    // Leave the fleet view at once rather than at the heartbeat's expiry; released after the
    // answer or a command timeout of real time at most (an unref'd timer: it keeps no process alive).
    let released = false;
    const once = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      release();
    };
    const timer = setTimeout(once, store.commandTimeoutMs);
    timer.unref();
    let removal: Promise<void>;
    try {
      removal = store.heartbeat({ id: this.instance, host: hostname(), pid: process.pid, breakers: {} }, 0);
    } catch {
      removal = Promise.resolve();
    }
    Promise.resolve(removal).then(once, once);
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
    if (this.ticks % HEARTBEAT_EVERY_TICKS === 0) this.beat();
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
