import { execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { tempDir } from './temp-dir.js';
import { spawnTethered } from './tethered-spawn.js';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth: no password). */
  url: string;
  /** Stops a dedicated server ({ fresh: true }); a no-op for the shared and external ones. */
  stop(): Promise<void>;
}

/** The shared server of this test worker: started once, gone with the worker (tethered to it). */
let shared: Promise<PostgresServer> | undefined;

/**
 * A real PostgreSQL for tests. CI may provide one in CYLESTIO_TEST_POSTGRES_URL; otherwise each worker
 * starts its own throwaway cluster in a temp dir (one per worker process, so tests isolate by schema or
 * database, not by server). `fresh` starts a dedicated one a test may stop (e.g. to see the store fail).
 * Every server (and initdb) started here dies with the process that started it (tethered-spawn.ts).
 */
export function startPostgres(options: { fresh?: boolean } = {}): Promise<PostgresServer> {
  const external = process.env.CYLESTIO_TEST_POSTGRES_URL;
  if (external) return Promise.resolve({ url: external, stop: async () => {} });
  if (options.fresh) return launch();
  shared ??= launch().then(
    (server) => ({ url: server.url, stop: async () => {} }),
    (err: unknown) => {
      shared = undefined; // let a later test try again rather than inherit this failure
      throw err;
    },
  );
  return shared;
}

async function launch(): Promise<PostgresServer> {
  const bin = binDir();
  const owner = serverUser();
  const dir = tempDir('cylestio-pg-');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const runAs = { cwd: dir, ...(owner ?? {}) };
  try {
    await run(path.join(bin, 'initdb'), ['-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C', '-D', data], runAs);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as Error).message}`);
  }
  // The free port can be taken between our probe and postgres binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = path.join(dir, `server-${attempt}.log`);
    const logFd = openSync(log, 'a');
    // Server output goes to a file, not a pipe: nothing to drain, and nothing keeps the worker's loop alive.
    // SIGQUIT (immediate shutdown) when this process dies: the postmaster takes its backends down with it.
    const child = spawnTethered(
      path.join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-h',
        '127.0.0.1',
        '-k',
        dir,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      { ...runAs, stdio: ['ignore', logFd, logFd] },
      'SIGQUIT',
    );
    closeSync(logFd);
    child.unref();
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitReady(url, child);
    } catch (err) {
      const output = readFileSync(log, 'utf8');
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      if (attempt < 3 && /could not bind|address already in use/i.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres did not start: ${(err as Error).message}\n${output.slice(-2000)}`);
    }
    return running(child, exited, dir, url);
  }
}

/**
 * Stopping a started server. Were this worker killed first, the server dies with it (tethered) and its dir
 * goes with the test run's temp dir (global-setup.ts).
 */
function running(child: ChildProcess, exited: Promise<void>, dir: string, url: string): PostgresServer {
  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopping ??= (async () => {
        // Referenced again while we wait: an unref'd child's exit would not keep the event loop alive.
        child.ref();
        // SIGINT: fast shutdown, which ends open sessions instead of waiting for clients to leave.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** Runs a command to its end (tethered too: initdb takes a second or two), failing with its stderr. */
function run(command: string, args: string[], options: SpawnOptions): Promise<void> {
  const child = spawnTethered(command, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] }, 'SIGKILL');
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(stderr || `exited (${code ?? signal})`))));
  });
}

/** Polls until the server takes a connection, with a short backoff; fails fast if it exits. */
async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode})`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`not accepting connections after ${timeoutMs} ms: ${(err as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** A port nobody listens on right now: bind port 0, note it, let it go. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The server binaries: pg_config's answer, else the newest Debian-style /usr/lib/postgresql/N/bin. */
function binDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // no pg_config on PATH: fall through to the usual install locations
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(root, version, 'bin')));
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')));
  if (!found)
    throw new Error(
      `PostgreSQL server binaries not found (looked in ${candidates.join(', ') || 'pg_config and /usr/lib/postgresql'}); set CYLESTIO_TEST_POSTGRES_URL`,
    );
  return found;
}

/** initdb refuses to run as root: then run the server as the `postgres` OS user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root and there is no `postgres` OS user to run the test server as');
  }
}
