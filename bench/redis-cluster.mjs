// A private Redis Cluster for the benches (3 masters + 3 replicas on free ports of 127.0.0.1, nothing
// on disk, in a temporary directory), the bench-side twin of test/support/redis-cluster.ts.
// Needs `redis-server` and `redis-cli` on PATH (Debian: redis-server, redis-tools).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './harness.mjs';

function canBind(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePorts(count, withBus) {
  const ports = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (ports.some((p) => Math.abs(p - port) === 10_000 || p === port)) continue;
    if ((await canBind(port)) && (!withBus || (await canBind(port + 10_000)))) ports.push(port);
  }
  return ports;
}

function need(binary, pkg) {
  if (spawnSync(binary, ['--version']).error) throw new Error(`${binary} not found on PATH: install it (Debian: apt-get install ${pkg})`);
}

async function until(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Servers (standalone or cluster) of the bench's own; `admins` are per-node ioredis clients. */
class Servers {
  constructor(ports, dir, children, admins) {
    Object.assign(this, { ports, dir, children, admins });
  }

  get startupNodes() {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  get url() {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  /**
   * Data commands served by every node (INFO commandstats), without what the cluster and this
   * reading send on their own (INFO, PING, REPLCONF, CLUSTER, CLIENT, COMMAND, PUBSUB).
   */
  async dataCommands() {
    let total = 0;
    for (const admin of this.admins) {
      const stats = await admin.info('commandstats');
      for (const [, command, calls] of stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
        if (!/^(info|ping|replconf|cluster\|.*|client\|.*|command.*|pubsub\|.*)$/.test(command)) total += Number(calls);
      }
    }
    return total;
  }

  async stop() {
    for (const admin of this.admins) admin.disconnect();
    await Promise.all(
      this.children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGKILL'))))),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startNodes(count, cluster) {
  need('redis-server', 'redis-server');
  const { Redis } = await import('ioredis');
  const ports = await freePorts(count, cluster);
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-bench-redis-'));
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning', '--dir', dir,
        ...(cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000'] : []),
      ],
      { cwd: dir, stdio: 'ignore' },
    ),
  );
  const admins = ports.map((port) => {
    const admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    admin.on('error', () => {});
    return admin;
  });
  await until(async () => (await Promise.all(admins.map((a) => a.ping()))).every((r) => r === 'PONG'), 5_000, 'redis-server to answer');
  return new Servers(ports, dir, children, admins);
}

/** One redis-server of the bench's own. */
export function startStandalone() {
  return startNodes(1, false);
}

/** A 3-master, 3-replica cluster of the bench's own, once cluster_state:ok on every node. */
export async function startCluster() {
  need('redis-cli', 'redis-tools');
  const servers = await startNodes(6, true);
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...servers.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], {
    encoding: 'utf8',
  });
  if (created.status !== 0) {
    await servers.stop();
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  }
  await until(
    async () => {
      for (const admin of servers.admins) if (!/cluster_state:ok/.test(await admin.call('CLUSTER', 'INFO'))) return false;
      return true;
    },
    20_000,
    'cluster_state:ok on every node',
  );
  return servers;
}
