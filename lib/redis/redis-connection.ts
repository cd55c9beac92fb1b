/**
 * The store's connections to Redis, standalone (or Sentinel) and Redis Cluster alike: the command
 * client, the pub/sub subscriber, and how a script is called. The store (redis-circuit-breaker.store.ts)
 * says what to run; this file knows how the two topologies differ:
 *
 * - Scripts: EVALSHA, and EVAL for the calls a node answered NOSCRIPT (EVAL also caches the script
 *   on that node). SCRIPT LOAD would reach one node of a cluster only.
 * - Batches: one pipeline on a standalone server; on a cluster a pipeline must stay within one slot,
 *   so each call goes alone (ioredis writes them back to back, one round trip per node).
 * - Pub/sub: one channel for every breaker (`PUBLISH`/`SUBSCRIBE`), except on a cluster whose
 *   servers have sharded pub/sub (Redis >= 7): then each breaker has its own channel in its own hash
 *   slot (`SPUBLISH`/`SSUBSCRIBE`), so a message goes to one shard instead of every node.
 * - Duplicates: `Cluster.duplicate(startupNodes, options)` takes other arguments than
 *   `Redis.duplicate(options)` (options passed the Redis way are silently dropped).
 * - The client's own ioredis `keyPrefix` prefixes keys but never a channel: the channel names are
 *   built here with it, and the subscriber runs without it, so a prefix isolates everything.
 * - Nothing opens after {@link RedisConnection.release}: a command that was between two round trips
 *   then fails instead of connecting again.
 */
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/** @internal A client the store can duplicate: a standalone (or Sentinel) client or a cluster. */
export type RedisClientLike = Redis | Cluster;

/** @internal A Lua script and its SHA1 (EVALSHA). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

/** @internal One script call: the keys it declares and its arguments. */
export interface ScriptCall {
  readonly script: Script;
  readonly keys: readonly string[];
  readonly args: readonly (string | number)[];
}

/** @internal How transitions are announced. */
export type PubSubMode = 'classic' | 'sharded';

/** @internal Raised for a command attempted after the store released its connections. */
export class StoreReleasedError extends Error {
  constructor() {
    super('the circuit breaker store was released: no connection is opened after release');
    this.name = 'StoreReleasedError';
  }
}

/** The first Redis version with sharded pub/sub. */
const SHARDED_PUBSUB_SINCE_MAJOR = 7;

/** @internal Options of the store's own command connection: no offline queue, no replay after a reconnect. */
export const COMMAND_OPTIONS = { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, lazyConnect: false } as const;

/**
 * A duplicate of `client` with `options` (a node's options on a cluster), the way each topology takes them.
 * @internal
 */
export function duplicateClient(client: RedisClientLike, options: RedisOptions, clusterOptions: ClusterOptions = {}): RedisClientLike {
  if (client.isCluster) {
    const cluster = client as Cluster;
    const { enableOfflineQueue, lazyConnect, keyPrefix, ...nodeOptions } = options;
    return cluster.duplicate([], {
      ...clusterOptions,
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      ...(keyPrefix === undefined ? {} : { keyPrefix }),
      redisOptions: { ...cluster.options.redisOptions, ...nodeOptions, ...(keyPrefix === undefined ? {} : { keyPrefix }) },
    });
  }
  return (client as Redis).duplicate(options);
}

/** The client's own ioredis `keyPrefix` ('' when none). */
function clientKeyPrefix(client: RedisClientLike): string {
  const prefix = client.isCluster ? (client as Cluster).options.keyPrefix : (client as Redis).options.keyPrefix;
  return typeof prefix === 'string' ? prefix : '';
}

