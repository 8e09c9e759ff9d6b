import type { CanonicalMessage, ConversationHistory } from './canonical.js';

/** Which rule of SESSIONS.md decided a request's session. */
export type SessionRule = 'explicit' | 'previous_response' | 'continued' | 'first';

/** Everything detection needs, already normalised by a provider adapter: no HTTP in here. */
export interface SessionRequest {
  /** Keyed digest of the credential (or other partition); sessions never cross partitions. */
  partition: string;
  /** A name the client gave its session (header or body metadata), already sanitised. */
  explicitId?: string;
  /** Responses API `previous_response_id`. */
  previousResponseId?: string;
  history: ConversationHistory;
}

export interface SessionDecision {
  sessionId: string;
  isNew: boolean;
  rule: SessionRule;
  /** Engine-private state the engine needs again when the reply is recorded. */
  readonly pending: unknown;
}

export interface RecordedReply {
  replies: CanonicalMessage[];
  responseId?: string;
}

export interface SessionSnapshot {
  active_count: number;
  total_created: number;
  considered: number;
  continued: number;
}

/** The session engine the proxy talks to; replaced by the full engine without touching the proxy. */
export interface SessionEngine {
  decide(request: SessionRequest): SessionDecision;
  /** Called once the reply is complete, before the client sees its last byte, so a follow-up links to it. */
  recordReply(decision: SessionDecision, reply: RecordedReply): void;
  snapshot(): SessionSnapshot;
  close(): void;
}
