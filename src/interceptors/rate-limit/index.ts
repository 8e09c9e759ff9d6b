import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ExchangeRecord } from '../../capture/record.js';
import { PriceCatalog } from '../../pricing/catalog.js';
import type { Interceptor, InterceptorAnswer, InterceptorFactory, RequestContext } from '../types.js';
import { LIMIT_NAMES, type Check, type LimitName, type Verdict } from './checks.js';
import { limitsOf, MICROS_PER_USD, microsOf, rateLimitConfigSchema, type Limits } from './config.js';
import { MemoryCounters, type CounterStore } from './memory-counters.js';
import { RedisCounters } from './redis-counters.js';

export { rateLimitConfigSchema } from './config.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** What a request reserved, settled once its true token count and cost are known. */
interface Reservation {
  /** The token checks the request was admitted by, each charged its `cost`. */
  tokenChecks: Check[];
  /** The cost checks, each charged its `cost` (micro-dollars of estimated input). */
  costChecks: Check[];
}

/** What one request is expected to spend, charged at admission and settled with the reply. */
interface Estimate {
  tokens: number;
  /** Micro-dollars; 0 when the model has no price. */
  micros: number;
}

/** The checks one request must pass (none when no limit applies to it). */
function checksFor(limits: Limits, ctx: RequestContext, sessionTtlMs: number, estimate: Estimate): Check[] {
  const checks: Check[] = [];
  const s = limits.session;
  if (ctx.sessionId && (s.requestsPerMinute || s.maxRequests || s.tokensPerHour || s.maxTokens || s.maxCost || s.costPerHour)) {
    // Session ids are random, but a client-given name is not: scope it by credential, as detection does.
    const key = `s:${hash(ctx.credential ?? '')}:${ctx.sessionId}`;
    if (s.requestsPerMinute)
      checks.push({
        kind: 'rate',
        name: 'session_requests_per_minute',
        key: `${key}:rpm`,
        limit: s.requestsPerMinute,
        periodMs: MINUTE,
        burst: Math.min(s.burst ?? s.requestsPerMinute, s.requestsPerMinute),
        cost: 1,
        unit: 'requests',
      });
    if (s.maxRequests)
      checks.push({
        kind: 'budget',
        name: 'session_max_requests',
        key: `${key}:req`,
        limit: s.maxRequests,
        periodMs: sessionTtlMs,
        burst: 0,
        cost: 1,
        unit: 'requests',
      });
    // A reservation larger than the whole bucket could never be admitted: it waits for a full bucket instead.
    if (s.tokensPerHour)
      checks.push({
        kind: 'rate',
        name: 'session_tokens_per_hour',
        key: `${key}:tph`,
        limit: s.tokensPerHour,
        periodMs: HOUR,
        burst: s.tokensPerHour,
        cost: Math.min(estimate.tokens, s.tokensPerHour),
        unit: 'tokens',
      });
    if (s.maxTokens)
      checks.push({
        kind: 'budget',
        name: 'session_max_tokens',
        key: `${key}:tok`,
        limit: s.maxTokens,
        periodMs: sessionTtlMs,
        burst: 0,
        cost: estimate.tokens,
        unit: 'tokens',
      });
    // Cost limits admit while anything is left (overdraw): a price is only a guess until the reply, so the
    // request that crosses the limit goes through and the next one is refused.
    if (s.costPerHour)
      checks.push({
        kind: 'rate',
        name: 'session_cost_per_hour_usd',
        key: `${key}:usdh`,
        limit: s.costPerHour,
        periodMs: HOUR,
        burst: s.costPerHour,
        cost: estimate.micros,
        unit: 'usd',
        overdraw: true,
      });
    if (s.maxCost)
      checks.push({
        kind: 'budget',
        name: 'session_max_cost_usd',
        key: `${key}:usd`,
        limit: s.maxCost,
        periodMs: sessionTtlMs,
        burst: 0,
        cost: estimate.micros,
        unit: 'usd',
        overdraw: true,
      });
  }
  const c = limits.client;
  if (c.requestsPerMinute || c.requestsPerHour || c.maxCost || c.costPerHour) {
    const key = `c:${clientKey(c, ctx)}`;
    if (c.requestsPerMinute)
      checks.push({
        kind: 'rate',
        name: 'client_requests_per_minute',
        key: `${key}:rpm`,
        limit: c.requestsPerMinute,
        periodMs: MINUTE,
        burst: Math.min(c.burst ?? c.requestsPerMinute, c.requestsPerMinute),
        cost: 1,
        unit: 'requests',
      });
    if (c.requestsPerHour)
      checks.push({
        kind: 'rate',
        name: 'client_requests_per_hour',
        key: `${key}:rph`,
        limit: c.requestsPerHour,
        periodMs: HOUR,
        burst: c.requestsPerHour,
        cost: 1,
        unit: 'requests',
      });
    if (c.costPerHour)
      checks.push({
        kind: 'rate',
        name: 'client_cost_per_hour_usd',
        key: `${key}:usdh`,
        limit: c.costPerHour,
        periodMs: HOUR,
        burst: c.costPerHour,
        cost: estimate.micros,
        unit: 'usd',
        overdraw: true,
      });
    // A client outlives any session: its budget is per period (budget_days) from its first charge.
    if (c.maxCost)
      checks.push({
        kind: 'budget',
        name: 'client_max_cost_usd',
        key: `${key}:usd`,
        limit: c.maxCost,
        periodMs: c.budgetMs,
        burst: 0,
        cost: estimate.micros,
        unit: 'usd',
        overdraw: true,
        fixedPeriod: true,
      });
  }
  return checks;
}

