import { LRUCache } from 'lru-cache';
import { copyStored } from './copy-state.js';
import { aliveAt, indexKeysOf, LOOKUP_LIMIT, type SessionStore, type SessionWrite, type StoreLimits, type StoredSession } from './types.js';

/**
 * The store as plain maps in this process: the reference implementation of the contract, the base of the
 * file store, and a shared store for several engines in one process (tests of the fleet logic).
 * The gateway's default (`backend: memory`) needs no store at all: its engine's own index is the memory.
 */
export class MemoryStore implements SessionStore {
  readonly backend: SessionStore['backend'] = 'memory';
  protected secret: string | undefined;
  /** Sessions by key, least recently saved first out when max_sessions is reached. */
  protected readonly sessions: LRUCache<string, StoredSession>;
  /**
   * Index key → the key of the session filed under it, or a set of them when several share it. Most index
   * keys name one session: a plain string there spares a Set per key (about 100 bytes each, several per
   * session).
   */
  private readonly index = new Map<string, string | Set<string>>();

  constructor(protected readonly limits: StoreLimits) {
    this.sessions = new LRUCache<string, StoredSession>({
      max: limits.maxSessions,
      dispose: (session, key, reason) => {
        if (reason !== 'set') this.unindex(key, indexKeysOf(session.state));
        // Reported, so a journal replays it: a replay does not evict the same sessions by itself once a
        // delete, a failed write or a larger max_sessions changes what it holds.
        if (reason === 'evict') this.changed(key, null);
      },
    });
  }

  async open(): Promise<void> {}

  async sharedSecret(candidate: string): Promise<string> {
    this.secret ??= candidate;
    this.changedSecret();
    return this.secret;
  }

  async lookup(indexKeys: string[], now: number): Promise<StoredSession[]> {
    return this.lookupNow(indexKeys, now);
  }

  lookupNow(indexKeys: string[], now: number): StoredSession[] {
    const found = new Map<string, StoredSession>();
    for (const key of indexKeys) {
      const filed = this.index.get(key);
      for (const sessionKey of typeof filed === 'string' ? [filed] : (filed ?? [])) {
        const session = this.sessions.peek(sessionKey);
        if (session && aliveAt(session, now, this.limits)) found.set(sessionKey, session);
      }
    }
    return [...found.values()]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, LOOKUP_LIMIT)
      .map(copy);
  }

  async save(write: SessionWrite, now: number): Promise<void> {
    this.apply(write, now);
  }

  async get(key: string, now: number): Promise<StoredSession | undefined> {
    const session = this.sessions.peek(key);
    return session && aliveAt(session, now, this.limits) ? copy(session) : undefined;
  }

  async delete(key: string): Promise<boolean> {
    const existed = this.sessions.delete(key);
    if (existed) this.changed(key, null);
    return existed;
  }

  async sweep(now: number): Promise<void> {
    for (const [key, session] of this.sessions.entries()) {
      if (!aliveAt(session, now, this.limits)) {
        this.sessions.delete(key);
        this.changed(key, null);
      }
    }
  }

  async list(now: number, limit: number): Promise<StoredSession[]> {
    const live = [...this.sessions.values()].filter((session) => aliveAt(session, now, this.limits));
    return live
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, limit)
      .map(copy);
  }

  async close(): Promise<void> {}

  /** Merges one write: counters add up, the newer state replaces the older, the index follows the state. */
  protected apply(write: SessionWrite, now: number): StoredSession {
    const key = write.state.key;
    const existing = this.sessions.peek(key);
    const previous = existing && aliveAt(existing, now, this.limits) ? existing : undefined;
    const merged: StoredSession = {
      state: write.state,
      lastSeen: Math.max(write.lastSeen, previous?.lastSeen ?? 0),
      requests: (previous?.requests ?? 0) + write.delta.requests,
      inputTokens: (previous?.inputTokens ?? 0) + write.delta.inputTokens,
      outputTokens: (previous?.outputTokens ?? 0) + write.delta.outputTokens,
      costUsd: (previous?.costUsd ?? 0) + write.delta.costUsd,
    };
    const indexKeys = indexKeysOf(write.state);
    // A conversation's next turn keeps most of its keys: only those it lost leave the index (the kept ones
    // move to the recent end of keys they share, in reindex).
    if (existing) this.unindex(key, indexKeysOf(existing.state), new Set(indexKeys));
    this.sessions.set(key, merged);
    this.reindex(key, indexKeys);
    this.changed(key, merged);
    return merged;
  }

  /** Puts a session back as it was stored (the file store's recovery). */
  protected restore(session: StoredSession): void {
    const existing = this.sessions.peek(session.state.key);
    if (existing) this.unindex(session.state.key, indexKeysOf(existing.state)); // a journal replays over a snapshot
    this.sessions.set(session.state.key, session);
    this.reindex(session.state.key, indexKeysOf(session.state));
  }

  /** Called on every change, for stores that persist them. */
  protected changed(_key: string, _session: StoredSession | null): void {}
  protected changedSecret(): void {}

  /**
   * Files the session under these keys. A key several sessions share keeps them in the order they were last
   * saved, and at most LOOKUP_LIMIT of them, so a key thousands of sessions share costs a lookup what any key
   * costs. As in the engine's own index (16 records a key), the oldest give way: a session pushed out is
   * found again under its other keys, and filed again under this one by its next save. Unlike the shared
   * stores' (which rank by last seen and keep every member), this is recency of saving, and a session pushed
   * out stays out even if the newer ones later leave the key.
   */
  private reindex(key: string, indexKeys: string[]): void {
    for (const indexKey of indexKeys) {
      const filed = this.index.get(indexKey);
      if (filed === key) continue;
      if (filed === undefined) this.index.set(indexKey, key);
      else if (typeof filed === 'string') this.index.set(indexKey, new Set([filed, key]));
      else {
        filed.delete(key); // to the end: the most recently saved
        filed.add(key);
        if (filed.size > LOOKUP_LIMIT) filed.delete(filed.values().next().value as string);
      }
    }
  }

  /** Takes the session off these index keys, except those it keeps (`kept`). */
  private unindex(key: string, indexKeys: string[], kept?: Set<string>): void {
    for (const indexKey of indexKeys) {
      if (kept?.has(indexKey)) continue;
      const filed = this.index.get(indexKey);
      if (filed === key) this.index.delete(indexKey);
      else if (filed instanceof Set) {
        filed.delete(key);
        if (filed.size === 1) this.index.set(indexKey, filed.values().next().value as string);
      }
    }
  }
}

/** Callers get their own copy: a store hands out data, never its live objects. */
const copy = copyStored;
