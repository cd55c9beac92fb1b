/**
 * The seam through which breakers of the same name share their state across instances (the way
 * @nestjs/throttler has ThrottlerStorage). A store only offers a few atomic primitives; the
 * coordination (when to sync, what to adopt, falling back to the local breaker) is the same for
 * every store and lives in store-link.ts and store-session.ts.
 *
 * Without a store a breaker keeps everything in its own fields: that is the default, and it costs
 * nothing. {@link InMemoryCircuitBreakerStore} shares state between breakers of one process (tests,
 * several apps in one process); `RedisCircuitBreakerStore` (subpath `nestjs-breaker/redis`)
 * shares it across a fleet.
 */
import type { Clock } from '../clock.js';
import { monotonicClock } from '../clock.js';
import { CircuitBreakerConfigError } from '../errors.js';
import { methodOf, own } from '../validator.js';
import { SHARED_STATES } from '../states/index.js';
import type { SharedCircuitState } from '../states/index.js';
import type { WindowCounts } from '../windows/sliding-window.js';
import type { FleetOptions, FleetOptionsChange, FleetOptionsWrite } from './fleet-options.js';

export type { WindowCounts };
export type { FleetOptions, FleetOptionsChange, FleetOptionsWrite };

/**
 * The states a fleet shares (from the state table). half_open is an instance's own view of an
 * `open` circuit whose open duration has elapsed.
 */
export type { SharedCircuitState };

/**
 * What opened a circuit, as the instance that opened it saw it: the reason, and the window it
 * judged (the fleet's window for a fleet-window trip). Peers that adopt the opening report these
 * facts, not their own (empty) window.
 */
export interface OpeningFacts {
  readonly reason: string;
  readonly calls: number;
  /** Percent. */
  readonly failureRate: number;
  /** Percent. */
  readonly slowCallRate: number;
}

/**
 * One breaker's state as the store holds it. Times are milliseconds on the store's clock when the
 * store gives `readAtMs` (Redis: the server's `TIME`), else on the writer's clock.
 */
export interface SharedState {
  /** Bumped by every accepted transition; 0 means nothing is stored yet. */
  readonly version: number;
  readonly state: SharedCircuitState;
  /** When the current opening began (NaN when not open). */
  readonly openedAt: number;
  /** open: the earliest time a trial may start. */
  readonly openUntil: number;
  /** Openings since the last close (the backoff's k). */
  readonly openStreak: number;
  /**
   * The store's clock when this state was read or published. With it, a reader places the stored
   * times on its own clock (`own now + (openUntil - readAtMs)`), so host clock skew does not shift
   * the end of an opening. Stores without a clock of their own omit it.
   */
  readonly readAtMs?: number;
  /** open / forced_open: what opened it, as the instance that opened it saw it. */
  readonly trip?: OpeningFacts;
}

/** The local state to write: times on the writer's clock (the store moves them onto its own). */
export type LocalSharedState = Omit<SharedState, 'version' | 'readAtMs'>;

/** How the fleet's window is kept: time slices of `bucketMs`, the newest `buckets` of them summed. */
export interface FleetWindowSpec {
  readonly bucketMs: number;
  readonly buckets: number;
  /** Count windows: stop summing (newest first) once this many calls are covered; 0 for time windows. */
  readonly countLimit: number;
}

export interface SyncRequest {
  readonly name: string;
  readonly nowMs: number;
  /** Calls this instance completed since its last sync, added to the slice of `nowMs`. */
  readonly delta: WindowCounts;
  readonly window: FleetWindowSpec;
  /**
   * The version of the fleet options record this instance has (0: none). A store that keeps fleet
   * options answers the record in {@link SyncReply.options} when it holds a newer one.
   */
  readonly optionsVersion?: number;
}

export interface SyncReply extends WindowCounts {
  /** The stored state; undefined when nothing valid is stored (never written, or corrupted). */
  readonly state: SharedState | undefined;
  /** The stored state or window could not be read (it is ignored, and overwritten by the next transition). */
  readonly corrupt: boolean;
  /**
   * The stored state itself could not be read (not only a window slice): until a transition
   * overwrites it, peers' transitions cannot reach this instance. Omitted: `corrupt && !state`.
   */
  readonly stateUnreadable?: boolean;
  /** The breaker's fleet options record, when newer than the request's `optionsVersion`. */
  readonly options?: FleetOptions;
}