function clientKey(client: Limits['client'], ctx: RequestContext): string {
  if (client.key === 'credential' && ctx.credential) return `k${hash(ctx.credential)}`;
  if (client.key === 'header' && client.headerName) {
    const value = ctx.headers[client.headerName];
    if (typeof value === 'string' && value !== '') return `h${hash(value)}`;
  }
  return `a${ctx.clientIp}`;
}

/** Digests of recent keys: a client sends the same credential on every request, hashed once here. */
const digests = new LRUCache<string, string>({ max: 10_000 });

/** 64 bits of SHA-256: counters never hold a credential or a header value as such. */
function hash(text: string): string {
  let digest = digests.get(text);
  if (digest === undefined) digests.set(text, (digest = createHash('sha256').update(text).digest('base64url').slice(0, 11)));
  return digest;
}

/**
 * X-RateLimit-* of the limit that matters most (the refusing one, else the tightest request limit). A cost
 * limit shows only when it refuses; its limit and remaining are then in micro-dollars.
 */
function limitHeaders(result: Verdict): Record<string, string> {
  if (!result.shown) return {};
  const { check, outcome } = result.shown;
  return {
    'x-ratelimit-limit': String(check.limit),
    'x-ratelimit-remaining': String(outcome.remaining),
    'x-ratelimit-reset': String(Math.ceil(outcome.resetMs / 1000)),
  };
}

/** An amount of micro-dollars as USD for a message: `$5`, `$0.25`, `$0.000015`. */
function dollars(micros: number): string {
  return `$${(micros / MICROS_PER_USD).toFixed(6).replace(/\.?0+$/, '')}`;
}

/**
 * `rate_limit`: per-session limits (requests per minute, tokens and USD per hour, lifetime budgets of
 * requests, tokens and USD) and per-client limits (by address, header or credential: requests per minute
 * and hour, USD per hour and per budget period). A request over a limit is answered 429 before it reaches
 * the provider, in the provider's own error shape, with Retry-After; every request of a limited route
 * carries X-RateLimit-Limit / -Remaining / -Reset. Token and cost limits reserve an estimate from the
 * request's size and settle with what the provider reports (estimated from bytes when it reports nothing).
 * Counters live in this process or in Redis (shared by the fleet: one script call per event-loop turn for every admit and settlement made in it); a
 * Redis that fails or is slow lets requests through, counted and logged once.
 */
