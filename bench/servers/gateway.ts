// Child process: the real gateway (sessions on, as deployed) in front of the upstream given as argv[2].
// With a directory as argv[3] (or '' for none), the trace interceptor writes its traces there (segments, the default layout).
// Env BENCH_PERSISTENCE, a JSON object, becomes `session.persistence` (a session store): JSON in the
// environment rather than argv so the existing positional arguments keep their meaning. Env
// BENCH_INTERCEPTORS, a JSON array, is appended to the interceptors (the rate limiter's benchmark).
// Env BENCH_MAX_SESSIONS sets `session.max_sessions` (the memory section holds 100,000).

import pino from 'pino';
import { configSchema } from '../../src/config/schema.js';
import { buildGateway } from '../../src/server/app.js';
import { serveFromChild } from '../lib/server-process.js';

const upstreamUrl = process.argv[2];
const traceDirectory = process.argv[3];

/** The persistence settings from the environment, or {} (schema defaults: off). */
function persistence(): Record<string, unknown> {
  const raw = process.env.BENCH_PERSISTENCE;
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('BENCH_PERSISTENCE must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Extra interceptor entries from the environment, or []. */
function extraInterceptors(): Record<string, unknown>[] {
  const raw = process.env.BENCH_INTERCEPTORS;
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) throw new Error('BENCH_INTERCEPTORS must be a JSON array');
  return parsed as Record<string, unknown>[];
}

await serveFromChild('gateway', async () => {
  if (!upstreamUrl) throw new Error('usage: gateway.ts <upstream url> [trace dir]');
  // configSchema validates the merged object, so a mistyped persistence key fails the start loudly.
  const config = configSchema.parse({
    llm: { type: 'openai', base_url: upstreamUrl, api_key: 'sk-bench' },
    logging: { level: 'error' },
    session: { persistence: persistence(), ...(process.env.BENCH_MAX_SESSIONS ? { max_sessions: Number(process.env.BENCH_MAX_SESSIONS) } : {}) },
    interceptors: [...extraInterceptors(), ...(traceDirectory ? [{ type: 'trace', config: { directory: traceDirectory } }] : [])],
  });
  const gateway = await buildGateway(config, pino({ level: 'error' }));
  const url = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => gateway.close() };
});
