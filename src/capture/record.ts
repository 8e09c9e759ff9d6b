import type { CapturedReply, Usage } from '../providers/types.js';
import type { SessionRule } from '../sessions/types.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * One finished exchange, as interceptors (onResponse/onError) and metrics see it: built once by the relay
 * when the response ends (or fails), after the client has its last byte. Bodies are the bytes as sent, kept
 * only when some consumer asked for them (`captureBodies`), and bounded.
 */
export interface ExchangeRecord {
  requestId: string;
  /** ISO time the request arrived. */
  timestamp: string;
  method: string;
  path: string;
  /** Adapter operation name (`chat.completions`, `messages`, …), null for pass-through paths. */
  operation: string | null;
  provider: string;
  model: string | null;
  stream: boolean;
  status: number;
  durationMs: number;
  /** Time to the first response body byte, null when none came. */
  ttfbMs: number | null;
  /** What the client saw in X-Session-ID (a generated id, or the client's own name for its session). */
  sessionId: string | null;
  /**
   * The session's admin identity (SessionDecision.sessionKey), unique across credentials: what timelines,
   * request rows and the sessions API key by. Absent only in records built without a session decision.
   */
  sessionKey?: string | null;
  /**
   * The session this one is a sub-agent of, as its client sees it (X-Parent-Session-ID), and its admin
   * identity; null for a root session or no session. Absent in records built without a session decision.
   */
  parentSessionId?: string | null;
  parentSessionKey?: string | null;
  isNewSession: boolean | null;
  sessionRule: SessionRule | null;
  usage: Usage | null;
  /** What the exchange cost in USD by the price catalog (or `pricing.overrides`); null when not priced. */
  costUsd?: number | null;
  /** The session's running totals after this exchange (per-session usage), when sessions are on. */
  sessionUsage: { requests: number; input_tokens: number; output_tokens: number } | null;
  /** Why the exchange failed (`timeout`, `unreachable`, `client_closed`, …); null when it completed. */
  failure: string | null;
  request: {
    headers: Headers;
    body: Buffer | null;
    /** The body is valid JSON: the gateway parsed it (a JSON route's body it accepted). Absent: not known. */
    json?: boolean;
  };
  response: {
    headers: Headers;
    /** Raw body bytes (SSE text for streams), up to the capture limit; null when not captured. */
    body: Buffer | null;
    /** True when the body was longer than the capture limit and was cut. */
    truncated: boolean;
    /** The reassembled reply of a chat exchange, when there is one. */
    reply: CapturedReply | null;
  };
}
