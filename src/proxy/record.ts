import type { ExchangeRecord } from '../capture/record.js';
import type { SessionEngine } from '../sessions/types.js';
import type { Exchange } from './exchange.js';

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The finished exchange as sinks read it: built once, after the client has its last byte. */
export function exchangeRecord(ex: Exchange, sessions: SessionEngine | null): ExchangeRecord {
  const decision = ex.decision;
  const model = ex.model ?? ex.reply?.model ?? null;
  const usage = ex.reply?.usage ?? null;
  return {
    requestId: ex.requestId,
    timestamp: ex.timestamp,
    method: ex.method,
    path: ex.path,
    operation: ex.operation,
    provider: ex.provider,
    model,
    stream: ex.stream,
    status: ex.status,
    durationMs: round(performance.now() - ex.startedAt),
    ttfbMs: ex.firstByteAt ? round(ex.firstByteAt - ex.startedAt) : null,
    sessionId: decision?.sessionId ?? null,
    sessionKey: decision?.sessionKey ?? null,
    parentSessionId: decision?.parent?.id ?? null,
    parentSessionKey: decision?.parent?.key ?? null,
    isNewSession: decision?.isNew ?? null,
    sessionRule: decision?.rule ?? null,
    usage,
    // The reply names the exact model that answered (a dated snapshot): priced by it when it says.
    // Priced once, when the reply was complete (a reply is always handed to onReply, which prices it).
    costUsd: ex.reply?.costUsd ?? null,
    sessionUsage: (decision && sessions?.usage(decision)) ?? null,
    failure: ex.failure,
    request: { headers: ex.headers, body: ex.rawBody, json: ex.parsed !== null },
    response: { headers: ex.upstreamHeaders, body: ex.capture?.bytes() ?? null, truncated: ex.capture?.truncated ?? false, reply: ex.reply },
  };
}
