import type { ParentLink, SessionRule } from '../types.js';

/**
 * What a store keeps of one session: enough for any gateway of the fleet to rebuild it and go on detecting
 * (the detection rules of docs/sessions.md), never message content. Index keys are keyed digests in hex, so a store never sees
 * text and cannot be used to forge a link to somebody else's session.
 */
export interface SessionState {
  /** The id clients see (X-Session-ID). */
  id: string;
  /** The key the session is filed under: the id, or a partition-scoped form of a client-given name. */
  key: string;
  rule: SessionRule;
  /** Wall-clock milliseconds. */
  createdAt: number;
  /** Messages in the conversation so far, the latest reply included. */
  messageCount: number;
  /** Position of the latest reply; -1 before the first. */
  latestPosition: number;
  /** 16-bit sketch values of the last messages, oldest first (fuzzy similarity). Numbers, not a string of
   * UTF-16 units as in memory: those include lone surrogates and NUL, which JSON columns refuse. */
  sketch: number[];
  /** The recent replies that stay linkable, oldest first. */
  replies: StoredReply[];
  /** The first reply, kept for as long as the session lives (deep count drops and edits). */
  anchor: { key: string; position: number } | null;
  /** Loose form of the latest reply (fuzzy candidates). */
  loose: string | null;
  /** Long paragraphs of the latest reply (compaction). */
  paragraphs: string[];
  /** Responses API ids of recent replies. */
  responses: string[];
  /** Content words of recent user turns, when the context-break rule is on. */
  topic: number[] | null;
  /** The session this one is a sub-agent of (absent in states stored before lineage): shared by the fleet. */
  parent?: ParentLink | null;
}

export interface StoredReply {
  /** One key per choice; all at the same position. */
  keys: string[];
  position: number;
  /** Sketch of the context the reply was given in. */
  prev: number;
  /** Sketch of the turn that continued from it (0xffff while none has). */
  followUp: number;
}

/** A session as a store returns it: the detection state plus counters the whole fleet adds to. */
export interface StoredSession {
  state: SessionState;
  /** Wall-clock milliseconds of the latest request anywhere in the fleet. */
  lastSeen: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** USD the session's priced exchanges cost, fleet-wide (0 in states stored before pricing). */
  costUsd: number;
}

/** One exchange's write: the new detection state, and what to add to the counters. */
export interface SessionWrite {
  state: SessionState;
  lastSeen: number;
  delta: { requests: number; inputTokens: number; outputTokens: number; costUsd: number };
}

export interface StoreLimits {
  /** Live sessions across every gateway sharing the store; the least recently seen go first. */
  maxSessions: number;
  /** Idle time after which a session is gone, in milliseconds. */
  ttlMs: number;
}

/**
 * A session store (get / put / touch / evict / index lookups). Every backend passes the same
 * contract suite (test/sessions/store/contract.ts). Times come from the caller so the contract, TTL
 * included, is tested with an injected clock against every backend alike.
 */
export interface SessionStore {
  readonly backend: 'memory' | 'file' | 'redis' | 'postgres';
  /** Connects (and migrates); rejects with a clear message when the backend cannot be reached. */
  open(): Promise<void>;
  /**
   * The fleet's hashing secret: the first gateway's candidate wins and every later one adopts it, so every
   * gateway computes the same keys for the same reply.
   */
  sharedSecret(candidate: string): Promise<string>;
  /** Sessions alive at `now` under any of these index keys (see indexKeysOf), in one round trip. */
  lookup(indexKeys: string[], now: number): Promise<StoredSession[]>;
  /**
   * The same, answered at once, by stores held in this process (memory, file): a request that opens a new
   * session then stays synchronous, with no timer, promise or second detection pass. Absent on stores
   * reached over the network.
   */
  lookupNow?(indexKeys: string[], now: number): StoredSession[];
  /** Creates or updates a session and files it under its index keys, in one round trip. */
  save(write: SessionWrite, now: number): Promise<void>;
  /** One session by key, if alive at `now`. */
  get(key: string, now: number): Promise<StoredSession | undefined>;
  /** Ends a session everywhere; true when it existed. */
  delete(key: string): Promise<boolean>;
  /** Drops sessions idle past the TTL and the least recent beyond max_sessions. */
  sweep(now: number): Promise<void>;
  /** Live sessions, most recent first (the sessions API and tests). */
  list(now: number, limit: number): Promise<StoredSession[]>;
  close(): Promise<void>;
}

/** Index key prefixes: one namespace per kind of link. */
export const indexKey = {
  session: (key: string) => `k:${key}`,
  reply: (hex: string) => `r:${hex}`,
  anchor: (hex: string) => `a:${hex}`,
  loose: (hex: string) => `l:${hex}`,
  paragraph: (hex: string) => `p:${hex}`,
  response: (hex: string) => `s:${hex}`,
};

/** Every index key a session is currently findable under; a store entry not in this set is stale. */
export function indexKeysOf(state: SessionState): string[] {
  const keys = [indexKey.session(state.key)];
  for (const reply of state.replies) for (const key of reply.keys) keys.push(indexKey.reply(key));
  if (state.anchor) keys.push(indexKey.anchor(state.anchor.key));
  if (state.loose) keys.push(indexKey.loose(state.loose));
  for (const key of state.paragraphs) keys.push(indexKey.paragraph(key));
  for (const key of state.responses) keys.push(indexKey.response(key));
  return keys;
}

/**
 * Sessions one lookup returns at most. A reply many sessions share ("OK.") would otherwise rebuild them all
 * on the gateway that asked; the engine's own index keeps at most 16 records per key, and a lookup asks for
 * a few keys at once.
 */
export const LOOKUP_LIMIT = 32;

/** Whether a session is alive at `now` under the TTL. */
export const aliveAt = (session: { lastSeen: number }, now: number, limits: StoreLimits) => now - session.lastSeen < limits.ttlMs;
