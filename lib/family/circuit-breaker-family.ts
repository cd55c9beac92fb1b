/**
 * A family of keyed breakers: one breaker per key (a host, a tenant, a shard), each built from the
 * family's options and named `<family>:<key>`, so one bad shard opens its own circuit only.
 * Framework-free (the Nest layer reaches it through `CircuitBreakerRegistry.family(name)`).
 *
 * Bounded: at most `maxKeys` breakers, and a closed breaker unused for `idleTtlMs` is retired
 * (idle-sweeps.ts). Per call, a known key costs a Map lookup and a counter increment.
 */
import { CircuitBreaker } from '../core/circuit-breaker.js';
import { ratioThresholdWarning, withoutRatioWarning } from '../core/ratio-warning.js';
import type { CircuitState, StateChangeEvent, StateChangeListener } from '../core/circuit-breaker.js';
import type { Clock } from '../core/clock.js';
import { monotonicClock } from '../core/clock.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { Listeners } from '../core/listeners.js';
import type { CircuitBreakerSettings } from '../core/options.js';
import { resolveOptions } from '../core/options.js';
import { CIRCUIT_STATES, STATE_TABLE } from '../core/states/index.js';
import { CircuitBreakerKeyError, OVERFLOW_KEY, checkFamilyName, keyProblem, resolveFamilyLimits, splitFamilySettings } from './family-options.js';
import type { CircuitBreakerFamilyOptions, CircuitBreakerFamilySettings, ResolvedFamilyLimits } from './family-options.js';
import { IdleSweeps } from './idle-sweeps.js';

/** Why a family let a key's breaker go. */
export type RetireReason = 'idle' | 'evicted';

export interface BreakerRetiredEvent {
  readonly family: string;
  readonly key: string;
  /** `<family>:<key>` */
  readonly name: string;
  /** `idle`: unused for `idleTtlMs`; `evicted`: the least recently used closed breaker, at `maxKeys`. */
  readonly reason: RetireReason;
  /** The breaker, disposed: its last snapshot and totals can still be read. */
  readonly breaker: CircuitBreaker;
}

/** A family at a glance (health, the admin API). */
export interface CircuitBreakerFamilySummary {
  readonly name: string;
  /** Keys with a breaker of their own. */
  readonly keys: number;
  readonly maxKeys: number;
  /** How many keys are in each state (every state listed, 0 included). */
  readonly states: Readonly<Record<CircuitState, number>>;
  /** Keys whose breaker does not admit every call (open, half_open, forced_open), sorted, at most `openKeysCap`. */
  readonly openKeys: readonly string[];
  /** How many such keys there are (more than `openKeys` lists when over the cap). */
  readonly openKeyCount: number;
  /** The overflow breaker's state while it exists (every key open at `maxKeys`). */
  readonly overflow?: CircuitState;
}



const NOT_ADMITTING: ReadonlySet<CircuitState> = new Set(CIRCUIT_STATES.filter((state) => STATE_TABLE[state].admits !== 'all'));

export class CircuitBreakerFamily {
  readonly name: string;
  private settings: CircuitBreakerSettings;
  private limits: ResolvedFamilyLimits;
  private readonly clock: Clock;
  /** Each key's breaker; its recency of use is `breaker.familyUse`. */
  private readonly members = new Map<string, CircuitBreaker>();
  /** Calls (and creations) so far: the recency stamp of members. */
  private uses = 0;
  private closed = 0;
  /** The breaker new keys share while every key's circuit is open at maxKeys (key `_overflow`). */
  private overflow: CircuitBreaker | null = null;
  private warnedOverflow = false;
  private warnedRatios = false;
  /** Least recently used closed members from the last scan, oldest first, with their stamps then. */
  private evictable: { key: string; breaker: CircuitBreaker; lastUse: number }[] = [];
  private readonly sweeps: IdleSweeps;
  private disposed = false;
  private readonly warn: (message: string, code: string) => void;
  private readonly stateListeners = new Listeners<StateChangeEvent>();
  private readonly retireListeners = new Listeners<BreakerRetiredEvent>();
  private readonly createListeners = new Listeners<CircuitBreaker>();
  /** One listener for every member (no closure per key). */
  private readonly onMemberChange = (event: StateChangeEvent): void => {
    if (event.from === 'closed' && event.to !== 'closed') this.closed--;
    else if (event.to === 'closed' && event.from !== 'closed') this.closed++;
    this.stateListeners.emit(event, (error) => this.report(error, 'onStateChange listener'));
  };
  private readonly onOverflowChange = (event: StateChangeEvent): void => {
    this.stateListeners.emit(event, (error) => this.report(error, 'onStateChange listener'));
  };

