/**
 * Shares breaker state across a fleet through Redis: a versioned state key per breaker, changes
 * announced on one pub/sub channel, the window as per-slice counters, half-open permits in a sorted
 * set with expiry. Every atomic step is a Lua script (redis-scripts.ts).
 *
 * Nothing here runs on a call's path: the breaker counts locally and its store link (core) calls
 * these methods from a ticker or after a transition, with a timeout, and never waits on them.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { Redis as RedisClient } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import type {
  CircuitBreakerStore,
  FleetOptions,
  FleetOptionsWrite,
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
} from '../store/index.js';
import { isSharedState, resolveStoreOptions } from '../store/index.js';
import { isFleetOptions } from '../core/fleet/fleet-options.js';
import { COMMAND_OPTIONS, RedisConnection, duplicateClient, shardedVariant } from './redis-connection.js';
import type { PubSubMode, RedisClientLike, Script, ScriptCall } from './redis-connection.js';
import {
  ACQUIRE_TRIAL_SCRIPT,
  COMPLETE_TRIAL_SCRIPT,
  HEARTBEAT_SCRIPT,
  INSTANCES_SCRIPT,
  SYNC_SCRIPT,
  TRANSITION_SCRIPT,
  WRITE_OPTIONS_SCRIPT,
} from './redis-scripts.js';

export interface RedisStoreOptions extends StoreOptions {
  /**
   * Prepended to every key and to the pub/sub channel (after the client's own ioredis `keyPrefix`,
   * if it has one). Default `'circuit-breaker:'`.
   */
  keyPrefix?: string;
  /**
   * @internal How transitions are announced; by default sharded pub/sub on a Redis >= 7 cluster,
   * one classic channel otherwise. Tests force the classic mode on a cluster.
   */
  pubSub?: PubSubMode;
}

/** Extra time a window slice is kept past the longest window that reads it, in ms. */
const SLICE_TTL_MARGIN_MS = 5_000;

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SYNC = script(SYNC_SCRIPT);
const TRANSITION = script(TRANSITION_SCRIPT);
const ACQUIRE_TRIAL = script(ACQUIRE_TRIAL_SCRIPT);
const COMPLETE_TRIAL = script(COMPLETE_TRIAL_SCRIPT);
const WRITE_OPTIONS = script(WRITE_OPTIONS_SCRIPT);
const HEARTBEAT = script(HEARTBEAT_SCRIPT);
const INSTANCES = script(INSTANCES_SCRIPT);
/** The scripts as they run in sharded pub/sub mode (they announce with SPUBLISH). */
const SHARDED = new Map<Script, Script>([SYNC, TRANSITION, ACQUIRE_TRIAL, COMPLETE_TRIAL].map((s) => [s, shardedVariant(s, script)]));

/**
 * A {@link CircuitBreakerStore} on Redis (ioredis). Pass it as the `store` option of a breaker, or in
 * the module's `defaults` for every breaker:
 *
 * ```ts
 * CircuitBreakerModule.forRoot({ defaults: { store: RedisCircuitBreakerStore.fromUrl(process.env.REDIS_URL!) } })
 * ```
 */
export class RedisCircuitBreakerStore implements CircuitBreakerStore {
  readonly syncIntervalMs: number;
  readonly commandTimeoutMs: number;
  readonly clock: Clock;
  logger: StoreLogger;
  readonly keyPrefix: string;
  /** The connections of the current session (a new one after each release). */
  private connection: RedisConnection;
  private listeners: ((name: string, state: SharedState) => void)[] = [];
  private garbageWarned = false;
  /** Breakers whose unreadable fleet options record was reported (once each). */
  private readonly optionsWarned = new Set<string>();

