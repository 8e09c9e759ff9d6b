import { LRUCache } from 'lru-cache';
import { MultiMap } from './multimap.js';
import type { SessionRule } from './types.js';

/** A reply the gateway returned, as an index entry: where it sits in its session's conversation. */
export interface ReplyRef {
  key: string;
  session: Session;
  /** 0-based position of the reply in the conversation (system prompt excluded). */
  position: number;
  /** Sketch value of the message the reply answered (to tell apart equal replies to different turns). */
  prev: number;
  /** Sketch value of the turn that continued from this reply, 0 while none has (claims a branch). */
  followUp: number;
}

export interface Session {
  id: string;
  createdAt: number;
  lastSeen: number;
  rule: SessionRule;
  requests: number;
  /** Messages in the conversation so far, the latest reply included. */
  messageCount: number;
  inputTokens: number;
  outputTokens: number;
  /** The most recent replies, newest last; bounded, so memory per session is flat. */
  replies: ReplyRef[];
  /** Keys of the long paragraphs of the latest reply (a compacted history quotes them). */
  paragraphKeys: string[];
  /** Key of the latest reply's loose form (fuzzy candidates). */
  looseKey: string | null;
  responseKeys: string[];
  /** Sketch values of the last messages, for fuzzy similarity. */
  sketch: number[];
  /** Content words of recent user turns, only when the context-break rule is on. */
  topic: number[] | null;
}

export type RemovalReason = 'evict' | 'expire' | 'delete';

export interface SessionIndexOptions {
  maxSessions: number;
  ttlMs: number;
  /** Milliseconds clock; injectable so tests can expire sessions without waiting. */
  now: () => number;
  onRemove(session: Session, reason: RemovalReason): void;
}

/**
 * Live sessions (LRU with idle TTL) and every index that points at them. When a session goes, for
 * whatever reason, each of its index entries goes with it: no index ever names a session that is gone.
 */
export class SessionIndex {
  private readonly sessions: LRUCache<string, Session>;
  private readonly replies = new MultiMap<ReplyRef>();
  private readonly paragraphs = new Map<string, Session>();
  private readonly loose = new MultiMap<Session>();
  private readonly responses = new Map<string, Session>();

  constructor(private readonly options: SessionIndexOptions) {
    this.sessions = new LRUCache<string, Session>({
      max: options.maxSessions,
      ttl: options.ttlMs,
      updateAgeOnGet: true,
      perf: { now: options.now },
      ttlResolution: 0, // read the clock on every check: an injected clock may jump
      dispose: (session, _id, reason) => {
        if (reason === 'set') return;
        this.unindex(session);
        options.onRemove(session, reason === 'evict' ? 'evict' : reason === 'expire' ? 'expire' : 'delete');
      },
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Looks a session up and marks it used (LRU order, idle TTL). */
  touch(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** True while the session lives, without marking it used. An expired one is removed on the spot. */
  alive(id: string): boolean {
    if (this.sessions.has(id)) return true;
    this.sessions.get(id, { updateAgeOnGet: false }); // a stale entry is deleted (and disposed) by this read
    return false;
  }

  /** Looks without marking it used (metrics, the sessions API). */
  peek(id: string): Session | undefined {
    return this.sessions.get(id, { updateAgeOnGet: false });
  }

  create(id: string, rule: SessionRule): Session {
    const now = this.options.now();
    const session: Session = {
      id,
      createdAt: now,
      lastSeen: now,
      rule,
      requests: 0,
      messageCount: 0,
      inputTokens: 0,
      outputTokens: 0,
      replies: [],
      paragraphKeys: [],
      looseKey: null,
      responseKeys: [],
      sketch: [],
      topic: null,
    };
    this.sessions.set(id, session);
    return session;
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** Removes sessions idle past the TTL; run on a timer so expiry costs the request path nothing. */
  purgeStale(): void {
    this.sessions.purgeStale();
  }

  *values(): IterableIterator<Session> {
    yield* this.sessions.values();
  }

  repliesFor(key: string): readonly ReplyRef[] {
    return this.replies.get(key);
  }

  /** Adds a reply, keeping only the session's newest `keep` replies in the index. */
  addReply(ref: ReplyRef, keep: number): void {
    const session = ref.session;
    session.replies.push(ref);
    this.replies.add(ref.key, ref);
    while (session.replies.length > keep) {
      const old = session.replies.shift()!;
      this.replies.remove(old.key, old);
    }
  }

  hasParagraphs(): boolean {
    return this.paragraphs.size > 0;
  }

  paragraphOwner(key: string): Session | undefined {
    return this.paragraphs.get(key);
  }

  /** Only a session's latest reply can seed a compaction, so earlier paragraph keys are dropped. */
  setParagraphs(session: Session, keys: string[]): void {
    for (const key of session.paragraphKeys) if (this.paragraphs.get(key) === session) this.paragraphs.delete(key);
    session.paragraphKeys = keys;
    for (const key of keys) this.paragraphs.set(key, session);
  }

  looseOwners(key: string): readonly Session[] {
    return this.loose.get(key);
  }

  setLoose(session: Session, key: string | null): void {
    if (session.looseKey) this.loose.remove(session.looseKey, session);
    session.looseKey = key;
    if (key) this.loose.add(key, session);
  }

  responseOwner(key: string): Session | undefined {
    return this.responses.get(key);
  }

  addResponse(session: Session, key: string, keep: number): void {
    session.responseKeys.push(key);
    this.responses.set(key, session);
    while (session.responseKeys.length > keep) {
      const old = session.responseKeys.shift()!;
      if (this.responses.get(old) === session) this.responses.delete(old);
    }
  }

  /** Sizes of every index, for tests and metrics: each must fall back to zero when sessions go. */
  indexSizes(): { sessions: number; replies: number; paragraphs: number; loose: number; responses: number } {
    return { sessions: this.sessions.size, replies: this.replies.size, paragraphs: this.paragraphs.size, loose: this.loose.size, responses: this.responses.size };
  }

  clear(): void {
    this.sessions.clear();
    this.replies.clear();
    this.paragraphs.clear();
    this.loose.clear();
    this.responses.clear();
  }

  private unindex(session: Session): void {
    for (const ref of session.replies) this.replies.remove(ref.key, ref);
    for (const key of session.paragraphKeys) if (this.paragraphs.get(key) === session) this.paragraphs.delete(key);
    if (session.looseKey) this.loose.remove(session.looseKey, session);
    for (const key of session.responseKeys) if (this.responses.get(key) === session) this.responses.delete(key);
  }
}
