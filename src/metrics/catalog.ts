import { allAdapters } from '../providers/registry.js';

/**
 * Every metric the gateway exposes, named in one place, so the names in dashboards and alerts can be
 * checked against a single list, and the bounded label values they may carry.
 *
 * Labels are bounded by construction: provider and operation come from the adapters' fixed lists, status
 * classes from a fixed table. Nothing per request (session id, request id, model, path) is ever a label:
 * each distinct label value is a series kept forever by Prometheus.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
}

const def = (name: string, type: MetricType, help: string, labels: readonly string[] = []): MetricDef => ({ name, type, help, labels });

/** Per-exchange metrics, counted by `observe()`. */
export const EXCHANGE_METRICS = {
  requests: def('cylestio_requests_total', 'counter', 'Finished proxied exchanges by outcome (status class, or "failed" when the exchange did not complete).', [
    'provider',
    'operation',
    'status_class',
  ]),
  tokens: def('cylestio_tokens_total', 'counter', 'Tokens reported in provider usage.', ['provider', 'direction']),
  duration: def('cylestio_request_duration_seconds', 'histogram', 'Time from request arrival to the last response byte.', ['provider', 'operation', 'stream']),
  cost: def('cylestio_cost_usd_total', 'counter', 'What the exchanges cost in USD by the model price catalog (pricing.overrides win).', ['provider']),
  unpriced: def('cylestio_cost_unpriced_requests_total', 'counter', 'Exchanges with usage but no price (unknown model): not in cylestio_cost_usd_total.'),
  ttfb: def('cylestio_time_to_first_byte_seconds', 'histogram', 'Time from request arrival to the first response body byte.', [
    'provider',
    'operation',
    'stream',
  ]),
} as const;

/** The request path's own failures (a stage that threw, rejected or missed its deadline), read at scrape time. */
export const PIPELINE_METRICS = {
  gatewayErrors: def(
    'cylestio_gateway_errors_total',
    'counter',
    'Requests the gateway failed to handle itself (answered 500 gateway_error), by the stage that failed.',
    ['stage'],
  ),
  deadlinesMissed: def('cylestio_stage_deadlines_missed_total', 'counter', 'Stages that did not finish within server.timeouts.stage_seconds.'),
  sinkFailures: def('cylestio_sink_failures_total', 'counter', 'Finished-exchange consumers (log line, metrics, request rows) that threw.'),
  spansExported: def('cylestio_otlp_spans_exported_total', 'counter', 'OpenTelemetry spans the collector accepted.'),
  spansDropped: def(
    'cylestio_otlp_spans_dropped_total',
    'counter',
    'OpenTelemetry spans lost: the export queue was full (collector down or slow) or an export failed.',
  ),
  metricExportsFailed: def('cylestio_otlp_metric_exports_failed_total', 'counter', 'OpenTelemetry metric exports that failed or timed out.'),
  loginFailures: def('cylestio_admin_login_failures_total', 'counter', 'Wrong admin tokens given (sign-in form or Bearer on admin endpoints).'),
  loginLimited: def('cylestio_admin_login_limited_total', 'counter', 'Admin sign-in attempts refused because the client had too many wrong tokens.'),
} as const;

/** Process-level facts. */
export const SERVICE_METRICS = {
  buildInfo: def('cylestio_build_info', 'gauge', 'Always 1; the gateway version is in the label.', ['version']),
  startTime: def('cylestio_start_time_seconds', 'gauge', 'Unix time the gateway started.'),
  // The standard process metric names, so existing dashboards find them.
  residentMemory: def('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.'),
  heapUsed: def('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.'),
  heapTotal: def('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.'),
  externalMemory: def('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.'),
} as const;

/**
 * The session engine's own figures (decisions by rule, resets, evictions, hit rate, lookup and hashing times: what operators need to see detection at work), read at scrape time. Totals the engine keeps
 * monotonic since start are typed as counters so `rate()` works on them.
 */
export const SESSION_METRICS = {
  active: def('cylestio_sessions_active', 'gauge', 'Sessions currently held in memory.'),
  created: def('cylestio_sessions_created_total', 'counter', 'Sessions created since start.'),
  evicted: def('cylestio_sessions_evicted_total', 'counter', 'Sessions evicted to stay under max_sessions.'),
  expired: def('cylestio_sessions_expired_total', 'counter', 'Sessions dropped after session_ttl_seconds without a request.'),
  ended: def('cylestio_sessions_ended_total', 'counter', 'Sessions ended explicitly through the API.'),
  resets: def('cylestio_session_resets_total', 'counter', 'New sessions started by a reset rule.', ['reason']),
  decisions: def('cylestio_session_decisions_total', 'counter', 'Session decisions by the rule that decided.', ['rule']),
  fuzzy: def('cylestio_session_fuzzy_matches_total', 'counter', 'Requests joined to a session by fuzzy matching.'),
  considered: def('cylestio_session_requests_considered_total', 'counter', 'Requests that went through session detection.'),
  hitRatio: def('cylestio_session_cache_hit_ratio', 'gauge', 'Share of considered requests that continued an existing session.'),
  averageLength: def('cylestio_session_average_length_messages', 'gauge', 'Mean messages per active session.'),
  longest: def('cylestio_session_longest_messages', 'gauge', 'Messages in the longest session seen.'),
  lookupMean: def('cylestio_session_lookup_mean_seconds', 'gauge', 'Mean session lookup time over the recent window.'),
  lookupP99: def('cylestio_session_lookup_p99_seconds', 'gauge', 'p99 session lookup time over the recent window.'),
  hashMean: def('cylestio_session_hash_mean_seconds', 'gauge', 'Mean fingerprint hashing time over the recent window.'),
  hashP99: def('cylestio_session_hash_p99_seconds', 'gauge', 'p99 fingerprint hashing time over the recent window.'),
} as const;