  /**
   * A store on the connection settings of a client you already have: a standalone or Sentinel
   * `Redis`, or a Redis `Cluster` (docs/fleet.md, "Redis Cluster"). The store opens its own two
   * duplicates of it (commands without an offline queue, and pub/sub) and closes only those: a
   * command the store gave up on must never be replayed after a reconnect, which a client with an
   * offline queue would do. Your client's lifetime stays yours.
   */
  static fromClient(client: Redis | Cluster, options: RedisStoreOptions = {}): RedisCircuitBreakerStore {
    const methods = ['duplicate', 'evalsha', 'eval', 'pipeline', 'ping'] as const;
    const missing = client === null || typeof client !== 'object' ? 'an object' : methods.find((m) => typeof client[m] !== 'function');
    if (missing !== undefined) {
      throw CircuitBreakerConfigError.forComponent('RedisCircuitBreakerStore.fromClient', 'client', client, `an ioredis client (${missing === 'an object' ? 'got no object' : `it has no ${missing}() method`})`);
    }
    const clientPrefix = client.options.keyPrefix;
    if (client.isCluster && typeof clientPrefix === 'string' && /^[^{]*\{\}/.test(clientPrefix)) {
      // The first {...} of a key is its hash tag: an empty one hashes each key on its own, and a
      // breaker's keys would land in different slots.
      throw CircuitBreakerConfigError.forComponent('RedisCircuitBreakerStore.fromClient', 'keyPrefix (of the Cluster client)', clientPrefix, 'a prefix without an empty hash tag "{}" (the store tags each breaker\'s keys with {name})');
    }
    // A cluster's duplicate takes (startupNodes, options): duplicateClient passes them its way.
    const connect = (): RedisClientLike => duplicateClient(client, { ...COMMAND_OPTIONS });
    return new RedisCircuitBreakerStore(connect, options);
  }

  /**
   * A store that opens its own connections to `url` (`redis://[:password@]host:port[/db]`), with no
   * offline queue and short timeouts, and closes them when the last breaker using it is disposed.
   */
  static fromUrl(url: string, options: RedisStoreOptions & { redisOptions?: RedisOptions } = {}): RedisCircuitBreakerStore {
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
      throw CircuitBreakerConfigError.forComponent('RedisCircuitBreakerStore.fromUrl', 'url', url, 'a redis:// or rediss:// URL');
    }
    const { redisOptions, ...storeOptions } = options;
    const resolved = resolveStoreOptions('RedisCircuitBreakerStore', storeOptions);
    const connect = (): Redis => {
      const client = new RedisClient(url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: resolved.commandTimeoutMs,
        connectTimeout: Math.max(1_000, resolved.commandTimeoutMs),
        retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
        ...redisOptions,
      });
      return client;
    };
    return new RedisCircuitBreakerStore(connect, storeOptions);
  }

  private constructor(
    private readonly connect: () => RedisClientLike,
    private readonly options: RedisStoreOptions,
  ) {
    const resolved = resolveStoreOptions('RedisCircuitBreakerStore', options);
    this.syncIntervalMs = resolved.syncIntervalMs;
    this.commandTimeoutMs = resolved.commandTimeoutMs;
    this.clock = resolved.clock;
    this.logger = resolved.logger;
    const keyPrefix = options.keyPrefix ?? 'circuit-breaker:';
    if (typeof keyPrefix !== 'string' || keyPrefix.length === 0 || /[\s{}]/.test(keyPrefix)) {
      throw CircuitBreakerConfigError.forComponent('RedisCircuitBreakerStore', 'keyPrefix', keyPrefix, 'a non-empty string without spaces or braces');
    }
    this.keyPrefix = keyPrefix;
    if (options.pubSub !== undefined && options.pubSub !== 'classic' && options.pubSub !== 'sharded') {
      throw CircuitBreakerConfigError.forComponent('RedisCircuitBreakerStore', 'pubSub', options.pubSub, "'classic' or 'sharded'");
    }
    this.connection = this.newConnection();
  }

  private newConnection(): RedisConnection {
    return new RedisConnection(this.connect, this.keyPrefix, this.commandTimeoutMs, this.options.pubSub);
  }

  /** Key of a breaker's state hash (names are URI-encoded: any name is a safe key and message field). */
  stateKey(name: string): string {
    return `${this.base(name)}:state`;
  }

  async sync(requests: readonly SyncRequest[]): Promise<readonly SyncReply[]> {
    const connection = this.connection;
    for (const request of requests) connection.follow(this.base(request.name));
    const replies = await this.run(
      connection,
      requests.map((request) => {
        const { window, delta, nowMs } = request;
        const ttlMs = Math.ceil(window.bucketMs * (window.buckets + 1)) + SLICE_TTL_MARGIN_MS;
        return {
          script: SYNC,
          keys: [this.stateKey(request.name), `${this.base(request.name)}:w:`, this.optionsKey(request.name)],
          args: [window.bucketMs, window.buckets, window.countLimit, nowMs, delta.calls, delta.failures, delta.slowCalls, ttlMs, request.optionsVersion ?? 0],
        };
      }),
    );
    const answers = replies.map((reply, i) => {
      const request = requests[i]!;
      const strings = reply as string[];
      const parsed = this.parseState(strings);
      const unreadable = parsed === undefined && strings[0] !== '';
      return {
        state: parsed,
        corrupt: strings[11] === '1' || unreadable,
        stateUnreadable: strings[15] === '1' || unreadable,
        calls: Number(strings[12]),
        failures: Number(strings[13]),
        slowCalls: Number(strings[14]),
        ...this.parseOptions(request.name, strings[16], strings[17], strings[18]),
      };
    });
    // Sharded pub/sub: a version no message brought means the subscription needs a kick.
    answers.forEach((answer, i) => connection.synced(this.base(requests[i]!.name), answer.state?.version));
    return answers;
  }

  async transition(request: TransitionRequest): Promise<SharedState | undefined> {
    const { name, expectedVersion, next, clearWindow } = request;
    const trip = next.trip;
    const facts = trip === undefined ? ['', '', '', ''] : [trip.reason.slice(0, 40), trip.calls, trip.failureRate, trip.slowCallRate];
    // One connection for the whole operation: a release while the channel is looked up must not
    // send the script on the next session's (new) connection.
    const connection = this.connection;
    const channel = await this.channelFor(connection, name);
    const [reply] = await this.run(connection, [
      {
        script: TRANSITION,
        keys: [this.stateKey(name), this.permitsKey(name)],
        args: [
          channel,
          encodeURIComponent(name),
          expectedVersion,
          next.state,
          time(next.openedAt),
          time(next.openUntil),
          next.openStreak,
          clearWindow ? '1' : '0',
          time(request.nowMs),
          this.deadline(),
          ...facts,
        ],
      },
    ]);
    return this.parseState(reply as string[]);
  }

  async acquireTrial(request: TrialRequest): Promise<TrialReply> {
    const { name } = request;
    const [reply] = await this.run(this.connection, [
      {
        script: ACQUIRE_TRIAL,
        keys: [this.stateKey(name), this.permitsKey(name)],
        args: [request.version, request.token, request.maxCalls, request.nowMs, request.expiresAtMs, request.ignoreOpenUntil ? '1' : '0', time(request.openUntilMs)],
      },
    ]);
    const strings = reply as string[];
    return { granted: strings[0] === '1', retryAtMs: Number(strings[1]), state: this.parseState(strings.slice(2)) };
  }

  async completeTrial(name: string, version: number, token: string, maxCalls: number): Promise<SharedState | undefined> {
    const connection = this.connection;
    const channel = await this.channelFor(connection, name);
    const [reply] = await this.run(connection, [
      {
        script: COMPLETE_TRIAL,
        keys: [this.stateKey(name), this.permitsKey(name)],
        args: [channel, encodeURIComponent(name), version, token, maxCalls, this.deadline()],
      },
    ]);
    return this.parseState(reply as string[]);
  }

  async writeOptions(write: FleetOptionsWrite): Promise<FleetOptions> {
    const json = JSON.stringify(write.settings);
    const [reply] = await this.run(this.connection, [{ script: WRITE_OPTIONS, keys: [this.optionsKey(write.name)], args: [json, write.source] }]);
    return { version: Number(reply), settings: JSON.parse(json) as Record<string, unknown>, source: write.source };
  }

  async heartbeat(beat: InstanceHeartbeat, ttlMs: number): Promise<void> {
    await this.run(this.connection, [{ script: HEARTBEAT, keys: [this.instancesKey()], args: [beat.id, JSON.stringify(beat), Math.max(0, Math.ceil(ttlMs))] }]);
  }

  async instances(): Promise<readonly LiveInstance[]> {
    const [reply] = await this.run(this.connection, [{ script: INSTANCES, keys: [this.instancesKey()], args: [] }]);
    const fields = Array.isArray(reply) ? (reply as string[]) : [];
    const live: LiveInstance[] = [];
    for (let i = 0; i + 2 < fields.length; i += 3) {
      try {
        const beat = JSON.parse(fields[i + 2]!) as InstanceHeartbeat;
        if (beat !== null && typeof beat === 'object' && beat.id === fields[i]) live.push({ ...beat, ageMs: Number(fields[i + 1]) });
      } catch {
        // an unreadable heartbeat is left out of the view (it expires)
      }
    }
    return live;
  }

  /** The fleet view's hash: one key per store prefix (next to the channel, `<prefix>transitions`). */
  private instancesKey(): string {
    return `${this.keyPrefix}instances`;
  }

  /** A sync reply's options record, if any and readable (garbage is ignored: the next write replaces it). */
  private parseOptions(name: string, version: string | undefined, json: string | undefined, source: string | undefined): { options?: FleetOptions } {
    if (version === undefined || version === '' || json === undefined) return {};
    try {
      const settings = JSON.parse(json) as unknown;
      const record = { version: Number(version), settings, source: source ?? '' };
      if (isFleetOptions(record)) return { options: record };
    } catch {
      // unreadable: ignored below
    }
    if (this.optionsWarned.has(name)) return {};
    this.optionsWarned.add(name);
    this.logger.warn(`circuit breaker "${name}": the store holds an unreadable fleet options record; it is ignored until the next fleet-wide reconfigure replaces it`);
    return {};
  }

  subscribe(listener: (name: string, state: SharedState) => void): () => void {
    this.listeners = [...this.listeners, listener];
    this.connection.listen(this.dispatch);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async ping(): Promise<void> {
    await this.connection.ping();
  }

  /** Closes the connections the store opened (never a client given to {@link fromClient}). */
  async release(): Promise<void> {
    // Commands still in flight keep the released connection (they fail; nothing reconnects); a
    // breaker created later starts a new session on fresh connections.
    const released = this.connection;
    this.connection = this.newConnection();
    released.release();
  }

  private base(name: string): string {
    return `${this.keyPrefix}{${encodeURIComponent(name)}}`;
  }

  private optionsKey(name: string): string {
    return `${this.base(name)}:options`;
  }

  private permitsKey(name: string): string {
    return `${this.base(name)}:permits`;
  }

  /** The channel a breaker's transitions are announced on (one for all in classic mode). */
  private async channelFor(connection: RedisConnection, name: string): Promise<string> {
    return connection.channelFor(this.base(name));
  }

  private readonly dispatch = (channel: string, message: string): void => {
    const parsed = this.parseMessage(channel, message);
    if (parsed === undefined) return;
    this.connection.heard(this.base(parsed.name), parsed.state.version);
    for (const listener of this.listeners) listener(parsed.name, parsed.state);
  };

  /** Runs scripts in one round trip where the topology allows (redis-connection.ts). */
  private async run(connection: RedisConnection, calls: ScriptCall[]): Promise<unknown[]> {
    const sharded = (await connection.pubSubMode()) === 'sharded';
    return connection.run(calls, sharded ? (call) => SHARDED.get(call.script) ?? call.script : undefined);
  }

  /**
   * The server's clock as this process last saw it (server ms minus performance.now()): the base of
   * the deadlines written with transitions. Measured on every answer; it trails the server by at
   * most the answer's transit time, so a deadline errs early only by a round trip.
   */
  private serverOffsetMs: number | undefined = undefined;

  /** The latest server time a write may apply at (0: not known yet, no fence). */
  private deadline(): number {
    const offset = this.serverOffsetMs;
    return offset === undefined ? 0 : Math.floor(performance.now() + offset + this.commandTimeoutMs);
  }

  /**
   * Fields: v, s, oa, ou, k, server now, reason, calls, failureRate, slowCallRate, server time of
   * the write (see redis-scripts.ts `pack`).
   */
  private parseState(strings: readonly string[] | null | undefined): SharedState | undefined {
    if (!Array.isArray(strings)) return undefined;
    const serverNow = strings[5] === undefined || strings[5] === '' ? undefined : Number(strings[5]);
    if (serverNow !== undefined && Number.isFinite(serverNow)) this.serverOffsetMs = serverNow - performance.now();
    const readAtMs = readTime(serverNow, strings[10] === undefined || strings[10] === '' ? undefined : Number(strings[10]), this.commandTimeoutMs);
    if (strings[0] === '' || strings[0] === undefined) return undefined;
    const base = {
      version: Number(strings[0]),
      state: strings[1],
      openedAt: strings[2] === '' ? Number.NaN : Number(strings[2]),
      openUntil: Number(strings[3]),
      openStreak: Number(strings[4]),
    };
    const timed = readAtMs === undefined ? base : { ...base, readAtMs };
    const trip =
      typeof strings[6] === 'string' && strings[6] !== ''
        ? { reason: strings[6], calls: Number(strings[7]), failureRate: Number(strings[8]), slowCallRate: Number(strings[9]) }
        : undefined;
    const parsed = trip === undefined ? timed : { ...timed, trip };
    if (isSharedState(parsed)) return parsed;
    // Unreadable facts do not make the state unreadable (they only describe the opening).
    return trip !== undefined && isSharedState(timed) ? timed : undefined;
  }

  private parseMessage(channel: string, message: string): { name: string; state: SharedState } | undefined {
    const fields = typeof message === 'string' ? message.split('\n') : [];
    let name: string | undefined;
    try {
      // 12 fields (name and a packed state); 6 from instances of earlier versions (no clock, no facts)
      name = fields.length === 12 || fields.length === 6 ? decodeURIComponent(fields[0]!) : undefined;
    } catch {
      name = undefined;
    }
    const state = name === undefined ? undefined : this.parseState(fields.slice(1));
    if (name === undefined || state === undefined) {
      if (!this.garbageWarned) {
        this.garbageWarned = true;
        this.logger.warn(`circuit breaker store: ignoring an unreadable message on channel "${channel}": ${JSON.stringify(String(message).slice(0, 80))}`);
      }
      return undefined;
    }
    return { name, state };
  }
}

/**
 * The server time a reader places the stored times against: the server's now, or the time of the
 * write when that was less than a command timeout ago. A state's age that small is below what a
 * round trip blurs anyway, and a state read soon after it was written (a message, the answer to a
 * write, a sync just after it) then lands on exactly the times its writer has.
 */
function readTime(serverNow: number | undefined, writtenAt: number | undefined, graceMs: number): number | undefined {
  if (serverNow === undefined) return undefined;
  return writtenAt !== undefined && serverNow - writtenAt >= 0 && serverNow - writtenAt <= graceMs ? writtenAt : serverNow;
}

/** A time for the state hash: '' for NaN (not open). */
function time(ms: number): string {
  return Number.isFinite(ms) ? String(ms) : '';
}
