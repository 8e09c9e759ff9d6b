import { Agent, type Dispatcher } from 'undici';
import type { LlmConfig } from '../config/schema.js';

export interface UpstreamTarget {
  dispatcher: Dispatcher;
  origin: string;
  /** Path prefix of `llm.base_url` (e.g. `/openai` behind a corporate proxy), prepended to every request. */
  basePath: string;
  timeoutMs: number;
  maxRetries: number;
}

/**
 * One keep-alive pool per gateway: connections to the provider are reused across requests, which is most of
 * the latency a proxy can save. Timeouts are set per request from `llm.timeout`.
 */
export function createUpstream(llm: LlmConfig): UpstreamTarget {
  const url = new URL(llm.base_url);
  const timeoutMs = Math.round(llm.timeout * 1000);
  return {
    dispatcher: new Agent({
      connections: 256,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: { timeout: Math.min(timeoutMs, 10_000) },
    }),
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    timeoutMs,
    maxRetries: llm.max_retries,
  };
}
