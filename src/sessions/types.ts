import type { CanonicalMessage, Conversation } from '../conversation/canonical.js';
import type { LineageFigures } from './lineage/lineage.js';

/** Which detection rule (docs/sessions.md) decided a request's session (the `session_rule` in logs and traces). */
export type SessionRule = 'explicit' | 'continued' | 'retry' | 'fuzzy' | 'reset_phrase' | 'count_drop' | 'context_break' | 'compaction' | 'first';

/** Everything detection needs, already normalised by a provider adapter: no HTTP in here. */
export interface SessionRequest {
  /** The credential (or credential + client address, or ''); only ever fed into keyed hashes. */
  partition: string;
  /**
   * A name the client gave its session (header or body metadata), already sanitised. Names starting with
   * `sess_` are reserved: one joins the generated session of that id only from the partition that owns it,
   * and is otherwise ignored (detection runs as for an unnamed request).
   */
  explicitId?: string;
  /** Responses API `previous_response_id`. */
  previousResponseId?: string;
  /**
   * The session this request's session is a sub-agent of, when the client says so (a coding agent's
   * agent-id header, `Helicone-Session-Path`): the parent's client-given name, sanitised like `explicitId`.
   */
  explicitParentId?: string;
  /** The trace id of the client's W3C `traceparent`, when it sent one (agents run sub-agents inside a tool call's span). */
  traceId?: string;
  conversation: Conversation;
}

/** A session's parent: what clients see of it (`X-Parent-Session-ID`) and its admin identity. */
export interface ParentLink {
  id: string;
  key: string;
  /**
   * How the link was made: the client named the parent (`explicit`), the sub-agent's first message carried
   * a delegating tool call's argument (`tool_call`), or it came in the trace of a session waiting on a tool
   * call (`trace`).
   */
  source: 'explicit' | 'tool_call' | 'trace';
  /** A tool-call link is confirmed once the child's final reply comes back in the parent's tool result. */
  confirmed: boolean;
}

export interface SessionDecision {
  /** What the client sees (`X-Session-ID`): the generated id, or the client's own name for its session. */
  sessionId: string;
  /**
   * The session's identity for admins (sessions API, timelines, request rows), unique across partitions:
   * the generated id, or for a named session the name plus a tag of its partition (`session-2~3f9a…`),
   * so two tenants' `session-2` are two sessions everywhere, not only in detection.
   */
  sessionKey: string;
  isNew: boolean;
  rule: SessionRule;
  /** Why, in words, for the decision log line. */
  reason: string;
  /** The session this one is a sub-agent of; null for a root session. */
  parent: ParentLink | null;
  /** Engine-private state needed again when the reply is recorded. */
  readonly pending: unknown;
}

export interface RecordedReply {
  /** One canonical message per choice (`n` > 1 gives several; the client may keep any of them). */
  replies: CanonicalMessage[];
  responseId?: string;
  usage?: { input_tokens: number; output_tokens: number } | null;
  /** What the exchange cost in USD (the price catalog); absent or null when not priced. */
  costUsd?: number | null;
}

/** A live session as the sessions API and metrics show it. */
export interface SessionView {
  /** The admin identity (SessionDecision.sessionKey): what the sessions API's `/sessions/:id` takes. */
  id: string;
  /** The id its client sees (X-Session-ID): the generated id, or the client's own name. */
  name: string;
  created_at: string;
  last_seen: string;
  messages: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  /** USD of the session's priced exchanges, fleet-wide with a shared store. */
  cost_usd: number;
  rule: SessionRule;
  /** The admin identity of the session this one is a sub-agent of; null for a root. */
  parent_session_id: string | null;
}

/** Totals over a session and every descendant (its sub-agents, theirs, …). */
export interface TreeTotals {
  sessions: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface TimingSummary {
  mean: number;
  p99: number;
}

/** The `sessions` and `performance` sections of `/metrics` (decisions by rule, resets, evictions, hit rate, timings). */
export interface SessionMetrics {
  active_count: number;
  total_created: number;
  cache_hit_rate: number;
  fuzzy_matches: number;
  average_session_length: number;
  longest_session: number;
  evicted: number;
  expired: number;
  ended: number;
  resets: { reset_phrase: number; count_drop: number; context_break: number };
  explicit: number;
  decisions: Record<SessionRule, number>;
  requests_considered: number;
  /** Sub-agent links made and confirmed, and the bounded index of delegations (absent in engines without lineage). */
  lineage?: LineageFigures;
  /** Means over the last 1,024 decisions (the guide's fields), with their p99 beside them. */
  performance: { session_lookup_ms: number; session_lookup_p99_ms: number; hash_computation_ms: number; hash_computation_p99_ms: number };
}

/** Which live sessions the sessions API lists. */
export interface SessionQuery {
  limit: number;
  offset: number;
  sort: 'last_seen' | 'created' | 'requests' | 'tokens' | 'messages' | 'cost';
  order: 'asc' | 'desc';
  rule?: SessionRule;
  /** Part of the session id. */
  q?: string;
  /** Only sessions seen within this many milliseconds. */
  activeWithinMs?: number;
  /** Only sessions without a parent (top-level runs, not their sub-agents). */
  rootOnly?: boolean;
}

/**
 * What an id given to the sessions API names: an admin identity names one session; a bare client-given
 * name names every live session of that name, one per partition that used it, and several are ambiguous.
 */
export type SessionLookup = { kind: 'one'; session: SessionView } | { kind: 'ambiguous'; ids: string[] } | { kind: 'none' };

/** The session engine the proxy talks to. */
export interface SessionEngine {
  /** Synchronous, except when a shared store must be asked (see DetectionEngine.decide). */
  decide(request: SessionRequest): SessionDecision | Promise<SessionDecision>;
  /**
   * Called once the reply is complete, before the client sees its last byte, so a follow-up links to it.
   * With a shared store, returns the write's promise (settles when the store has it, never rejects): the
   * proxy holds the client's last bytes until then, so a follow-up that reaches another gateway finds it.
   */
  recordReply(decision: SessionDecision, reply: RecordedReply): void | Promise<void>;
  /** A live session of this gateway by its admin identity (SessionDecision.sessionKey). */
  get(key: string): SessionView | undefined;
  /** Admin identities of a session's live sub-agent sessions (children), as this gateway knows them. */
  children(key: string): string[];
  /** The decided session's running usage (cheap: no view built), for exchange records. */
  usage(decision: SessionDecision): { requests: number; input_tokens: number; output_tokens: number } | undefined;
  /** Ends a session by its admin identity: its index entries go with it and the next request starts anew. */
  end(key: string): boolean;
  /** Live sessions, fleet-wide when a shared store is attached (the sessions API). */
  list(query: SessionQuery): Promise<{ sessions: SessionView[]; total: number }>;
  /** One live session by its admin identity, or by a bare name that only one partition uses; here or in the shared store. */
  find(id: string): Promise<SessionLookup>;
  /** Ends the session `find` gives, here and in the shared store; ends nothing when the name is ambiguous. */
  endSession(id: string): Promise<SessionLookup>;
  metrics(): SessionMetrics;
  /** Stops timers, waits for store writes in flight and closes the store. */
  close(): Promise<void>;
}
