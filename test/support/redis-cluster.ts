/**
 * A Redis Cluster of the test's own: 3 masters and 3 replicas (`redis-server --cluster-enabled yes`
 * on free ports of 127.0.0.1, nothing on disk, in a temporary directory), joined by
 * `redis-cli --cluster create`, stopped and deleted by `stop()`. Needs `redis-server` and
 * `redis-cli` on PATH (Debian: redis-server and redis-tools), nothing running.
 *
 * Waiting is polling with a deadline: for the cluster to agree (cluster_state:ok on every node),
 * for a replica to be in sync, for a failover to be seen by every node.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { redisServerBinary } from './redis-server.js';

export const REDIS_CLI_NOT_FOUND =
  'redis-cli not found on PATH: install it (Debian: apt-get install redis-tools) to run the Redis Cluster tests in test/redis/cluster-*.spec.ts';

/** The `redis-cli` executable on PATH; throws one sentence saying how to get it when there is none. */
export function redisCliBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-cli');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  const error = new Error(REDIS_CLI_NOT_FOUND);
  error.stack = REDIS_CLI_NOT_FOUND;
  throw error;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports that are free, and whose cluster bus ports (port + 10000) are free too. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (ports.includes(port) || ports.includes(port + 10_000) || ports.includes(port - 10_000)) continue;
    if ((await canBind(port)) && (await canBind(port + 10_000))) ports.push(port);
  }
  return ports;
}

/** Polls `condition` until it holds; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // a node still starting or failing over: ask again
    }
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function run(binary: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** One node of the cluster as CLUSTER NODES shows it. */
export interface ClusterNodeInfo {
  readonly id: string;
  readonly port: number;
  readonly master: boolean;
  /** A replica's master id ('' for a master). */
  readonly masterId: string;
}

export class RedisCluster {
  private readonly children = new Map<number, ChildProcess>();
  private readonly admins = new Map<number, Redis>();

  private constructor(
    readonly ports: readonly number[],
    private readonly dir: string,
  ) {}

  /** Starts 3 masters + 3 replicas and waits until every node says cluster_state:ok. */
  static async start(): Promise<RedisCluster> {
    const server = redisServerBinary();
    const cli = redisCliBinary();
    const ports = await freeClusterPorts(6);
    const cluster = new RedisCluster(ports, mkdtempSync(join(tmpdir(), 'nestjs-breaker-cluster-')));
    try {
      await Promise.all(ports.map((port) => cluster.startNode(server, port)));
      const created = await run(cli, ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes']);
      if (created.code !== 0) throw new Error(`redis-cli --cluster create failed (${created.code}): ${created.output}`);
      await cluster.waitHealthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  private async startNode(binary: string, port: number): Promise<void> {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      // a dead master is noticed within a second, so a failover test stays short
      '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning',
      '--dir', this.dir,
    ];
    const child = spawn(binary, args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    this.children.set(port, child);
    child.once('exit', () => this.children.get(port) === child && this.children.delete(port));
    await until(async () => {
      if (!this.children.has(port)) throw new Error(`redis-server (cluster node) on port ${port} exited at start: ${stderr}`);
      return (await this.node(port).ping()) === 'PONG';
    }, 5_000, `node ${port} to answer`).catch((error: unknown) => {
      throw new Error(`${String(error)} ${stderr}`);
    });
  }

  /** An admin connection to one node (not cluster-aware). */
  node(port: number): Redis {
    let admin = this.admins.get(port);
    if (admin === undefined) {
      admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 200, lazyConnect: false });
      admin.on('error', () => {});
      this.admins.set(port, admin);
    }
    return admin;
  }

  /** The ports of the nodes that run. */
  get running(): number[] {
    return this.ports.filter((port) => this.children.has(port));
  }

  /** Startup nodes for an ioredis Cluster. */
  get startupNodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** A cluster-aware client for assertions (not the breakers' own). */
  client(): Cluster {
    const client = new Cluster(this.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    return client;
  }

  /** The topology as the node on `port` (default: any running node) sees it. */
  async nodes(port = this.running[0]!): Promise<ClusterNodeInfo[]> {
    const text = (await this.node(port).call('CLUSTER', 'NODES')) as string;
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const fields = line.split(' ');
        return {
          id: fields[0]!,
          port: Number(/:(\d+)@/.exec(fields[1]!)?.[1]),
          master: fields[2]!.includes('master') && !fields[2]!.includes('fail'),
          masterId: fields[3] === '-' ? '' : fields[3]!,
        };
      });
  }

  /** The port of the master serving `slot`, as the node on `port` sees it. */
  async masterOf(slot: number, port = this.running[0]!): Promise<number> {
    const slots = (await this.node(port).call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (range === undefined) throw new Error(`no node serves slot ${slot}`);
    return Number(range[2][1]);
  }

  async slotOf(key: string): Promise<number> {
    return Number(await this.node(this.running[0]!).call('CLUSTER', 'KEYSLOT', key));
  }

  /** Every node says cluster_state:ok, every running replica's link to its master is up. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    await until(async () => {
      for (const port of this.running) {
        if (!/cluster_state:ok/.test((await this.node(port).call('CLUSTER', 'INFO')) as string)) return false;
        const replication = await this.node(port).info('replication');
        if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
      }
      return true;
    }, timeoutMs, 'cluster_state:ok on every node, replicas in sync');
  }

  /**
   * Data commands served by every running node (INFO commandstats), leaving out what the cluster and
   * the tests send on their own: INFO, PING, REPLCONF (replication), CLUSTER, CLIENT, COMMAND, PUBSUB.
   */
  async dataCommandCalls(): Promise<number> {
    let total = 0;
    for (const [command, calls] of Object.entries(await this.commandStats())) {
      if (!/:(info|ping|replconf|cluster\|.*|client\|.*|command.*|pubsub\|.*)$/.test(command)) total += calls;
    }
    return total;
  }

  /** Clients subscribed to the classic channel `channel`, over every running node (each counts its own). */
  async subscribers(channel: string): Promise<number> {
    let total = 0;
    for (const port of this.running) total += Number(((await this.node(port).pubsub('NUMSUB', channel)) as [string, number])[1]);
    return total;
  }

  /** Clients subscribed to the shard channel `channel`, over every running node. */
  async shardSubscribers(channel: string): Promise<number> {
    let total = 0;
    for (const port of this.running) total += Number(((await this.node(port).call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]);
    return total;
  }

  /** Per node and command, the calls in INFO commandstats (for a precise assertion message). */
  async commandStats(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const port of this.running) {
      const stats = await this.node(port).info('commandstats');
      for (const match of stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) counts[`${port}:${match[1]}`] = Number(match[2]);
    }
    return counts;
  }

  /** Kills one node (SIGKILL, a crash) and waits for it to exit. */
  async kill(port: number): Promise<void> {
    const child = this.children.get(port);
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.admins.get(port)?.disconnect();
    this.admins.delete(port);
  }

  /** Kills every node and deletes the temporary directory. */
  async stop(): Promise<void> {
    for (const admin of this.admins.values()) admin.disconnect();
    this.admins.clear();
    await Promise.all([...this.children.keys()].map((port) => this.kill(port)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
