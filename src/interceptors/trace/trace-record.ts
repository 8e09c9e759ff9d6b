import type { ExchangeRecord } from '../../capture/record.js';

export interface TraceShape {
  includeHeaders: boolean;
  includeBody: boolean;
  maxBodySize: number;
  includeRawStream: boolean;
  redact(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]>;
}

/** A body as the trace shows it: JSON when it parses, else text; cut at the limit, and saying so. */
function traceBody(raw: Buffer | null, truncatedAlready: boolean, limit: number): { body: unknown; truncated: boolean; bytes: number } {
  if (!raw || raw.length === 0) return { body: null, truncated: truncatedAlready, bytes: 0 };
  if (raw.length > limit) return { body: raw.subarray(0, limit).toString('utf8'), truncated: true, bytes: raw.length };
  const text = raw.toString('utf8');
  if (!truncatedAlready) {
    try {
      return { body: JSON.parse(text), truncated: false, bytes: raw.length };
    } catch {
      // not JSON: kept as text
    }
  }
  return { body: text, truncated: truncatedAlready, bytes: raw.length };
}

/**
 * The trace file's content: the session fields at the top (so `grep sess_…` and `jq .session_id` work),
 * then request and response with secrets redacted. A streamed response's body is the reply reassembled in
 * the provider's non-streaming shape; the raw events follow when `include_raw_stream` is set.
 */
export function buildTrace(record: ExchangeRecord, shape: TraceShape): Record<string, unknown> {
  const request: Record<string, unknown> = { method: record.method, path: record.path };
  const response: Record<string, unknown> = { status: record.status };
  if (shape.includeHeaders) {
    request.headers = shape.redact(record.request.headers);
    response.headers = shape.redact(record.response.headers);
  }
  if (shape.includeBody) {
    const req = traceBody(record.request.body, false, shape.maxBodySize);
    request.body = req.body;
    if (req.truncated) Object.assign(request, { body_truncated: true, body_bytes: req.bytes });
    const assembled = record.response.reply?.assembled;
    if (record.stream && assembled !== undefined) {
      response.body = assembled;
      if (shape.includeRawStream) {
        const raw = traceBody(record.response.body, record.response.truncated, shape.maxBodySize);
        response.raw_stream = typeof raw.body === 'string' ? raw.body : JSON.stringify(raw.body);
        if (raw.truncated) response.raw_stream_truncated = true;
      }
    } else {
      const res = traceBody(record.response.body, record.response.truncated, shape.maxBodySize);
      response.body = res.body;
      if (res.truncated) Object.assign(response, { body_truncated: true });
    }
  }
  response.duration_ms = record.durationMs;
  response.time_to_first_byte_ms = record.ttfbMs;
  return {
    timestamp: record.timestamp,
    request_id: record.requestId,
    session_id: record.sessionId,
    is_new_session: record.isNewSession,
    session_rule: record.sessionRule,
    provider: record.provider,
    model: record.model,
    stream: record.stream,
    request,
    response,
    usage: record.usage,
    session_usage: record.sessionUsage,
    failure: record.failure,
  };
}
