import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { ConfigError, problemsFromZod } from '../config/errors.js';
import type { GatewayConfig } from '../config/schema.js';
import { InterceptorChain, type ChainEntry } from './chain.js';
import { createMessageLogger, messageLoggerConfigSchema } from './message-logger.js';
import { createPrinter, printerConfigSchema } from './printer.js';
import { createRateLimit, rateLimitConfigSchema } from './rate-limit/index.js';
import { createTrace, traceConfigSchema } from './trace/index.js';
import type { InterceptorFactory } from './types.js';

/** The built-in interceptors by `type`, each with the schema of its `config:` block. */
const builtins: Record<string, { schema: z.ZodType; create: InterceptorFactory }> = {
  printer: { schema: printerConfigSchema, create: createPrinter },
  trace: { schema: traceConfigSchema, create: createTrace },
  message_logger: { schema: messageLoggerConfigSchema, create: createMessageLogger },
  rate_limit: { schema: rateLimitConfigSchema, create: createRateLimit },
};

/** Checks every interceptor entry (types, modules named, built-in configs); all problems at once. */
export function validateInterceptors(config: GatewayConfig): void {
  const problems = config.interceptors.flatMap((entry, index) => {
    const at = `interceptors[${index}]`;
    if (entry.module) return [];
    const builtin = builtins[entry.type];
    if (!builtin)
      return [{ path: `${at}.type`, message: `unknown interceptor "${entry.type}" (built in: ${Object.keys(builtins).join(', ')}; or give a module)` }];
    const parsed = builtin.schema.safeParse(entry.config);
    return parsed.success ? [] : problemsFromZod(parsed.error).map((p) => ({ path: `${at}.config${p.path ? `.${p.path}` : ''}`, message: p.message }));
  });
  if (problems.length > 0) throw new ConfigError(problems);
}

/** A custom interceptor module exports a factory as `default` (or `create`), or an interceptor object. */
async function loadModule(path: string): Promise<InterceptorFactory> {
  const loaded = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown; create?: unknown };
  const exported = loaded.default ?? loaded.create;
  if (typeof exported === 'function') return exported as InterceptorFactory;
  if (exported && typeof exported === 'object') return () => exported as ReturnType<InterceptorFactory>;
  throw new ConfigError([{ path: 'interceptors', message: `${path} exports no interceptor (default export: a factory or an object)` }]);
}

/** Builds the chain in config order. Disabled entries are kept (they show in `/metrics`) but never run. */
export async function buildInterceptorChain(config: GatewayConfig, logger: Logger, now: () => number = Date.now): Promise<InterceptorChain> {
  validateInterceptors(config);
  const entries: ChainEntry[] = [];
  for (const entry of config.interceptors) {
    const factory = entry.module ? await loadModule(entry.module) : builtins[entry.type].create;
    const interceptor = await factory({ config: entry.config, logger, redactHeaders: [], gateway: config, now });
    entries.push({ type: entry.type, interceptor, enabled: entry.enabled });
  }
  return new InterceptorChain(entries, logger);
}
