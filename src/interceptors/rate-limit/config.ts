import { z } from 'zod';

const count = z.coerce.number().int().positive();
/** An amount of USD; counted in micro-dollars, so anything below one is refused as a typo. */
const usd = z.coerce.number().min(0.000001, 'at least 0.000001 (one micro-dollar)');

const perSession = z.strictObject({
  /** Requests per minute of one session (a bucket of `burst_size`, refilled at this rate). */
  requests_per_minute: count.optional(),
  /** Requests that may arrive at once; default: requests_per_minute. */
  burst_size: count.optional(),
  /** Tokens (input + output, as the provider reported them) per hour of one session. */
  tokens_per_hour: count.optional(),
  /** Requests in the whole life of a session. */
  max_requests: count.optional(),
  /** Tokens in the whole life of a session. */
  max_tokens: count.optional(),
  /** USD spent in the whole life of a session (priced by the catalog or `pricing.overrides`). */
  max_cost_usd: usd.optional(),
  /** USD per hour of one session (a bucket of the hourly amount, refilled at this rate). */
  cost_per_hour_usd: usd.optional(),
});

const perClient = z.strictObject({
  /** Who a client is: its address, a header's value, or its credential (hashed, never stored as is). */
  key: z.enum(['ip', 'header', 'credential']).default('ip'),
  /** The header for `key: header` (a request without it is keyed by address). */
  header_name: z.string().min(1).optional(),
  requests_per_minute: count.optional(),
  requests_per_hour: count.optional(),
  /** Requests that may arrive at once; default: requests_per_minute. */
  burst_size: count.optional(),
  /** USD one client may spend in a budget period (`budget_days`). */
  max_cost_usd: usd.optional(),
  /** USD per hour of one client (a bucket of the hourly amount, refilled at this rate). */
  cost_per_hour_usd: usd.optional(),
  /**
   * The budget period of `max_cost_usd`, in days: it starts with the client's first charge and the budget is
   * whole again when it ends (a fixed period, so a client that spends steadily still gets its reset).
   */
  budget_days: z.coerce.number().positive().default(30),
});

/**
 * `rate_limit` interceptor config. `per_session` and `per_client` limits; the guide's flat keys
 * (`requests_per_minute`, `requests_per_hour`, `burst_size`, `key_extractor`, `header_name`) are a
 * per-client limit.
 */
export const rateLimitConfigSchema = z
  .strictObject({
    per_session: perSession.optional(),
    per_client: perClient.optional(),
    requests_per_minute: count.optional(),
    requests_per_hour: count.optional(),
    burst_size: count.optional(),
    key_extractor: z.enum(['ip', 'header', 'credential']).optional(),
    header_name: z.string().min(1).optional(),
    /** memory: this process; redis: shared by every replica; auto: redis when session persistence uses redis. */
    backend: z.enum(['auto', 'memory', 'redis']).default('auto'),
    /** Redis URL; default: session.persistence.connection. */
    connection: z.string().optional(),
    /** Redis key prefix; default: session.persistence.key_prefix. */
    key_prefix: z.string().optional(),
    /** Counters kept in memory at most (least recently used go first, counted). */
    max_keys: count.default(100_000),
    /** A Redis slower than this (ms) is not waited for: the request is let through, and counted. */
    timeout_ms: count.default(250),
    /** For token estimates when a provider reports no usage. */
    bytes_per_token: z.coerce.number().positive().default(4),
  })
  .superRefine((config, ctx) => {
    const client = config.per_client;
    const keyed = client?.key ?? config.key_extractor;
    if (keyed === 'header' && !(client?.header_name ?? config.header_name)) {
      ctx.addIssue({ code: 'custom', path: ['header_name'], message: 'required when the key is a header' });
    }
  });

export type RateLimitConfig = z.infer<typeof rateLimitConfigSchema>;

/** Micro-dollars per USD: cost limits are counted in whole micro-dollars (exact sums, in memory and in Redis). */
export const MICROS_PER_USD = 1_000_000;

/** USD as whole micro-dollars (the nearest one: float noise such as 15.000000000000002 is not a 16th). */
export function microsOf(amount: number): number {
  return Math.round(amount * MICROS_PER_USD);
}

export interface Limits {
  session: {
    requestsPerMinute?: number;
    burst?: number;
    tokensPerHour?: number;
    maxRequests?: number;
    maxTokens?: number;
    /** Micro-dollars. */
    maxCost?: number;
    /** Micro-dollars per hour. */
    costPerHour?: number;
  };
  client: {
    key: 'ip' | 'header' | 'credential';
    headerName?: string;
    requestsPerMinute?: number;
    requestsPerHour?: number;
    burst?: number;
    /** Micro-dollars per budget period. */
    maxCost?: number;
    /** Micro-dollars per hour. */
    costPerHour?: number;
    budgetMs: number;
  };
}

const micros = (amount: number | undefined) => (amount === undefined ? undefined : Math.max(1, microsOf(amount)));

/** One view of both spellings (the nested keys win over the flat ones). */
export function limitsOf(config: RateLimitConfig): Limits {
  const s = config.per_session ?? {};
  const c = config.per_client;
  return {
    session: {
      requestsPerMinute: s.requests_per_minute,
      burst: s.burst_size,
      tokensPerHour: s.tokens_per_hour,
      maxRequests: s.max_requests,
      maxTokens: s.max_tokens,
      maxCost: micros(s.max_cost_usd),
      costPerHour: micros(s.cost_per_hour_usd),
    },
    client: {
      key: c?.key ?? config.key_extractor ?? 'ip',
      headerName: (c?.header_name ?? config.header_name)?.toLowerCase(),
      requestsPerMinute: c?.requests_per_minute ?? config.requests_per_minute,
      requestsPerHour: c?.requests_per_hour ?? config.requests_per_hour,
      burst: c?.burst_size ?? config.burst_size,
      maxCost: micros(c?.max_cost_usd),
      costPerHour: micros(c?.cost_per_hour_usd),
      budgetMs: Math.max(1, Math.round((c?.budget_days ?? 30) * 86_400_000)),
    },
  };
}
