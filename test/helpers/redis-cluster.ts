import { type ChildProcess, execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { tempDir } from './temp-dir.js';
import { spawnTethered } from './tethered-spawn.js';

const run = promisify(execFile);

export interface RedisCluster {
  /** Client ports of the masters, in the order they were created. */
  ports: number[];
  /** A redis-cluster:// URL naming the first two masters as seeds (the client discovers the third). */
  url: string;
  /** The port of the master that serves `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** SIGTERM to one master (a clean shutdown: its append-only file is complete); resolves once it exited. */
  stopMaster(port: number): Promise<void>;
  /** Starts a stopped master again on the same port with the same nodes.conf and data dir; resolves once every master reports the cluster healthy. */
  startMaster(port: number): Promise<void>;
  stop(): Promise<void>;
}

interface Node {
  port: number;
  /** The cluster bus port, chosen explicitly: the default (port + 10000) may be taken or above 65535. */
  busPort: number;
  dir: string;
  child: ChildProcess | null;
}

/**
 * A real three-master Redis Cluster (no replicas) on loopback, started by the test itself. Every master
 * writes an append-only file fsynced on each write, as an operator running a cluster without replicas
 * would, so a master that restarts comes back with its data. Each dies with the process that started it
 * (tethered-spawn.ts).
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const root = tempDir('cylestio-redis-cluster-');
  const free = await freePorts(6);
  const nodes: Node[] = [0, 1, 2].map((i) => ({ port: free[i], busPort: free[i + 3], dir: join(root, String(free[i])), child: null }));
  const stop = async () => {
    await Promise.all(nodes.map((node) => halt(node, 'SIGKILL')));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map(launch));
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 20_000,
    });
    await clusterOk(nodes.map((node) => node.port));
  } catch (err) {
    await stop();
    throw err;
  }
  const ports = nodes.map((node) => node.port);
  const nodeOn = (port: number) => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no master on port ${port}`);
    return node;
  };
  return {
    ports,
    url: `redis-cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
    async masterOf(key) {
      return command(ports[0], async (client) => {
        const slot = await client.cluster('KEYSLOT', key);
        const ranges = await client.cluster('SLOTS');
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master serves slot ${slot}`);
        return range[2][1];
      });
    },
    stopMaster: (port) => halt(nodeOn(port), 'SIGTERM'),
    async startMaster(port) {
      await launch(nodeOn(port));
      await clusterOk(ports);
    },
    stop,
  };
}

async function launch(node: Node): Promise<void> {
  mkdirSync(node.dir, { recursive: true });
  // SIGKILL when the test process dies: nothing of a test cluster is worth a graceful shutdown.
  const child = spawnTethered(
    'redis-server',
    [
      '--port',
      String(node.port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(node.busPort),
      '--cluster-config-file',
      join(node.dir, `nodes-${node.port}.conf`),
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--dir',
      node.dir,
    ],
    { stdio: 'ignore' },
    'SIGKILL',
  );
  child.on('error', () => {}); // no redis-server installed: the wait below reports it
  child.unref();
  node.child = child;
  await until(`redis-server on port ${node.port} answers PING`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on port ${node.port} exited`);
    return (await command(node.port, (client) => client.ping()).catch(() => '')) === 'PONG';
  });
}

async function halt(node: Node, signal: NodeJS.Signals): Promise<void> {
  const running = node.child;
  node.child = null;
  if (!running || running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise((resolve) => running.once('exit', resolve));
  running.ref(); // an unref'd child's exit would not keep the event loop alive while we wait for it
  running.kill(signal);
  await exited;
}

/** Waits until every master reports the cluster healthy (all slots served, every node reachable). */
function clusterOk(ports: number[]): Promise<void> {
  return until('cluster_state:ok on every master', async () => {
    const infos = await Promise.all(ports.map((port) => command(port, (client) => client.cluster('INFO') as Promise<string>).catch(() => '')));
    return infos.every((info) => info.includes('cluster_state:ok'));
  });
}

/** One command on one node through a short-lived client that gives up at once when the node is down. */
async function command<T>(port: number, call: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await call(client);
  } finally {
    client.disconnect();
  }
}

/** Polls every 20 ms until `check` holds; fails after 15 s (a cluster forms in well under a second). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `count` distinct free loopback ports: all are held open until every one is chosen, so none repeats. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
