import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  /** Stops a dedicated server ({ fresh: true }); a no-op for the shared and external ones. */
  stop(): Promise<void>;
  /** Starts a stopped dedicated server again on the same port (a Redis that comes back). */
  restart(): Promise<void>;
}

let shared: Promise<RedisServer> | undefined;

/**
 * A real redis-server for tests: CI may give one in CYLESTIO_TEST_REDIS_URL, else each test worker starts
 * one (tests isolate by key prefix). `fresh` starts a dedicated one that a test may stop and restart.
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
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cylestio-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ReturnType<typeof spawn> | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    child.unref();
    await ready(url);
  };
  await start();
  return {
    url,
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.ref(); // an unref'd child's exit would not keep the event loop alive while we wait for it
      running.kill('SIGKILL');
      await exited;
      child = null;
    },
    restart: start,
  };
}

/** Waits until the server answers PING (it starts in a few ms; bounded retries, not a fixed sleep). */
async function ready(url: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
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