export interface TransitionRequest {
  readonly name: string;
  /** Applied only if the stored version is still this one (or the stored state is missing or corrupt). */
  readonly expectedVersion: number;
  /**
   * Times on the writer's clock, read at `nowMs`. A store with a clock of its own stores
   * `t + (its now - nowMs)` (a duration from its now, so the writer's clock offset does not matter).
   */
  readonly next: LocalSharedState;
  /** The writer's clock when the request was made. */
  readonly nowMs: number;
  /** Start the fleet's window afresh (a close after trials, a reset). */
  readonly clearWindow: boolean;
}

export interface TrialRequest {
  readonly name: string;
  /** The opening the trial belongs to. */
  readonly version: number;
  /** Identifies the permit (instance and sequence); released by {@link CircuitBreakerStore.completeTrial}. */
  readonly token: string;
  readonly maxCalls: number;
  readonly nowMs: number;
  /** The permit frees itself at this time if never completed (a crashed instance cannot hold it). */
  readonly expiresAtMs: number;
  /**
   * The end of the opening on the requester's clock (the stored openUntil moved onto it): a permit
   * is refused before it. Compared with `nowMs`, never with the store's clock, so clock skew
   * between the requester and the store does not matter.
   */
  readonly openUntilMs: number;
  /** Health-check recovery: the open duration is not a condition. */
  readonly ignoreOpenUntil: boolean;
}

export interface TrialReply {
  readonly granted: boolean;
  /** Not granted: when a permit may be free again (on the requester's clock). */
  readonly retryAtMs: number;
  readonly state: SharedState | undefined;
}

/** How one instance sees one breaker, in its heartbeat. Rates in percent. */
export interface FleetBreakerView {
  readonly state: string;
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly calls: number;
  /** `shared`, `local_fallback` or `unreadable` (see `snapshot().store`). */
  readonly store?: string;
}

/** What an instance publishes about itself, every few sync intervals (see docs/fleet.md, the fleet view). */
export interface InstanceHeartbeat {
  /** `<hostname>:<pid>:<random>`: unique per process and store. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** The breakers of this store the instance uses, by name. */
  readonly breakers: Readonly<Record<string, FleetBreakerView>>;
}

/** A heartbeat that has not expired. */
export interface LiveInstance extends InstanceHeartbeat {
  /** How long ago (store's clock) the heartbeat was written, in ms. */
  readonly ageMs: number;
}

/** Where a store reports its outages. The Nest module passes its Logger. */
export interface StoreLogger {
  warn(message: string): void;
  log(message: string): void;
}

/**
 * A place breakers of the same name share their state. Every method may reject or hang: the
 * breaker never waits on it (calls are admitted from local state), gives up after
 * `commandTimeoutMs` and carries on locally until {@link ping} succeeds again.
 */
export interface CircuitBreakerStore {
  /** How often an instance sends its window deltas and reads the fleet's window (ms). */
  readonly syncIntervalMs: number;
  /** A store operation not answered by then counts as a failure of the store (ms). */
  readonly commandTimeoutMs: number;
  /** Time source for the sync ticker (tests pass a ManualClock). */
  readonly clock: Clock;
  logger: StoreLogger;
  /** Adds each request's delta and answers the fleet's window and the stored state, in order. */
  sync(requests: readonly SyncRequest[]): Promise<readonly SyncReply[]>;
  /** Compare-and-set on the version; answers the state in force afterwards (ours if accepted). */
  transition(request: TransitionRequest): Promise<SharedState | undefined>;
  /** Takes one of the fleet's half-open permits for the opening `version`, atomically. */
  acquireTrial(request: TrialRequest): Promise<TrialReply>;
  /** A trial succeeded: frees its permit and counts it; the last needed success closes the circuit. */
  completeTrial(name: string, version: number, token: string, maxCalls: number): Promise<SharedState | undefined>;
  /**
   * Optional: stores the breaker's fleet options record under the next version and answers it
   * (peers receive it with their next sync). Without it, `registry.reconfigure(..., { fleet: true })`
   * is refused for breakers of this store.
   */
  writeOptions?(write: FleetOptionsWrite): Promise<FleetOptions>;
  /**
   * Optional (the fleet view): stores this instance's heartbeat for `ttlMs` (on the store's clock),
   * replacing its previous one; `ttlMs` 0 removes it (the instance stopped).
   */
  heartbeat?(beat: InstanceHeartbeat, ttlMs: number): Promise<void>;
  /** Optional (the fleet view): the heartbeats that have not expired, with their age on the store's clock. */
  instances?(): Promise<readonly LiveInstance[]>;
  /** Peers' accepted transitions, as they happen. Returns the unsubscribe function. */
  subscribe(listener: (name: string, state: SharedState) => void): () => void;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  /** Called when the last breaker using the store is disposed: release connections and timers. */
  release(): Promise<void>;
}