/** The session store (`session.persistence`), by backend; empty families while persistence is off. */
export const STORE_METRICS = {
  healthy: def('cylestio_session_store_healthy', 'gauge', '1 while the session store answers, 0 while sessions are decided locally.', ['backend']),
  operations: def('cylestio_session_store_operations_total', 'counter', 'Session store calls by operation (lookup, lookup_hit, save, restored).', [
    'backend',
    'operation',
  ]),
  errors: def('cylestio_session_store_errors_total', 'counter', 'Session store calls that failed or timed out.', ['backend']),
  fallbacks: def('cylestio_session_store_fallbacks_total', 'counter', 'Requests decided locally because the store could not answer.', ['backend']),
  dropped: def('cylestio_session_store_writes_dropped_total', 'counter', 'Session writes dropped because too many were in flight.', ['backend']),
  latencyMean: def('cylestio_session_store_latency_mean_seconds', 'gauge', 'Mean session store call time over the recent window.', ['backend']),
  latencyP99: def('cylestio_session_store_latency_p99_seconds', 'gauge', 'p99 session store call time over the recent window.', ['backend']),
  recordRows: def('cylestio_session_record_rows_total', 'counter', 'Request rows for the Postgres record by outcome (written, dropped, failed).', ['outcome']),
} as const;

/** Interceptors: `enabled` is fixed; each numeric figure becomes `cylestio_interceptor_<figure>{type}`. */
export const INTERCEPTOR_ENABLED = def('cylestio_interceptor_enabled', 'gauge', '1 when the interceptor is enabled.', ['type']);
const INTERCEPTOR_PREFIX = 'cylestio_interceptor_';

/**
 * The metric name for an interceptor figure, or null when nothing valid is left of it. A figure whose
 * name ends in a suffix the exposition formats reserve (`_total`, `_count`, …) gets `_value` appended,
 * since a gauge named like a counter sample confuses OpenMetrics parsers.
 */
export function interceptorMetricName(figure: string): string | null {
  const cleaned = figure
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (cleaned === '' || cleaned === 'enabled') return null;
  const safe = /_(total|count|sum|bucket|created|info|gcount|gsum)$/.test(cleaned) ? `${cleaned}_value` : cleaned;
  return INTERCEPTOR_PREFIX + safe;
}

/**
 * Latency buckets for LLM traffic, in seconds: a cached or embeddings answer takes milliseconds, a long
 * streamed completion minutes. 5 ms to 120 s, denser where chat latencies cluster (0.5 s to 30 s).
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120,
]);

/* ---- bounded label values ---- */

// New adapters must be added here too; anything else is reported as `other`, never as its raw name.
const ADAPTERS = allAdapters();
const KNOWN_PROVIDERS = new Set(ADAPTERS.map((adapter) => adapter.name));
const KNOWN_OPERATIONS = new Set(ADAPTERS.flatMap((adapter) => adapter.operations.map((operation) => operation.name)));

/** Requests on paths no adapter operation knows (forwarded as they are). */
export const PASSTHROUGH = 'passthrough';
export const OTHER = 'other';

export function providerLabel(provider: string): string {
  return KNOWN_PROVIDERS.has(provider) ? provider : OTHER;
}

export function operationLabel(operation: string | null): string {
  if (operation === null) return PASSTHROUGH;
  return KNOWN_OPERATIONS.has(operation) ? operation : OTHER;
}

/** The status classes, in the index order `statusClassIndex` returns; `failed` last. */
export const STATUS_CLASSES: readonly string[] = Object.freeze(['1xx', '2xx', '3xx', '4xx', '5xx', 'failed']);
const FAILED_INDEX = STATUS_CLASSES.length - 1;

/**
 * A failed exchange (timeout, unreachable, client closed…) counts as `failed` whatever status the client
 * was finally sent: the provider never gave a complete answer. So does a status outside 100–599.
 */
export function statusClassIndex(status: number, failure: string | null): number {
  if (failure !== null || !(status >= 100 && status < 600)) return FAILED_INDEX;
  return Math.floor(status / 100) - 1;
}

export const STREAM_LABELS: readonly string[] = Object.freeze(['false', 'true']);