  constructor(options: CircuitBreakerFamilyOptions) {
    if (options === null || typeof options !== 'object') {
      throw new CircuitBreakerConfigError('(unnamed family)', 'options', options, 'an object { name, ...breaker options, maxKeys?, idleTtlMs? }');
    }
    const { name, onWarning, ...settings } = options;
    this.name = checkFamilyName(name);
    if (onWarning !== undefined && typeof onWarning !== 'function') throw new CircuitBreakerConfigError(this.name, 'onWarning', onWarning, 'a function');
    this.limits = resolveFamilyLimits(this.name, settings);
    this.settings = splitFamilySettings(settings).breaker;
    this.clock = settings.clock ?? monotonicClock;
    this.warn = onWarning ?? ((message, code) => process.emitWarning(message, { code }));
    this.sweeps = new IdleSweeps(this.clock, {
      uses: () => this.uses,
      idleTtlMs: () => this.limits.idleTtlMs,
      retireIdle: (idleSince) => this.retireIdle(idleSince),
      isEmpty: () => this.disposed || (this.members.size === 0 && this.overflow === null),
    });
    this.warnRatios();
  }

  /** The family's limits in force. */
  get maxKeys(): number {
    return this.limits.maxKeys;
  }

  get idleTtlMs(): number {
    return this.limits.idleTtlMs;
  }

  /** The breaker options every key's breaker is built from (without limits). */
  get breakerSettings(): Readonly<CircuitBreakerSettings> {
    return this.settings;
  }

  /** Keys with a breaker of their own right now. */
  get size(): number {
    return this.members.size;
  }