/**
 * Whether a value a store answered is a usable state. Stores parse their own wire format; this is
 * the one check every answer passes before a breaker acts on it.
 */
export function isSharedState(value: unknown): value is SharedState {
  if (value === null || typeof value !== 'object') return false;
  const state = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(state.version) &&
    (state.version as number) > 0 &&
    SHARED_STATES.has(state.state as string) &&
    typeof state.openedAt === 'number' &&
    typeof state.openUntil === 'number' &&
    Number.isFinite(state.openUntil) &&
    Number.isSafeInteger(state.openStreak) &&
    (state.openStreak as number) >= 0 &&
    (state.readAtMs === undefined || (typeof state.readAtMs === 'number' && Number.isFinite(state.readAtMs))) &&
    (state.trip === undefined || isOpeningFacts(state.trip))
  );
}

function isOpeningFacts(value: unknown): value is OpeningFacts {
  if (value === null || typeof value !== 'object') return false;
  const facts = value as Record<string, unknown>;
  const percent = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 100;
  return typeof facts.reason === 'string' && Number.isSafeInteger(facts.calls) && (facts.calls as number) >= 0 && percent(facts.failureRate) && percent(facts.slowCallRate);
}

/** Options every store takes. */
export interface StoreOptions {
  /** How often each instance sends its window deltas and reads the fleet's window, in ms. Default 200. */
  syncIntervalMs?: number;
  /** A store operation not answered in this many ms counts as a store outage. Default 250. */
  commandTimeoutMs?: number;
  /** Where outages and recoveries are reported. Default: `process.emitWarning` for warnings, nothing for recoveries. */
  logger?: StoreLogger;
  /** Time source for the sync ticker and the stored times. Default: the monotonic epoch clock. */
  clock?: Clock;
}

export const STORE_DEFAULTS = { syncIntervalMs: 200, commandTimeoutMs: 250 } as const;

export const defaultStoreLogger: StoreLogger = {
  warn: (message) => process.emitWarning(message, { code: 'CIRCUIT_BREAKER_STORE' }),
  log: () => {},
};

/**
 * Validates the options every store shares; `store` names the store in the
 * {@link CircuitBreakerConfigError} a bad option raises.
 */
export function resolveStoreOptions(store: string, options: StoreOptions = {}): Required<StoreOptions> {
  if (options === null || typeof options !== 'object') throw CircuitBreakerConfigError.forComponent(store, 'options', options, 'an object');
  const check = (option: keyof StoreOptions, fallback: number): number => {
    const value = own(options, option);
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 60_000) {
      throw CircuitBreakerConfigError.forComponent(store, option, value, 'a number of ms in (0, 60000]');
    }
    return value;
  };
  const logger = (own(options, 'logger') ?? defaultStoreLogger) as StoreLogger;
  if (logger === null || typeof logger !== 'object' || methodOf(logger, 'warn') === undefined || methodOf(logger, 'log') === undefined) {
    throw CircuitBreakerConfigError.forComponent(store, 'logger', logger, 'an object with warn(message) and log(message) methods');
  }
  const clock = (own(options, 'clock') ?? monotonicClock) as Clock;
  if (clock === null || typeof clock !== 'object' || methodOf(clock, 'now') === undefined) {
    throw CircuitBreakerConfigError.forComponent(store, 'clock', clock, 'an object with a now() method returning milliseconds');
  }
  return {
    syncIntervalMs: check('syncIntervalMs', STORE_DEFAULTS.syncIntervalMs),
    commandTimeoutMs: check('commandTimeoutMs', STORE_DEFAULTS.commandTimeoutMs),
    logger,
    clock,
  };
}
