import type { ExchangeRecord } from '../../capture/record.js';
import type { RequestRow } from './postgres-records.js';

/**
 * The Postgres record's row for one finished exchange of a session; null for untracked exchanges. The trace
 * file is what the trace interceptor reported for this exchange, if it queued one.
 */
export function requestRow(record: ExchangeRecord, traceFile: string | null = null): RequestRow | null {
  if (!record.sessionId) return null;
  return {
    request_id: record.requestId,
    session_id: record.sessionKey ?? record.sessionId, // the admin identity: two tenants' `session-2` are two timelines
    parent_session_id: record.parentSessionKey ?? null, // likewise the parent's
    time: record.timestamp,
    method: record.method,
    path: record.path,
    provider: record.provider,
    model: record.model,
    stream: record.stream,
    status: record.status,
    duration_ms: record.durationMs,
    ttfb_ms: record.ttfbMs,
    input_tokens: record.usage?.input_tokens ?? null,
    output_tokens: record.usage?.output_tokens ?? null,
    cost_usd: record.costUsd ?? null,
    rule: record.sessionRule,
    is_new: record.isNewSession,
    failure: record.failure,
    trace_file: traceFile,
  };
}
