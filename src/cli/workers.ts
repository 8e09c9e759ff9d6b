import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { GatewayConfig } from '../config/schema.js';

/**
 * `server.workers: N`: N gateway processes sharing one port (node:cluster hands each new connection to the
 * next worker). Sessions and limits must then be shared, since consecutive requests of one conversation may
 * reach different workers: a shared store (Redis or Postgres) keeps them consistent, and a process-local one
 * (memory, file) would split conversations, so N > 1 is refused with it. What a worker only remembers for a
 * while (delegated tasks and client traces for lineage, the shingle sample for compaction by content) stays
 * its own: a sub-agent's first request or a compacted history is recognised by the worker that saw the reply.
 */
export function workersProblem(config: GatewayConfig): string | undefined {
  const { workers } = config.server;
  if (workers <= 1) return undefined;
  const persistence = config.session.persistence;
  const shared = persistence.enabled && (persistence.backend === 'redis' || persistence.backend === 'postgres');
  if (config.session.enabled && !shared) {
    return `server.workers is ${workers}, but sessions are kept per process (session.persistence: ${persistence.enabled ? persistence.backend : 'off'}); each worker would split conversations. Use session.persistence.backend redis (or postgres), or one worker per process.`;
  }
  for (const entry of config.interceptors) {
    if (entry.type !== 'rate_limit' || !entry.enabled) continue;
    const backend = (entry.config.backend as string | undefined) ?? 'auto';
    if (backend === 'memory' || (backend === 'auto' && !(persistence.enabled && persistence.backend === 'redis'))) {
      return `server.workers is ${workers}, but the rate_limit counters would be per worker (backend ${backend}); set its backend to redis.`;
    }
  }
  return undefined;
}

/** How long a worker that crashed waits before it is started again. */
const RESTART_DELAY_MS = 1000;
/** Workers that die within this long of their start count as failing to start; this many in a row stop the gateway. */
const EARLY_EXIT_MS = 10_000;
const EARLY_EXITS_TOLERATED = 5;

/**
 * The primary process: starts the workers, starts a crashed one again, and on SIGTERM/SIGINT passes the
 * signal on and exits once every worker has drained (each answers its in-flight requests first).
 */
export function superviseWorkers(config: GatewayConfig, log: Logger): Promise<void> {
  const problem = workersProblem(config);
  if (problem) throw new ConfigError([{ path: 'server.workers', message: problem }]);
  let stopping = false;
  let earlyExits = 0;
  const startedAt = new Map<Worker, number>();
  const start = (): void => {
    startedAt.set(cluster.fork(), Date.now());
  };
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info({}, 'every worker stopped');
        log.flush();
        process.exit(0);
      }
      return;
    }
    // A worker that cannot start (a store that is down, a port taken) would be restarted forever: stop instead.
    earlyExits = lived < EARLY_EXIT_MS ? earlyExits + 1 : 0;
    if (earlyExits >= EARLY_EXITS_TOLERATED) {
      log.fatal({ exits: earlyExits }, 'gateway workers keep exiting right after they start: stopping');
      log.flush();
      process.exit(1);
    }
    log.error({ pid: worker.process.pid, code, signal }, 'a gateway worker exited: starting another');
    setTimeout(start, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < config.server.workers; i++) start();
  log.info({ workers: config.server.workers, pid: process.pid }, 'cylestio gateway primary started its workers');
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down the workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return Promise.resolve();
}

export const isWorkerProcess = (): boolean => cluster.isWorker;

/** This worker's number (1, 2, …) in a cluster; undefined outside one. */
export const workerId = (): number | undefined => cluster.worker?.id;