export const createRateLimit: InterceptorFactory = async ({ config: raw, logger, gateway, now }) => {
  const config = rateLimitConfigSchema.parse(raw ?? {});
  const limits = limitsOf(config);
  const persisted = gateway.session.persistence;
  const useRedis = config.backend === 'redis' || (config.backend === 'auto' && persisted.enabled && persisted.backend === 'redis');
  const memory = useRedis ? null : new MemoryCounters(config.max_keys, now);
  let redis: RedisCounters | null = null;
  if (useRedis) {
    const connection = config.connection ?? persisted.connection ?? 'redis://127.0.0.1:6379';
    redis = new RedisCounters(connection, config.key_prefix ?? persisted.key_prefix, Math.max(1000, config.timeout_ms * 4));
    try {
      await redis.open();
    } catch (err) {
      throw new Error(`rate_limit could not start: ${(err as Error).message}`);
    }
  }
  const store: CounterStore = redis ?? memory!;
  const sessionTtlMs = gateway.session.session_ttl_seconds * 1000;
  const tracksTokens = Boolean(limits.session.tokensPerHour || limits.session.maxTokens);
  const tracksCost = Boolean(limits.session.maxCost || limits.session.costPerHour || limits.client.maxCost || limits.client.costPerHour);
  // The same prices as the exchange records (`record.costUsd`), so estimates and settlements agree.
  const prices = tracksCost ? new PriceCatalog(gateway.pricing.overrides) : null;
  const reservations = new WeakMap<RequestContext, Reservation>();
  const counts = { allowed: 0, limited: 0, tokens_estimated: 0, cost_estimated: 0, cost_unpriced: 0, store_errors: 0 };
  const limitedBy = Object.fromEntries(LIMIT_NAMES.map((name) => [name, 0])) as Record<LimitName, number>;
  let storeHealthy = true;

  const storeFailed = (err: unknown) => {
    counts.store_errors++;
    if (storeHealthy) logger.warn({ error: (err as Error).message }, 'rate limit counters unreachable: requests are let through until they are back');
    storeHealthy = false;
  };

  const decide = (ctx: RequestContext, checks: Check[], result: Verdict): InterceptorAnswer | undefined => {
    if (!storeHealthy) logger.info({}, 'rate limit counters reachable again');
    storeHealthy = true;
    Object.assign(ctx.responseHeaders, limitHeaders(result));
    if (result.allowed) {
      counts.allowed++;
      if (tracksTokens || tracksCost)
        reservations.set(ctx, {
          tokenChecks: checks.filter((check) => check.unit === 'tokens'),
          costChecks: checks.filter((check) => check.unit === 'usd'),
        });
      return undefined;
    }
    const refused = result.refusedBy!;
    counts.limited++;
    limitedBy[refused.name]++;
    const retryMs = Math.max(1, result.shown!.outcome.retryAfterMs);
    const amount = refused.unit === 'usd' ? dollars(refused.limit) : String(refused.limit);
    const message = `Rate limit reached: ${refused.name.replaceAll('_', ' ')} (${amount}). Retry after ${Math.ceil(retryMs / 1000)} s.`;
    return {
      status: 429,
      headers: { 'retry-after': String(Math.ceil(retryMs / 1000)), 'retry-after-ms': String(retryMs) },
      body: ctx.errorBody('rate_limit_error', 'rate_limit_exceeded', message),
    };
  };

  /** Tokens of the request's input, by its size (the provider's count is only known from the reply). */
  const inputTokens = (ctx: RequestContext) => Math.max(1, Math.ceil((ctx.rawBody?.length ?? 0) / config.bytes_per_token));

  const onRequest: Interceptor['onRequest'] = (ctx) => {
    const tokens = tracksTokens || tracksCost ? inputTokens(ctx) : 0;
    // The input at the model's input price; an unpriced model is charged nothing: it is never refused for
    // what a guess says it might cost.
    const usd = prices?.cost(ctx.provider, ctx.model, { input_tokens: tokens, output_tokens: 0, total_tokens: tokens }) ?? null;
    const checks = checksFor(limits, ctx, sessionTtlMs, { tokens, micros: usd === null ? 0 : microsOf(usd) });
    if (checks.length === 0) return undefined;
    const at = now();
    if (!redis) return decide(ctx, checks, memory!.admit(checks, at));
    // `timeout_ms` is Redis' time to answer, counted from when the admit's call leaves: admits made while a
    // call is out wait for it and leave together (one call per event-loop turn), and that wait is the
    // gateway's own. A backstop of four times as long from now still answers the request if the call
    // ahead never returns.
    let timer: NodeJS.Timeout | undefined;
    let backstop: NodeJS.Timeout | undefined;
    let fail: (err: Error) => void = () => {};
    const timeout = new Promise<never>((_, reject) => {
      fail = reject;
      backstop = setTimeout(() => reject(new Error(`no answer within ${4 * config.timeout_ms} ms`)), 4 * config.timeout_ms);
    });
    const sent = () => (timer = setTimeout(() => fail(new Error(`no answer within ${config.timeout_ms} ms`)), config.timeout_ms));
    return Promise.race([redis.admit(checks, at, sent), timeout])
      .then(
        (result) => decide(ctx, checks, result),
        (err: unknown) => {
          storeFailed(err);
          return undefined;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        clearTimeout(backstop);
      });
  };

  /** Characters of the reply, for estimates when the provider reported no usage. */
  const replyChars = (record: ExchangeRecord) =>
    record.response.reply?.replies.reduce((sum, message) => sum + message.text.length, 0) ?? record.response.body?.length ?? 0;

  /** Tokens the exchange used: reported, or estimated from its sizes. */
  const tokensUsed = (ctx: RequestContext, record: ExchangeRecord): number => {
    if (record.usage) return record.usage.input_tokens + record.usage.output_tokens;
    counts.tokens_estimated++;
    return Math.ceil(((ctx.rawBody?.length ?? 0) + replyChars(record)) / config.bytes_per_token);
  };

  /**
   * Micro-dollars the exchange cost: its price (`record.costUsd`); nothing for a model without a price
   * (counted in `cost_unpriced`) or an exchange the provider did not answer (failed, refused upstream);
   * estimated from the sizes at the model's prices when the provider answered but reported no usage (an
   * OpenAI stream without `include_usage`, a stream the client left): the provider bills those too.
   */
  const microsSpent = (ctx: RequestContext, record: ExchangeRecord): number => {
    if (typeof record.costUsd === 'number') return microsOf(record.costUsd);
    const model = record.model ?? ctx.model;
    if (record.usage) {
      counts.cost_unpriced++;
      return 0;
    }
    const answered = record.status >= 200 && record.status < 300 && record.ttfbMs !== null;
    if (!answered || !model) return 0;
    const input = inputTokens(ctx);
    const output = Math.ceil(replyChars(record) / config.bytes_per_token);
    const usd = prices!.cost(record.provider, model, { input_tokens: input, output_tokens: output, total_tokens: input + output });
    if (usd === null) {
      counts.cost_unpriced++;
      return 0;
    }
    counts.cost_estimated++;
    return microsOf(usd);
  };

  /** Charges the difference between what was reserved and what was used (tokens and USD), in one step. */
  const settleUsage = (ctx: RequestContext, record: ExchangeRecord) => {
    const reservation = reservations.get(ctx);
    if (!reservation) return;
    reservations.delete(ctx);
    const adjustments: { check: Check; delta: number }[] = [];
    if (reservation.tokenChecks.length > 0) {
      const used = tokensUsed(ctx, record);
      // Each check was charged its own cost (a bucket never more than its size): settle each from there.
      for (const check of reservation.tokenChecks) adjustments.push({ check, delta: used - check.cost });
    }
    if (reservation.costChecks.length > 0) {
      const spent = microsSpent(ctx, record);
      for (const check of reservation.costChecks) adjustments.push({ check, delta: spent - check.cost });
    }
    const changed = adjustments.filter((a) => a.delta !== 0);
    if (changed.length === 0) return;
    const settled = store.adjust(changed, now());
    if (settled instanceof Promise) settled.catch(storeFailed);
  };

  return {
    type: 'rate_limit',
    onRequest,
    onResponse: settleUsage,
    onError: settleUsage,
    figures: () => ({
      ...counts,
      ...Object.fromEntries(LIMIT_NAMES.map((name) => [`limited_${name}`, limitedBy[name]])),
      counters_evicted: memory?.evicted ?? 0,
    }),
    close: () => store.close(),
  };
};
