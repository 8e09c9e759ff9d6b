import type { Logger } from 'pino';
import type { ExchangeRecord } from '../capture/record.js';
import type { GatewayConfig } from '../config/schema.js';

type Headers = Record<string, string | string[] | undefined>;

/** What an interceptor sees of a request before it goes upstream. Headers are raw: never log them as such. */
export interface RequestContext {
  requestId: string;
  /** ISO time the request arrived. */
  timestamp: string;
  method: string;
  path: string;
  provider: string;
  operation: string | null;
  headers: Headers;
  /** Raw body bytes as the client sent them. */
  rawBody: Buffer | null;
  /**
   * The JSON body, parsed on first call (undefined for non-JSON routes). A function, not a field: holding
   * the parsed object across the upstream round trip would carry it through garbage collections, which
   * measured at ~75 µs of CPU per request; the raw bytes are kept anyway.
   */
  body(): unknown;
  model: string | null;
  stream: boolean;
  sessionId: string | null;
  isNewSession: boolean | null;
  /** The client's address (as Fastify sees it; behind a proxy, configure Fastify's trustProxy). */
  clientIp: string;
  /** The credential the request goes upstream with (the client's own, else the configured one). A secret:
   * hash it before using it as a key, never log or store it. */
  credential: string | null;
  /** Headers the gateway adds to its answer, whether the provider or an interceptor answers; hooks may add. */
  responseHeaders: Record<string, string>;
  /** An error body in the provider's own shape (OpenAI or Anthropic), for answers such as a 429. */
  errorBody(type: string, code: string, message: string): unknown;
}

/** An answer an interceptor gives instead of the provider's (a rate limiter's 429, an auth check's 401). */
export interface InterceptorAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** What a response hook may hand to the sinks after it (the trace interceptor: where the trace will be). */
export interface InterceptorOutput {
  /** Where this exchange's queued trace will be: its file, or `<segment path>#<byte offset>` (trace/trace-reference.ts). */
  traceFile?: string;
}

/**
 * An interceptor: hooks run in config order. `onRequest` may answer the request itself (the rest of the
 * chain and the provider are then skipped). `onResponse` sees every finished exchange, `onError` every
 * failed one; both run after the client has its last byte and must not block (queue slow work). They may
 * return an output for the sinks that run after them (never by changing the record, which others share).
 */
export interface Interceptor {
  readonly type: string;
  /** True when the interceptor needs request and response bodies in the record (traces, message logs). */
  readonly needsBodies?: boolean;
  /** Largest response body it wants captured, in bytes (the relay keeps the largest any asks for). */
  readonly maxBodyBytes?: number;
  onRequest?(ctx: RequestContext): InterceptorAnswer | void | Promise<InterceptorAnswer | void>;
  onResponse?(ctx: RequestContext, record: ExchangeRecord): void | InterceptorOutput;
  onError?(ctx: RequestContext, record: ExchangeRecord): void | InterceptorOutput;
  /** Counters for `/metrics` (`traces_written`, `traces_dropped`, …). */
  figures?(): Record<string, number>;
  /** Flushes queued work; called on shutdown. */
  close?(): Promise<void>;
}

/** What a factory gets to build an interceptor from its `config:` block. */
export interface InterceptorSetup {
  config: Record<string, unknown>;
  logger: Logger;
  /** Extra header names to redact, from the gateway configuration. */
  redactHeaders: string[];
  /** The whole gateway configuration (session TTL, persistence connection, …). */
  gateway: GatewayConfig;
  /** Milliseconds clock; tests inject one to move time (windows, expiry) without waiting. */
  now: () => number;
}

export type InterceptorFactory = (setup: InterceptorSetup) => Interceptor | Promise<Interceptor>;
