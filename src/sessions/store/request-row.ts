import type { ExchangeRecord } from '../../capture/record.js';
import type { RequestRow } from './postgres-records.js';

/** The Postgres record's row for one finished exchange of a session; null for untracked exchanges. */
export function requestRow(record: ExchangeRecord): RequestRow | null {
  if (!record.sessionId) return null;
  return {
    requestId: record.requestId,
    sessionId: record.sessionId,
    time: record.timestamp,
    method: record.method,
    path: record.path,
    provider: record.provider,
    model: record.model ?? '',
    stream: record.stream,
    status: record.status,
    durationMs: record.durationMs,
    ttfbMs: record.ttfbMs,
    inputTokens: record.usage?.input_tokens ?? null,
    outputTokens: record.usage?.output_tokens ?? null,
    rule: record.sessionRule,
    isNew: record.isNewSession,
    failure: record.failure,
    traceFile: record.traceFile,
  };
}
