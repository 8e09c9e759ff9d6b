// Synthetic inputs for the metrics tests: finished exchanges and session-engine figures, as the relay and
// the session engine would hand them over, with ids that must never surface as labels.
import type { ExchangeRecord } from '../../src/capture/record.js';
import type { InterceptorFigures, MetricsSources } from '../../src/metrics/gateway-metrics.js';
import type { SessionMetrics } from '../../src/sessions/types.js';

let sequence = 0;

/** A successful, non-streamed chat completion, with whatever the test overrides. */
export function exchange(overrides: Partial<ExchangeRecord> = {}): ExchangeRecord {
  sequence++;
  return {
    requestId: `req_${sequence.toString().padStart(8, '0')}`,
    timestamp: new Date(1_700_000_000_000).toISOString(),
    method: 'POST',
    path: '/v1/chat/completions',
    operation: 'chat.completions',
    provider: 'openai',
    model: 'gpt-4o-mini',
    stream: false,
    status: 200,
    durationMs: 100,
    ttfbMs: 40,
    sessionId: `sess_${sequence.toString().padStart(20, 'a')}`,
    isNewSession: sequence === 1,
    sessionRule: 'continued',
    usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    sessionUsage: { requests: sequence, input_tokens: 10 * sequence, output_tokens: 5 * sequence },
    failure: null,
    request: { headers: { 'x-session-id': `sess_${sequence}` }, body: null },
    response: { headers: { 'x-request-id': `req_${sequence}` }, body: null, truncated: false, reply: null },
    ...overrides,
  };
}

export function sessionFigures(): SessionMetrics {
  return {
    active_count: 4,
    total_created: 9,
    cache_hit_rate: 0.75,
    fuzzy_matches: 2,
    average_session_length: 6.5,
    longest_session: 14,
    evicted: 1,
    expired: 3,
    ended: 1,
    resets: { reset_phrase: 1, count_drop: 2, context_break: 0 },
    explicit: 3,
    decisions: { explicit: 3, continued: 20, retry: 1, fuzzy: 2, reset_phrase: 1, count_drop: 2, context_break: 0, compaction: 0, first: 5 },
    requests_considered: 34,
    performance: { session_lookup_ms: 0.25, session_lookup_p99_ms: 1.5, hash_computation_ms: 0.05, hash_computation_p99_ms: 0.2 },
  };
}

export const interceptorFigures = (): InterceptorFigures => ({
  printer: { enabled: true },
  trace: { enabled: true, traces_written: 7, traces_dropped: 1 },
  message_logger: { enabled: false, logs_written: 0 },
});

export const sources = (overrides: Partial<MetricsSources> = {}): MetricsSources => ({
  sessions: sessionFigures(),
  interceptors: interceptorFigures(),
  ...overrides,
});

/** A clock the test moves by hand. */
export function manualClock(startMs = 1_700_000_000_000) {
  let now = startMs;
  return {
    now: () => now,
    set: (ms: number) => void (now = ms),
    advance: (ms: number) => void (now += ms),
    start: startMs,
  };
}
