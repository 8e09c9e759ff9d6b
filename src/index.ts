/**
 * The gateway as a library: `import { createGateway } from 'cylestio-gateway'`. The CLI is a thin layer over
 * the same calls (configuration, logger, gateway, listen, drain on signals).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { ConfigError, problemsFromZod } from './config/errors.js';
import { configSchema, type GatewayConfig } from './config/schema.js';
import { buildGateway, type Gateway, type GatewayOptions } from './server/app.js';
import type { DrainOptions } from './server/lifecycle.js';
import { createLogger } from './telemetry/logger.js';

export type { GatewayConfig } from './config/schema.js';
export type { ExchangeRecord } from './capture/record.js';
export type { Interceptor, InterceptorAnswer, InterceptorFactory, InterceptorOutput, InterceptorSetup, RequestContext } from './interceptors/types.js';
export type { SessionView } from './sessions/types.js';
export { ConfigError } from './config/errors.js';

/** The configuration as written in the YAML file: every section and key optional, defaults as documented. */
export type GatewayConfigInput = z.input<typeof configSchema>;

export interface CreateGatewayOptions extends GatewayOptions {
  /** A pino logger; default: one built from `logging` in the configuration. */
  logger?: Logger;
}

export interface GatewayHandle {
  /** The Fastify instance: add routes or hooks before `start()`, or use `app.inject()` in tests. */
  app: FastifyInstance;
  /** The effective configuration, defaults filled in. */
  config: GatewayConfig;
  /** Session engine, interceptors and stores, for embedding code that reads them. */
  gateway: Gateway;
  /** Listens on `server.host`/`server.port`; resolves with the address (e.g. `http://127.0.0.1:3000`). */
  start(): Promise<string>;
  /** Drains (every request on an accepted connection answered), flushes traces and closes the stores. */
  stop(options?: Partial<DrainOptions>): Promise<void>;
}

/**
 * Builds a gateway from a configuration object (the YAML file's shape). Invalid configuration throws a
 * `ConfigError` listing every problem with its key path; a store that cannot be opened rejects with the
 * backend and address in the message.
 */
export async function createGateway(input: GatewayConfigInput = {}, options: CreateGatewayOptions = {}): Promise<GatewayHandle> {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(problemsFromZod(parsed.error));
  const config = parsed.data;
  const gateway = await buildGateway(config, options.logger ?? createLogger(config.logging), options);
  return {
    app: gateway.app,
    config,
    gateway,
    start: () => gateway.app.listen({ host: config.server.host, port: config.server.port }),
    stop: (drain) => gateway.close(drain),
  };
}
