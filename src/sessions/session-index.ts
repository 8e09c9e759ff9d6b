import { LRUCache } from 'lru-cache';
import type { DigestKey } from './fingerprint.js';
import { NO_SKETCH } from './fingerprint.js';
import { KeyTable } from './key-table.js';
import type { ParentLink, SessionRule } from './types.js';

/** A reply (or loose form) record read back from the index, already validated against its session. */
export interface Candidate {
  session: Session;
  /** 0-based position of the reply in the conversation (system prompt excluded). */
  position: number;
  /** 16-bit sketch of the message the reply answered; NO_SKETCH when none. */
  prev: number;
  /** 16-bit sketch of the turn that continued from this reply; NO_SKETCH while none has. */
  followUp: number;
  /** Where the record sits, to claim it later. */
  entry: number;
}

/** Rarely used parts of a session, allocated only when a session needs them. */
export interface SessionExtra {
  /** Keys of the long paragraphs of the latest reply (a compacted history quotes them). */
  paragraphKeys: string[];
  responseKeys: string[];
  /** Content words of recent user turns, only when the context-break rule is on. */
  topic: number[] | null;
  /** Admin identities of sub-agent sessions started from this one (bounded by the lineage rules). */
  children: string[] | null;
}

/**
 * One live session. A class with a fixed shape and small-integer fields (times are milliseconds since the
 * index started), so V8 keeps every field inside the object. Its replies live in the shared typed index.
 */
export class Session {
  requests = 0;
  /** Messages in the conversation so far, the latest reply included. */
  messageCount = 0;
  inputTokens = 0;
  outputTokens = 0;
  /** USD of the session's priced exchanges. */
  costUsd = 0;
  lastSeen: number;
  /** Position of the latest reply; -1 before the first. */
  latestPosition = -1;
  /** Sequence number of the latest reply's loose-form record (fuzzy candidates); 0 when none. */
  looseSeq = 0;
  /** Sequence number of the first reply's anchor record (recognises deep cut-backs); 0 when none. */
  anchorSeq = 0;
  /** Sequence number of the latest reply's shingle records (compaction by content); 0 when none. */
  shingleSeq = 0;
  /** How many shingle records the latest reply has (its sample size). */
  shingleCount = 0;
  /** 16-bit sketch values of the last messages, one character each, oldest first (fuzzy similarity). */
  sketch = '';
  extra: SessionExtra | null = null;
  /**
   * Small tag of the partition a generated session belongs to (identity.ts), so that a client naming this
   * id joins it only from that partition; 0 when unknown (rebuilt from a shared store): then it never does.
   */
  partitionTag = 0;
  /** The session this one is a sub-agent of; null for a root. */
  parent: ParentLink | null = null;

  constructor(
    /** The id clients see (X-Session-ID): random, or the name an explicit client gave. */
    readonly id: string,
    /** Its identity (index, store, sessions API): the id, or for a client-given name `name~partition tag`. */
    readonly key: string,
    readonly rule: SessionRule,
    readonly createdAt: number,
    /** Row of this session in the index's per-slot arrays. */
    readonly slot: number,
  ) {
    this.lastSeen = createdAt;
  }

  extras(): SessionExtra {
    return (this.extra ??= { paragraphKeys: [], responseKeys: [], topic: null, children: null });
  }
}

export type RemovalReason = 'evict' | 'expire' | 'delete';

export interface SessionIndexOptions {
  maxSessions: number;
  ttlMs: number;
  /** Replies per session that stay linkable (older ones fall out of the index). */
  repliesPerSession: number;
  /** Milliseconds clock; injectable so tests can expire sessions without waiting. */
  now: () => number;
  onRemove(session: Session, reason: RemovalReason): void;
}

const pack = (prev: number, followUp: number) => ((followUp << 16) | prev) >>> 0;

/**
 * Live sessions (LRU with idle TTL) and every index that points at them. Replies and loose forms live in
 * one typed-array table keyed by 64-bit digests; each record names a session slot and a sequence number,
 * and counts only while that slot still holds the session that wrote it and the number is among the
 * session's recent replies. So when a session goes, every record of it is dead at once, with no clean-up on
 * the request path, and the table drops dead records whenever it grows.
 */
