import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { tempDir } from './temp-dir.js';
import { spawnTethered } from './tethered-spawn.js';

export interface RedisServer {
  url: string;
  /** Stops a dedicated server ({ fresh: true }); a no-op for the shared and external ones. */
  stop(): Promise<void>;
  /** Starts a stopped dedicated server again on the same port (a Redis that comes back). */
  restart(): Promise<void>;
}

let shared: Promise<RedisServer> | undefined;

/**
 * A real redis-server for tests. CI may give one in CYLESTIO_TEST_REDIS_URL; under vitest the run's
 * globalSetup (global-setup.ts) starts one and puts it there; elsewhere (benchmarks) this process starts one.
 * Tests isolate by key prefix. `fresh` starts a dedicated one that a test may stop and restart.
 * Every server started here dies with the process that started it (tethered-spawn.ts).
 */
export function startRedis(options: { fresh?: boolean } = {}): Promise<RedisServer> {
  const external = process.env.CYLESTIO_TEST_REDIS_URL;
  if (external && !options.fresh) return Promise.resolve({ url: external, stop: async () => {}, restart: async () => {} });
  if (options.fresh) return launch();
  shared ??= launch().then((server) => {
    process.once('exit', () => void server.stop());
    return { ...server, stop: async () => {} };
  });
  return shared;
}

async function launch(): Promise<RedisServer> {
  const dir = tempDir('cylestio-redis-');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const start = async () => {
    mkdirSync(dir, { recursive: true }); // stop() removed it
    // SIGKILL when the parent dies: nothing of a test Redis is worth a graceful shutdown.
    child = spawnTethered(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
      'SIGKILL',
    );
    child.on('error', () => {}); // no redis-server installed: ready() below reports it
    child.unref();
    await ready(url, child);
  };
  await start();
  return {
    url,
    async stop() {
      const running = child;
      child = null;
      if (running && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.ref(); // an unref'd child's exit would not keep the event loop alive while we wait for it
        running.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
    restart: start,
  };
}

/** Waits until the server answers PING (it starts in a few ms; bounded retries, not a fixed sleep). */
async function ready(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) break; // it will never answer
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  throw new Error(`redis-server did not start at ${url}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
