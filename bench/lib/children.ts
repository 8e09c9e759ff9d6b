// Parent side of the server child processes. Each server runs in its own process so the load generator
// (in the parent) never shares an event loop with what it measures. Every child started here is tracked
// so it can be stopped at the end of a section, and killed outright if the parent exits some other way.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiled } from './build.js';

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** The child's memory after two full garbage collections (what is live), and its RSS at that moment. */
  memory(): Promise<NodeJS.MemoryUsage>;
}

/** Message a child sends once it listens (see server-process.ts). */
interface ReadyMessage {
  type: 'ready';
  url: string;
}

const running = new Set<ChildProcess>();

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

function isReady(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as ReadyMessage).type === 'ready';
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM (the child closes its server and exits), then SIGKILL if it is still there after a grace period. */
function stopChild(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The file to run for a server entry, named by its source (`new URL('./servers/x.ts', import.meta.url)`). */
function runnable(entry: URL): string {
  const file = fileURLToPath(entry);
  return compiled ? file.replace(/\.ts$/, '.js') : file;
}

/**
 * Forks `entry` (a server's source file: run compiled or through tsx, as this harness runs) with `args`, and resolves once it reports its URL.
 * `env` is added to this process's environment (settings too structured for argv, e.g. JSON).
 * Rejects, after making sure the child is gone, if it exits, errors or is silent for too long.
 */
export async function startServer(name: string, entry: URL, args: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  const file = runnable(entry);
  const child = fork(file, args, {
    // BENCH_CPU_PROF=<dir>: every server writes a CPU profile there when it stops (profile before optimising).
    // BENCH_HEAP_DIR=<dir>: a server writes a heap snapshot there on SIGUSR2 (where memory goes).
    // --expose-gc: memory() collects garbage before it reads the heap, so figures are what is live.
    execArgv: [
      '--expose-gc',
      ...(file.endsWith('.ts') ? ['--import', 'tsx'] : []),
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      ...(process.env.BENCH_HEAP_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.BENCH_HEAP_DIR}`] : []),
    ],
    env: { ...process.env, ...env },
    // stdout/stderr inherited so a crashing server's stack trace is visible; stdin is not needed.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const done = (err: Error | null, value?: string) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
        if (err) reject(err);
        else resolve(value!);
      };
      const onMessage = (message: unknown) => {
        if (isReady(message)) done(null, message.url);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        done(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
      const onError = (err: Error) => done(new Error(`${name} failed to start: ${err.message}`));
      const timer = setTimeout(() => done(new Error(`${name} not ready after ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    return { name, url, pid: child.pid!, stop: () => stopChild(child), memory: () => memoryOf(child) };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

function memoryOf(child: ChildProcess): Promise<NodeJS.MemoryUsage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message !== 'object' || message === null || (message as { type?: string }).type !== 'memory') return;
      child.off('message', onMessage);
      resolve((message as { usage: NodeJS.MemoryUsage }).usage);
    };
    child.on('message', onMessage);
    if (!child.send({ type: 'memory' })) reject(new Error('the server child is gone'));
  });
}

/** Starts several servers concurrently; if any fails, the ones that did start are stopped before rethrowing. */
export async function startServers(specs: Array<[name: string, entry: URL, args?: string[], env?: Record<string, string>]>): Promise<ServerProcess[]> {
  const settled = await Promise.allSettled(specs.map(([name, entry, args, env]) => startServer(name, entry, args, env)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<ServerProcess>).value);
}

/** Stops every child still running; run.ts calls it after each section, whatever happened in it. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map(stopChild));
}

// Last resort when the parent exits without reaching its cleanup (process.exit, fatal error): the 'exit'
// handler may only do synchronous work, so no grace period here. Children also exit on their own when
// the IPC channel closes, which covers the parent being SIGKILLed.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