/** @internal The same script announcing on a breaker's own channel (sharded pub/sub): PUBLISH becomes SPUBLISH. */
export function shardedVariant(script: Script, make: (source: string) => Script): Script {
  const source = script.source.replace(/redis\.call\('PUBLISH', /g, "redis.call('SPUBLISH', ");
  return source === script.source ? script : make(source);
}

/** @internal */
export class RedisConnection {
  private commands: RedisClientLike | null = null;
  private subscriber: RedisClientLike | null = null;
  private released = false;
  private mode: Promise<PubSubMode> | null = null;
  /** The client's ioredis keyPrefix, known once the command client exists. */
  private clientPrefix = '';
  private readonly shardChannels = new Set<string>();
  /** Sharded mode: the subscriber's per-node connections are up (SSUBSCRIBE goes straight out). */
  private shardReady = false;
  /** Sharded mode: the newest version each followed breaker's messages (or syncs) showed. */
  private readonly heardVersions = new Map<string, number>();
  private onMessage: ((channel: string, message: string) => void) | null = null;

  constructor(
    /** Opens the command client (no offline queue). */
    private readonly connect: () => RedisClientLike,
    /** The store's prefix (before `{name}`). */
    private readonly keyPrefix: string,
    private readonly readyTimeoutMs: number,
    /** Pub/sub mode decided by the caller (tests); by default sharded on a Redis >= 7 cluster. */
    private readonly forcedMode?: PubSubMode,
  ) {}

  /** Channel of the single shared transitions channel (classic), with the client's keyPrefix. */
  get classicChannel(): string {
    this.client();
    return `${this.clientPrefix}${this.keyPrefix}transitions`;
  }

  /** Channel of a breaker (sharded): in the breaker's hash slot, with the client's keyPrefix. */
  shardChannel(base: string): string {
    this.client();
    return `${this.clientPrefix}${base}:transitions`;
  }

  /** The channel a transition of the breaker with key base `base` is announced on. */
  async channelFor(base: string): Promise<string> {
    return (await this.pubSubMode()) === 'sharded' ? this.shardChannel(base) : this.classicChannel;
  }

  pubSubMode(): Promise<PubSubMode> {
    if (this.mode === null) this.mode = this.detectMode();
    return this.mode;
  }

  private async detectMode(): Promise<PubSubMode> {
    if (this.forcedMode !== undefined) return this.forcedMode;
    const client = this.client();
    if (!client.isCluster) return 'classic';
    try {
      const info = await (await this.ready()).info('server');
      const major = Number(/redis_version:(\d+)/.exec(info)?.[1]);
      return major >= SHARDED_PUBSUB_SINCE_MAJOR ? 'sharded' : 'classic';
    } catch (error) {
      this.mode = null; // asked again next time: an outage must not decide the mode for good
      throw error;
    }
  }

  private client(): RedisClientLike {
    if (this.released) throw new StoreReleasedError();
    if (this.commands === null) {
      const client = this.connect();
      client.on('error', () => {}); // outages are reported by the breakers' link, once
      client.on('node error', () => {});
      this.clientPrefix = clientKeyPrefix(client);
      this.commands = client;
    }
    return this.commands;
  }

  /**
   * The command client, once its first connection is up: it has no offline queue, so a command
   * sent while it is still connecting would fail and look like an outage. Only the first
   * connection is awaited (bounded by the command timeout); a reconnecting client fails fast.
   */
  async ready(): Promise<RedisClientLike> {
    const client = this.client();
    if (client.status !== 'connecting' && client.status !== 'connect' && client.status !== 'wait') return client;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, this.readyTimeoutMs);
      timer.unref();
      client.once('ready', done);
    });
    if (this.released) throw new StoreReleasedError();
    return client;
  }

  async ping(): Promise<void> {
    await (await this.ready()).ping();
  }

  /**
   * Runs the calls (one round trip where the topology allows) and answers their replies in order;
   * a call whose node lost the script is sent again as EVAL. A Redis error of any call rejects.
   */
  async run(calls: readonly ScriptCall[], scriptFor: (call: ScriptCall) => Script = (call) => call.script): Promise<unknown[]> {
    const client = await this.ready();
    const answers = await this.send(client, calls, (call) => ['evalsha', scriptFor(call).sha] as const);
    const missing = answers.flatMap((answer, index) => (answer.error !== null && isNoScript(answer.error) ? [index] : []));
    if (missing.length > 0) {
      // Between two round trips: a release meanwhile must not open anything.
      if (this.released) throw new StoreReleasedError();
      const again = await this.send(
        client,
        missing.map((index) => calls[index]!),
        (call) => ['eval', scriptFor(call).source] as const,
      );
      missing.forEach((index, position) => (answers[index] = again[position]!));
    }
    return answers.map((answer) => {
      if (answer.error !== null) throw answer.error;
      return answer.result;
    });
  }

  private async send(
    client: RedisClientLike,
    calls: readonly ScriptCall[],
    how: (call: ScriptCall) => readonly ['evalsha' | 'eval', string],
  ): Promise<{ error: Error | null; result: unknown }[]> {
    const argv = (call: ScriptCall): (string | number)[] => [call.keys.length, ...call.keys, ...call.args.map(String)];
    if (client.isCluster || calls.length === 1) {
      // A cluster pipeline must stay in one slot: each call alone (written back to back per node).
      return Promise.all(
        calls.map(async (call) => {
          const [command, script] = how(call);
          try {
            return { error: null, result: await client.call(command, script, ...argv(call)) };
          } catch (error) {
            return { error: error instanceof Error ? error : new Error(String(error)), result: undefined };
          }
        }),
      );
    }
    const pipeline = client.pipeline();
    for (const call of calls) {
      const [command, script] = how(call);
      pipeline.call(command, script, ...argv(call));
    }
    const answers = (await pipeline.exec()) ?? [];
    return answers.map(([error, result]) => ({ error, result }));
  }

  /**
   * Starts the subscription; `listener` gets every message of the store's channels. Classic mode
   * subscribes to the one channel at once; sharded mode subscribes to a breaker's channel when
   * {@link follow} first sees it (a message sent before that is repaired by the next sync).
   */
  listen(listener: (channel: string, message: string) => void): void {
    if (this.released || this.onMessage !== null) return;
    this.onMessage = listener;
    void this.pubSubMode()
      .then((mode) => this.openSubscriber(mode))
      .catch(() => {
        // No mode yet (Redis unreachable): asked again when a breaker's channel is followed.
        this.onMessage = listener;
      });
  }

  /** Sharded mode: makes sure the breaker with key base `base` is followed. No-op in classic mode. */
  follow(base: string): void {
    if (this.released || this.onMessage === null) return;
    const channel = this.shardChannel(base);
    if (this.shardChannels.has(channel)) return;
    this.shardChannels.add(channel);
    void this.pubSubMode()
      .then((mode) => {
        // Also opens a classic subscriber that listen() could not open (no mode yet: Redis was down).
        const subscriber = this.subscriber ?? this.openSubscriber(mode);
        // Before the subscriber is ready, openSubscriber subscribes to every channel followed by then.
        if (mode === 'sharded' && subscriber !== null && this.shardReady) this.shardSubscribe(subscriber, [channel]);
      })
      .catch(() => this.shardChannels.delete(channel)); // followed again at the next sync
  }

  /** A transition message of the breaker with key base `base` arrived (sharded mode bookkeeping). */
  heard(base: string, version: number): void {
    if (this.shardReady && version > (this.heardVersions.get(base) ?? 0)) this.heardVersions.set(base, version);
  }

  /**
   * A sync read version `version` of the breaker with key base `base`. Newer than every message
   * heard: a message was missed, maybe because the shard moved (failover, resharding) and the
   * subscription stayed on the old node. SSUBSCRIBE again: a node that no longer serves the slot
   * answers MOVED, and ioredis moves its subscriptions to the new one.
   */
  synced(base: string, version: number | undefined): void {
    if (version === undefined || !this.shardReady || this.subscriber === null) return;
    const heard = this.heardVersions.get(base);
    this.heardVersions.set(base, Math.max(heard ?? 0, version));
    const channel = this.shardChannel(base);
    if (heard !== undefined && version > heard && this.shardChannels.has(channel)) this.shardSubscribe(this.subscriber, [channel]);
  }

  private shardSubscribe(subscriber: RedisClientLike, channels: readonly string[]): void {
    for (const channel of channels) subscriber.ssubscribe(channel).catch(() => this.shardChannels.delete(channel));
  }

  private openSubscriber(mode: PubSubMode): RedisClientLike | null {
    if (this.released || this.subscriber !== null || this.onMessage === null) return this.subscriber;
    const listener = this.onMessage;
    const commands = this.client();
    // The subscriber has no keyPrefix (channels carry it already: ioredis would prefix SSUBSCRIBE's
    // channels as keys but not SUBSCRIBE's). Queued (S)SUBSCRIBE must survive a first connection
    // that fails: ioredis re-subscribes after a reconnect only to channels it saw confirmed.
    const subscriber = duplicateClient(
      commands,
      { enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null, keyPrefix: '', lazyConnect: false },
      mode === 'sharded' ? { shardedSubscribers: true } : {},
    );
    subscriber.on('error', () => {});
    subscriber.on('node error', () => {});
    subscriber.on(mode === 'sharded' ? 'smessage' : 'message', (channel: string, message: string) => listener(channel, message));
    this.subscriber = subscriber;
    if (mode === 'classic') subscriber.subscribe(this.classicChannel).catch(() => {});
    else {
      // ioredis connects the per-node sharded subscribers after the cluster is ready; an SSUBSCRIBE
      // sent before they are ready may land on a connection whose messages are not delivered.
      subscriber.once('subscribersReady', () => {
        if (this.subscriber !== subscriber) return;
        this.shardReady = true;
        this.shardSubscribe(subscriber, [...this.shardChannels]);
      });
    }
    return subscriber;
  }

  /** Closes the connections opened here; nothing opens afterwards. */
  release(): void {
    this.released = true;
    this.onMessage = null;
    const subscriber = this.subscriber;
    this.subscriber = null;
    subscriber?.disconnect();
    this.commands?.disconnect();
    this.commands = null;
  }
}

function isNoScript(error: Error): boolean {
  return String(error.message).startsWith('NOSCRIPT');
}