  /**
   * Runs `fn` through the breaker of `key` (made on first use). Always a promise, like
   * `CircuitBreaker.execute`; an invalid key rejects with {@link CircuitBreakerKeyError} naming the
   * family, and nothing is recorded.
   */
  execute<T>(key: string, fn: (signal?: AbortSignal) => T | PromiseLike<T>): Promise<T> {
    const breaker = this.members.get(key);
    if (breaker !== undefined) {
      breaker.familyUse = ++this.uses;
      return breaker.execute(fn);
    }
    let made: CircuitBreaker;
    try {
      made = this.admit(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return made.execute(fn);
  }

  /** Runs a synchronous `fn` through the breaker of `key`; throws {@link CircuitBreakerKeyError} for an invalid key. */
  executeSync<T>(key: string, fn: (signal?: AbortSignal) => T): T {
    return this.get(key).executeSync(fn);
  }

  /**
   * The breaker of `key`, made on first use (counts as a use). Throws {@link CircuitBreakerKeyError}
   * for an invalid key. Call it per call rather than keeping the breaker: a retired breaker still
   * works but is no longer the family's (health, metrics and the admin API no longer see it).
   */
  get(key: string): CircuitBreaker {
    const breaker = this.members.get(key);
    if (breaker !== undefined) {
      breaker.familyUse = ++this.uses;
      return breaker;
    }
    return this.admit(key);
  }

  /** The breaker of `key` if it has one now; never makes one and does not count as a use. */
  find(key: string): CircuitBreaker | undefined {
    return key === OVERFLOW_KEY ? (this.overflow ?? undefined) : this.members.get(key);
  }

  has(key: string): boolean {
    return this.members.has(key);
  }

  keys(): string[] {
    return [...this.members.keys()];
  }

  /** The breakers of every key, then the overflow breaker if there is one. */
  breakers(): CircuitBreaker[] {
    const all: CircuitBreaker[] = [];
    for (const breaker of this.members.values()) all.push(breaker);
    if (this.overflow !== null) all.push(this.overflow);
    return all;
  }

  summary(openKeysCap = 20): CircuitBreakerFamilySummary {
    const states = Object.fromEntries(CIRCUIT_STATES.map((state) => [state, 0])) as Record<CircuitState, number>;
    const open: string[] = [];
    for (const [key, breaker] of this.members) {
      const state = breaker.state;
      states[state]++;
      if (NOT_ADMITTING.has(state)) open.push(key);
    }
    open.sort();
    return {
      name: this.name,
      keys: this.members.size,
      maxKeys: this.limits.maxKeys,
      states,
      openKeys: open.slice(0, Math.max(0, openKeysCap)),
      openKeyCount: open.length,
      ...(this.overflow === null ? {} : { overflow: this.overflow.state }),
    };
  }

  /** Every key's breaker back to closed (`reset()` on each, and on the overflow breaker). */
  resetAll(): void {
    for (const breaker of this.breakers()) breaker.reset();
  }

  /**
   * New options for every key's breaker, those alive and those made later; validated first (an
   * invalid value throws and changes nothing). A lower `maxKeys` retires the least recently used
   * closed breakers at once, down to the new limit (reason `evicted`); open and half-open ones
   * stay while they protect, and go as they close. `idleTtlMs` applies from the next sweep on.
   */
  reconfigure(settings: CircuitBreakerFamilySettings): void {
    const { breaker, limits } = splitFamilySettings(settings);
    if (breaker.store !== undefined && breaker.store !== this.settings.store) {
      throw new CircuitBreakerConfigError(this.name, 'store', breaker.store, 'the store the family was created with (a store cannot change at runtime)');
    }
    if (breaker.clock !== undefined && breaker.clock !== this.clock) {
      throw new CircuitBreakerConfigError(this.name, 'clock', breaker.clock, 'the clock the family was created with (a clock cannot change at runtime)');
    }
    const merged: Record<string, unknown> = { ...this.settings, ...breaker };
    for (const key of Object.keys(breaker)) if ((breaker as Record<string, unknown>)[key] === undefined) delete merged[key];
    const nextLimits = resolveFamilyLimits(this.name, { ...merged, maxKeys: limits.maxKeys ?? this.limits.maxKeys, idleTtlMs: limits.idleTtlMs ?? this.limits.idleTtlMs });
    for (const b of this.breakers()) b.reconfigure(breaker);
    this.settings = merged as CircuitBreakerSettings;
    const ttlChanged = nextLimits.idleTtlMs !== this.limits.idleTtlMs;
    this.limits = nextLimits;
    if (this.members.size > nextLimits.maxKeys) this.trimTo(nextLimits.maxKeys);
    this.warnRatios();
    if (ttlChanged && this.sweeps.running) {
      this.sweeps.stop();
      this.sweeps.start();
    }
  }

  /** State changes of every key's breaker (names `<family>:<key>`), and of the overflow breaker. */
  onStateChange(listener: StateChangeListener): () => void {
    return this.stateListeners.add(listener);
  }

  /** A key's breaker was retired (idle, or evicted at `maxKeys`), after it was disposed. */
  onRetire(listener: (event: BreakerRetiredEvent) => void): () => void {
    return this.retireListeners.add(listener);
  }

  /** A breaker was made for a key (or the overflow breaker), before its first call. */
  onCreate(listener: (breaker: CircuitBreaker) => void): () => void {
    return this.createListeners.add(listener);
  }

  /** Disposes every breaker and stops the sweeps; the family keeps working but arms no timer again. */
  dispose(): void {
    this.disposed = true;
    this.sweeps.stop();
    for (const breaker of this.breakers()) breaker.dispose();
  }

  // ------------------------------------------------------------------------------ keys come and go

  /** A breaker for a key seen for the first time: its own, or the overflow breaker when every key is open at maxKeys. */
  private admit(key: string): CircuitBreaker {
    const problem = keyProblem(this.name, key);
    if (problem !== undefined) throw new CircuitBreakerKeyError(this.name, key, problem);
    // A loop, not one eviction: after maxKeys was lowered, open members kept then may have closed since.
    while (this.members.size >= this.limits.maxKeys) if (!this.evictOne()) return this.overflowBreaker();
    const breaker = this.build(key);
    breaker.familyUse = ++this.uses;
    this.members.set(key, breaker);
    breaker.onStateChange(this.onMemberChange);
    if (breaker.state === 'closed') this.closed++;
    if (!this.sweeps.running && !this.disposed) this.sweeps.start();
    return breaker;
  }

  private build(key: string): CircuitBreaker {
    const breaker = withoutRatioWarning(() => new CircuitBreaker({ ...this.settings, name: `${this.name}:${key}` }));
    this.createListeners.emit(breaker, (error) => this.report(error, 'onCreate listener'));
    return breaker;
  }

  private overflowBreaker(): CircuitBreaker {
    let overflow = this.overflow;
    if (overflow === null) {
      this.overflow = overflow = this.build(OVERFLOW_KEY);
      overflow.onStateChange(this.onOverflowChange);
      if (!this.sweeps.running && !this.disposed) this.sweeps.start();
    }
    overflow.familyUse = ++this.uses;
    if (!this.warnedOverflow) {
      this.warnedOverflow = true;
      this.warn(
        `Circuit breaker family "${this.name}": all ${this.limits.maxKeys} keys (maxKeys) have a breaker that is not closed, so new keys share ` +
          `the breaker "${overflow.name}" until one closes or is retired (warned once per family)`,
        'CIRCUIT_BREAKER_FAMILY_OVERFLOW',
      );
    }
    return overflow;
  }

  /** Retires the least recently used closed member; false when none is closed. */
  private evictOne(): boolean {
    if (this.closed <= 0) return false;
    for (let attempt = 0; attempt < 2; attempt++) {
      while (this.evictable.length > 0) {
        const { key, breaker, lastUse } = this.evictable.shift()!;
        // Still the family's, still closed, unused since the scan: still the least recently used.
        if (this.members.get(key) === breaker && breaker.familyUse === lastUse && breaker.state === 'closed') {
          this.retire(key, breaker, 'evicted');
          return true;
        }
      }
      this.scanEvictable();
    }
    return false;
  }

  /** Retires least recently used closed members until at most `maxKeys` remain (or none closed is left). */
  private trimTo(maxKeys: number): void {
    const closed: { key: string; breaker: CircuitBreaker }[] = [];
    for (const [key, breaker] of this.members) if (breaker.state === 'closed') closed.push({ key, breaker });
    closed.sort((a, b) => a.breaker.familyUse - b.breaker.familyUse);
    for (const { key, breaker } of closed) {
      if (this.members.size <= maxKeys) break;
      this.retire(key, breaker, 'evicted');
    }
    // The batch noted for eviction was sized for the old limit and may name retired members.
    this.evictable = [];
  }

  /** Notes the least recently used closed members, a batch at a time (a scan per eviction would cost maxKeys each). */
  private scanEvictable(): void {
    const closed: { key: string; breaker: CircuitBreaker; lastUse: number }[] = [];
    for (const [key, breaker] of this.members) if (breaker.state === 'closed') closed.push({ key, breaker, lastUse: breaker.familyUse });
    closed.sort((a, b) => a.lastUse - b.lastUse);
    this.evictable = closed.slice(0, Math.max(1, Math.ceil(this.limits.maxKeys / 8)));
  }

  private retire(key: string, breaker: CircuitBreaker, reason: RetireReason): void {
    if (breaker === this.overflow) this.overflow = null;
    else {
      this.members.delete(key);
      if (breaker.state === 'closed') this.closed--;
    }
    breaker.dispose();
    if (this.retireListeners.empty) return;
    const event: BreakerRetiredEvent = { family: this.name, key, name: breaker.name, reason, breaker };
    this.retireListeners.emit(event, (error) => this.report(error, 'onRetire listener'));
  }

  /** The sweeps' verdict: every closed breaker last used at or before `idleSince` goes. */
  private retireIdle(idleSince: number): void {
    if (this.disposed) return;
    for (const [key, breaker] of [...this.members]) {
      if (breaker.familyUse <= idleSince && breaker.state === 'closed') this.retire(key, breaker, 'idle');
    }
    const overflow = this.overflow;
    if (overflow !== null && overflow.familyUse <= idleSince && overflow.state === 'closed') this.retire(OVERFLOW_KEY, overflow, 'idle');
  }

  /** A threshold that looks like a ratio (0.5 meant as 50 %): one warning for the family, its keys' breakers say nothing. */
  private warnRatios(): void {
    if (this.warnedRatios) return;
    const warning = ratioThresholdWarning(resolveOptions({ ...this.settings, name: this.name }), `Circuit breaker family "${this.name}" (every key's breaker)`);
    if (warning === undefined) return;
    this.warnedRatios = true;
    this.warn(warning, 'CIRCUIT_BREAKER_THRESHOLD_RATIO');
  }

  private report(error: unknown, where: string): void {
    process.emitWarning(`${where} of circuit breaker family "${this.name}" threw: ${error instanceof Error ? error.message : String(error)}`, {
      code: 'CIRCUIT_BREAKER_CALLBACK_ERROR',
    });
  }
}
