import type { Logger } from 'pino';
import type { CliOverrides } from '../config/load.js';
import { resolveConfig } from '../config/load.js';
import { buildGateway } from '../server/app.js';
import { createLogger } from '../telemetry/logger.js';
import { isWorkerProcess, superviseWorkers, workerId } from './workers.js';

export interface RunOptions {
  config?: string;
  cli: CliOverrides;
}

/** Starts the gateway and stops it cleanly on SIGINT/SIGTERM (in-flight requests finish first). */
export async function runGateway(options: RunOptions): Promise<void> {
  const config = await resolveConfig({ file: options.config, cli: options.cli });
  let log: Logger = createLogger(config.logging);
  // With server.workers > 1 this process only supervises; the workers (the same CLI, forked) serve, each
  // naming itself in its log lines.
  if (config.server.workers > 1 && !isWorkerProcess()) return superviseWorkers(config, log);
  const worker = workerId();
  if (worker !== undefined) log = log.child({ worker });
  const gateway = await buildGateway(config, log);
  const address = await gateway.app.listen({ host: config.server.host, port: config.server.port });
  log.info({ address, provider: config.llm.type, base_url: config.llm.base_url, sessions: config.session.enabled }, 'cylestio gateway listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // Not ready from now on; new connections are still accepted for the grace period (load balancers
    // need that long to notice), then every request on an accepted connection is answered before exit.
    await gateway.close({ graceMs: Math.round(config.server.shutdown_grace_seconds * 1000), quietMs: 1000 });
    log.flush();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
