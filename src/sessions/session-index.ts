import { LRUCache } from 'lru-cache';
import { MultiMap } from './multimap.js';
import type { SessionRule } from './types.js';

/** A reply the gateway returned, as its session keeps it: where it sits in the conversation. */
export interface ReplyRef {
  key: string;
  /** 0-based position of the reply in the conversation (system prompt excluded). */
  position: number;
  /** 16-bit sketch of the message the reply answered (tells apart equal replies to different turns). */
  prev: number;
  /** 16-bit sketch of the turn that continued from this reply; -1 while none has (claims a branch). */
  followUp: number;
}

/** Rarely used parts of a session, allocated only when a session needs them. */
export interface SessionExtra {
  /** Keys of the long paragraphs of the latest reply (a compacted history quotes them). */
  paragraphKeys: string[];
  responseKeys: string[];
  /** Content words of recent user turns, only when the context-break rule is on. */
  topic: number[] | null;
}

const noReplies: readonly ReplyRef[] = Object.freeze([]);

/**
 * One live session. A class with a fixed shape and small-integer fields (times are milliseconds since the
 * index started), so V8 keeps every field in the object itself: memory per session is what this file says.
 */
export class Session {
  requests = 0;
  /** Messages in the conversation so far, the latest reply included. */
  messageCount = 0;
  inputTokens = 0;
  outputTokens = 0;
  lastSeen: number;
  /** The most recent replies, newest last; replaced (never grown in place) so arrays stay exactly sized. */
  replies: readonly ReplyRef[] = noReplies;
  /** Key of the latest reply's loose form (fuzzy candidates). */
  looseKey: string | null = null;
  /** 16-bit sketch values of the last messages, one character each, oldest first (fuzzy similarity). */
  sketch = '';
  extra: SessionExtra | null = null;

  constructor(
    readonly id: string,
    readonly rule: SessionRule,
    readonly createdAt: number,
  ) {
    this.lastSeen = createdAt;
  }

  latestPosition(): number {
    return this.replies.length > 0 ? this.replies[this.replies.length - 1].position : -1;
  }

  extras(): SessionExtra {
    return (this.extra ??= { paragraphKeys: [], responseKeys: [], topic: null });
  }
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
  private readonly epoch: number;
  /** Reply key → the session(s) that returned it; the session holds the reply's details. */
  private readonly replies = new MultiMap<Session>();
  private readonly paragraphs = new Map<string, Session>();
  private readonly loose = new MultiMap<Session>();
  private readonly responses = new Map<string, Session>();

  constructor(private readonly options: SessionIndexOptions) {
    this.epoch = options.now();
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

  /** Milliseconds since the index started: small integers keep session fields unboxed. */
  clock(): number {
    return this.options.now() - this.epoch;
  }

  /** Wall-clock time of a session timestamp. */
  wallTime(clock: number): number {
    return clock + this.epoch;
  }

  create(id: string, rule: SessionRule): Session {
    const session = new Session(id, rule, this.clock());
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

  /** Sessions that returned a reply with this key. */
  repliesFor(key: string): readonly Session[] {
    return this.replies.get(key);
  }

  /** Adds a session's replies (one per choice), keeping only its newest `keep` replies in the index. */
  addReplies(session: Session, refs: ReplyRef[], keep: number): void {
    const all = [...session.replies, ...refs];
    const kept = all.length > keep ? all.slice(all.length - keep) : all;
    for (const old of all.length > keep ? all.slice(0, all.length - keep) : []) {
      if (!kept.some((ref) => ref.key === old.key)) this.replies.remove(old.key, session);
    }
    for (const ref of refs) this.replies.add(ref.key, session);
    session.replies = kept;
  }

  hasParagraphs(): boolean {
    return this.paragraphs.size > 0;
  }

  paragraphOwner(key: string): Session | undefined {
    return this.paragraphs.get(key);
  }

  /** Only a session's latest reply can seed a compaction, so earlier paragraph keys are dropped. */
  setParagraphs(session: Session, keys: string[]): void {
    if (keys.length === 0 && !session.extra) return;
    const extra = session.extras();
    for (const key of extra.paragraphKeys) if (this.paragraphs.get(key) === session) this.paragraphs.delete(key);
    extra.paragraphKeys = keys;
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
    const keys = session.extras().responseKeys;
    keys.push(key);
    this.responses.set(key, session);
    while (keys.length > keep) {
      const old = keys.shift()!;
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
    for (const ref of session.replies) this.replies.remove(ref.key, session);
    if (session.looseKey) this.loose.remove(session.looseKey, session);
    if (!session.extra) return;
    for (const key of session.extra.paragraphKeys) if (this.paragraphs.get(key) === session) this.paragraphs.delete(key);
    for (const key of session.extra.responseKeys) if (this.responses.get(key) === session) this.responses.delete(key);
  }
}
