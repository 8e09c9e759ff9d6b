import { z } from 'zod';
import { otlpConfigSchema } from '../telemetry/otlp/settings.js';

/**
 * The whole configuration surface, one strict object per YAML section. Strict objects make unknown keys an
 * error whose issue carries the key's path, which `--validate-config` prints.
 */

const logLevel = z
  .string()
  .transform((level) => level.toLowerCase())
  .pipe(z.enum(['trace', 'debug', 'info', 'warning', 'warn', 'error', 'fatal', 'silent']))
  // The guide's vocabulary says WARNING; pino says warn.
  .transform((level) => (level === 'warning' ? 'warn' : level));

export const serverSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.coerce.number().int().min(0).max(65535).default(3000),
  workers: z.coerce.number().int().min(1).default(1),
  /** Largest request body accepted, in bytes; larger bodies answer 413 without reaching the provider. */
  max_body_size: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  /** When set, /config, /metrics, /sessions and /ui require `Authorization: Bearer <token>` (or the UI's cookie). */
  admin_token: z.string().min(1).optional(),
  /** Hours a web page sign-in (its cookie) stays valid; the gateway refuses older cookies. */
  admin_session_hours: z.coerce.number().positive().default(12),
  cors: z
    .strictObject({
      /**
       * Web origins allowed to spend the configured `llm.api_key` (e.g. `https://app.example.com`; `*` for any).
       * Other cross-origin browser requests must bring their own key. Requests without an Origin header
       * (SDKs, servers, curl) and same-origin pages are never affected.
       */
      allow_origins: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      /** Seconds a client may take to send its request headers. */
      headers_seconds: z.coerce.number().positive().default(30),
      /** Seconds a client may take to send its whole request (headers and body); a stalled body is closed. */
      request_seconds: z.coerce.number().positive().default(60),
      /** Seconds an idle keep-alive connection is kept open between requests. */
      keep_alive_seconds: z.coerce.number().positive().default(72),
      /** Seconds a stage of the gateway's own (a session store lookup, an interceptor's request hook) may take. */
      stage_seconds: z.coerce.number().positive().default(30),
    })
    .prefault({}),
  /**
   * On SIGTERM/SIGINT: seconds during which the gateway reports not-ready on /ready but keeps serving
   * requests (a load balancer needs this long to stop sending), before it stops accepting connections.
   */
  shutdown_grace_seconds: z.coerce.number().min(0).default(5),
  /** Seconds in-flight requests (long streams) get to finish after the grace period before they are cut. */
  shutdown_timeout_seconds: z.coerce.number().positive().default(60),
});

export const llmSchema = z.strictObject({
  type: z.enum(['openai', 'anthropic']).default('openai'),
  base_url: z.url({ protocol: /^https?$/ }).default('https://api.openai.com'),
  api_key: z.string().optional(),
  /** Seconds to wait for the provider's headers, and between two body chunks once it answers. */
  timeout: z.coerce.number().positive().default(30),
  /** Extra attempts after a connection failure, only while no byte has reached the provider. */
  max_retries: z.coerce.number().int().min(0).max(10).default(3),
});

export const sessionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  max_sessions: z.coerce.number().int().positive().default(10_000),
  session_ttl_seconds: z.coerce.number().positive().default(3600),
  fuzzy_matching: z.boolean().default(true),
  fuzzy_threshold: z.coerce.number().min(0).max(1).default(0.8),
  fuzzy_max_diff: z.coerce.number().int().min(0).default(2),
  reset_phrases: z.array(z.string().min(1)).default(['start over', 'new conversation', 'clear chat']),
  min_messages_for_new_session: z.coerce.number().int().min(1).default(3),
  context_break: z
    .strictObject({
      enabled: z.boolean().default(false),
      threshold: z.coerce.number().min(0).max(1).default(0.2),
    })
    .prefault({}),
  explicit_id_headers: z
    .array(z.string().min(1))
    .default([
      'x-session-id',
      'x-cylestio-session-id',
      'x-*-session-id',
      'helicone-session-id',
      'session_id',
      'session-id',
      'x-session-affinity',
      'agent-session-id',
    ]),
  partition_by: z.enum(['credential', 'credential_and_client', 'none']).default('credential'),
  /**
   * Recent requests kept in memory for the sessions API when no Postgres record keeps them: a fixed number
   * of rows across all sessions (the oldest go first), and at most `per_session` for any one session.
   */
  timeline: z
    .strictObject({
      max_requests: z.coerce.number().int().positive().default(20_000),
      per_session: z.coerce.number().int().positive().default(200),
    })
    .prefault({}),
  /** Secret for keyed content hashes; random per process when unset. */
  hash_key: z.string().optional(),
  persistence: z
    .strictObject({
      enabled: z.boolean().default(false),
      backend: z.enum(['memory', 'file', 'redis', 'postgres']).default('memory'),
      /** file: a directory; redis: a redis://, rediss:// or sentinel URL; postgres: a postgres:// URL. */
      connection: z.string().optional(),
      /** file: seconds between writes to disk (at most this much is lost to a crash). */
      flush_interval: z.coerce.number().positive().default(1),
      /** A store slower than this (ms) is not waited for: the request is decided locally. */
      timeout_ms: z.coerce.number().int().positive().default(250),
      /** redis: prefix of every key, so several deployments can share one server. */
      key_prefix: z.string().default('cylestio:'),
      /** postgres: schema holding the gateway's tables. */
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier')
        .default('cylestio'),
      /** A Postgres URL for the durable record of sessions and requests beside a file or redis backend. */
      record: z.string().optional(),
    })
    .prefault({}),
});

/** USD per million tokens of a model the catalog does not know (private, fine-tuned) or prices otherwise. */
const priceOverrideSchema = z.strictObject({
  input: z.coerce.number().min(0),
  output: z.coerce.number().min(0),
  cache_read: z.coerce.number().min(0).optional(),
  cache_write: z.coerce.number().min(0).optional(),
});

export const pricingSchema = z.strictObject({
  /** By model name as the request or the reply names it; wins over the catalog. */
  overrides: z.record(z.string().min(1), priceOverrideSchema).default({}),
});

export const interceptorSchema = z.strictObject({
  type: z.string().min(1),
  enabled: z.boolean().default(true),
  module: z.string().optional(),
  config: z.record(z.string(), z.unknown()).default({}),
});

export const telemetrySchema = z.strictObject({
  /** OpenTelemetry export over OTLP/HTTP; unset keys fall back to the standard OTEL_* variables. */
  otlp: otlpConfigSchema.prefault({}),
});

export const loggingSchema = z.strictObject({
  level: logLevel.default('info'),
  format: z.enum(['console', 'json']).default('console'),
  file: z.string().nullable().default(null),
});

export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  llm: llmSchema.prefault({}),
  session: sessionSchema.prefault({}),
  pricing: pricingSchema.prefault({}),
  interceptors: z.array(interceptorSchema).default([]),
  logging: loggingSchema.prefault({}),
  telemetry: telemetrySchema.prefault({}),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type LlmConfig = GatewayConfig['llm'];
export type SessionConfig = GatewayConfig['session'];
export type LoggingConfig = GatewayConfig['logging'];