export class SessionIndex {
  private readonly sessions: LRUCache<string, Session>;
  private readonly epoch: number;
  private readonly table: KeyTable;
  private readonly bySlot: (Session | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  /** Sequence numbers of each slot's recent replies, `repliesPerSession` per slot, as a ring. */
  private ring = new Uint32Array(0);
  /** Replies recorded per slot, to find the ring position of the next one. */
  private replyCount = new Uint32Array(0);
  private seq = 0;
  private readonly paragraphs = new Map<string, Session>();
  private readonly responses = new Map<string, Session>();
  /** Set once a reply has been sampled for compaction by content (a cheap "skip the scan" test). */
  private sampled = false;

  constructor(private readonly options: SessionIndexOptions) {
    this.epoch = options.now();
    this.table = new KeyTable((slot, seq) => this.recordLive(slot, seq));
    this.sessions = new LRUCache<string, Session>({
      max: options.maxSessions,
      ttl: options.ttlMs,
      updateAgeOnGet: true,
      perf: { now: options.now },
      ttlResolution: 0, // read the clock on every check: an injected clock may jump
      dispose: (session, _id, reason) => {
        if (reason === 'set') return;
        this.release(session);
        options.onRemove(session, reason === 'evict' ? 'evict' : reason === 'expire' ? 'expire' : 'delete');
      },
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Milliseconds since the index started: small integers keep session fields unboxed. */
  clock(): number {
    return this.options.now() - this.epoch;
  }

  /** Wall-clock time of a session timestamp. */
  wallTime(clock: number): number {
    return clock + this.epoch;
  }

  /** Looks a session up by its key and marks it used (LRU order, idle TTL). */
  touch(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  /** Looks without marking it used (metrics, the sessions API). */
  peek(key: string): Session | undefined {
    return this.sessions.get(key, { updateAgeOnGet: false });
  }

  /** True while the session lives, without marking it used. An expired one is removed on the spot. */
  alive(session: Session): boolean {
    if (this.bySlot[session.slot] !== session) return false;
    if (this.sessions.has(session.key)) return true;
    this.sessions.get(session.key, { updateAgeOnGet: false }); // a stale entry is deleted (and disposed) by this read
    return false;
  }

  create(id: string, rule: SessionRule, key = id, createdAt = this.clock()): Session {
    this.sessions.delete(key); // a name reused after its session ended starts clean
    const slot = this.freeSlots.pop() ?? this.grow();
    const session = new Session(id, key, rule, createdAt, slot);
    this.bySlot[slot] = session;
    this.sessions.set(key, session);
    return session;
  }

  /**
   * The live session filed under `key` with every index entry of it dropped, kept in place (requests in
   * flight hold it): a newer state of it, from a shared store, is about to be filed instead.
   */
  reload(key: string): Session | undefined {
    const session = this.sessions.get(key);
    if (!session) return undefined;
    this.wipe(session);
    session.looseSeq = 0;
    session.anchorSeq = 0;
    session.latestPosition = -1;
    return session;
  }

  delete(key: string): boolean {
    return this.sessions.delete(key);
  }

  /** Removes sessions idle past the TTL; run on a timer so expiry costs the request path nothing. */
  purgeStale(): void {
    this.sessions.purgeStale();
  }

  *values(): IterableIterator<Session> {
    yield* this.sessions.values();
  }

  /** Live sessions whose recent replies include one with this key. */
  replies(key: DigestKey): Candidate[] {
    const out: Candidate[] = [];
    for (const record of this.table.find(key.hi, key.lo)) {
      const session = this.bySlot[record.slot];
      if (!session || !this.inRing(record.slot, record.seq) || !this.alive(session)) continue;
      out.push({ session, position: record.a, prev: record.b & 0xffff, followUp: record.b >>> 16, entry: record.entry });
    }
    return out;
  }

  /** Marks the reply's branch as taken by the turn with this sketch. */
  claim(candidate: Candidate, followUp: number): void {
    candidate.followUp = followUp;
    this.table.setB(candidate.entry, pack(candidate.prev, followUp));
  }

  /** Records a reply (one key per choice, all at the same position); older replies beyond the bound drop out. */
  addReplies(session: Session, keys: DigestKey[], position: number, prev: number, followUp = NO_SKETCH): void {
    const seq = this.nextSeq();
    const per = this.options.repliesPerSession;
    this.ring[session.slot * per + (this.replyCount[session.slot]++ % per)] = seq;
    for (const key of keys) this.table.insert(key.hi, key.lo, session.slot, seq, position, pack(prev, followUp));
    session.latestPosition = position;
  }

  /** Live sessions whose latest reply has this loose form. */
  looseOwners(key: DigestKey): Session[] {
    const out: Session[] = [];
    for (const record of this.table.find(key.hi, key.lo)) {
      const session = this.bySlot[record.slot];
      if (session && session.looseSeq === record.seq && this.alive(session)) out.push(session);
    }
    return out;
  }

  setLoose(session: Session, key: DigestKey): void {
    session.looseSeq = this.nextSeq();
    this.table.insert(key.hi, key.lo, session.slot, session.looseSeq, 0, 0);
  }

  /**
   * The session's first reply stays findable for as long as the session lives, however many replies
   * follow: a history cut back to its beginning is then recognised as a count drop, at any depth.
   */
  setAnchor(session: Session, key: DigestKey, position: number): void {
    session.anchorSeq = this.nextSeq();
    this.table.insert(key.hi, key.lo, session.slot, session.anchorSeq, position, 0);
  }

  /** Live sessions whose first reply has this key, with that reply's position. */
  anchorOwners(key: DigestKey): { session: Session; position: number }[] {
    const out: { session: Session; position: number }[] = [];
    for (const record of this.table.find(key.hi, key.lo)) {
      const session = this.bySlot[record.slot];
      if (session && session.anchorSeq === record.seq && this.alive(session)) out.push({ session, position: record.a });
    }
    return out;
  }

  /**
   * The latest reply's shingle sample (shingles.ts). A new sequence number kills the previous reply's
   * records at once, so only a session's latest reply can seed a compaction and a session never holds more
   * than one sample; dead records are dropped when the table grows, like every other record.
   */
  setShingles(session: Session, keys: DigestKey[]): void {
    if (keys.length === 0) {
      session.shingleSeq = 0;
      session.shingleCount = 0;
      return;
    }
    session.shingleSeq = this.nextSeq();
    session.shingleCount = keys.length;
    this.sampled = true;
    for (const key of keys) this.table.insert(key.hi, key.lo, session.slot, session.shingleSeq, keys.length, 0);
  }

  /** Whether any reply was ever sampled: a gateway that never saw a long enough reply skips the scan. */
  hasShingles(): boolean {
    return this.sampled;
  }

  /**
   * Live sessions whose latest reply's sample these shingle keys cover, with the share covered, best first.
   * A sampled shingle counts once however often the text repeats it (its record is counted, not the key).
   */
  shingleOwners(keys: { hi: Uint32Array; lo: Uint32Array }): { session: Session; share: number }[] {
    let hits: Map<Session, Set<number>> | undefined;
    for (let i = 0; i < keys.hi.length; i++) {
      for (const record of this.table.find(keys.hi[i], keys.lo[i])) {
        const session = this.bySlot[record.slot];
        if (!session || session.shingleSeq !== record.seq) continue;
        hits ??= new Map();
        let entries = hits.get(session);
        if (!entries) hits.set(session, (entries = new Set()));
        entries.add(record.entry);
      }
    }
    const out: { session: Session; share: number }[] = [];
    if (!hits) return out;
    for (const [session, entries] of hits) if (this.alive(session)) out.push({ session, share: entries.size / session.shingleCount });
    return out.sort((a, b) => b.share - a.share || b.session.lastSeen - a.session.lastSeen);
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

  /** Sizes of every index, for tests and metrics: live records only. */
  indexSizes(): { sessions: number; replies: number; paragraphs: number; shingles: number; responses: number; table_bytes: number } {
    let replies = 0;
    let shingles = 0;
    for (const session of this.sessions.values()) {
      replies += Math.min(this.replyCount[session.slot], this.options.repliesPerSession);
      if (session.shingleSeq !== 0) shingles += session.shingleCount;
    }
    return { sessions: this.sessions.size, replies, paragraphs: this.paragraphs.size, shingles, responses: this.responses.size, table_bytes: this.table.bytes };
  }

  clear(): void {
    this.sessions.clear();
    this.table.clear();
    this.paragraphs.clear();
    this.responses.clear();
    this.sampled = false;
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xfffffffe ? 1 : this.seq + 1; // 0 means "none"
    return this.seq;
  }

  private inRing(slot: number, seq: number): boolean {
    const per = this.options.repliesPerSession;
    for (let i = slot * per; i < (slot + 1) * per; i++) if (this.ring[i] === seq) return true;
    return false;
  }

  private recordLive(slot: number, seq: number): boolean {
    const session = this.bySlot[slot];
    return session !== undefined && (session.looseSeq === seq || session.anchorSeq === seq || session.shingleSeq === seq || this.inRing(slot, seq));
  }

  /** A new slot; the per-slot arrays double when full. */
  private grow(): number {
    const slot = this.bySlot.length;
    this.bySlot.push(undefined);
    if (slot >= this.replyCount.length) {
      const capacity = Math.max(1024, this.replyCount.length * 2);
      const ring = new Uint32Array(capacity * this.options.repliesPerSession);
      ring.set(this.ring);
      this.ring = ring;
      const counts = new Uint32Array(capacity);
      counts.set(this.replyCount);
      this.replyCount = counts;
    }
    return slot;
  }

  /** A session is gone: its slot is wiped (every table record of it is dead from now on) and reused. */
  private release(session: Session): void {
    if (this.bySlot[session.slot] !== session) return;
    this.wipe(session);
    this.bySlot[session.slot] = undefined;
    this.freeSlots.push(session.slot);
  }

  /** Kills every index entry of a session: its ring is cleared and its Map entries are removed. */
  private wipe(session: Session): void {
    const per = this.options.repliesPerSession;
    this.ring.fill(0, session.slot * per, (session.slot + 1) * per);
    this.replyCount[session.slot] = 0;
    session.shingleSeq = 0; // its shingle records are dead from now on
    session.shingleCount = 0;
    if (session.extra) {
      for (const key of session.extra.paragraphKeys) if (this.paragraphs.get(key) === session) this.paragraphs.delete(key);
      for (const key of session.extra.responseKeys) if (this.responses.get(key) === session) this.responses.delete(key);
      session.extra.paragraphKeys = [];
      session.extra.responseKeys = [];
    }
  }
}
