import { LRUCache } from 'lru-cache';
import type { Delegation } from './delegations.js';
import { windowHash } from './word-windows.js';

/** A delegation waiting for its sub-agent, filed under the hash of its first words and its partition's tag. */
export interface DelegationEntry {
  parentKey: string;
  parentId: string;
  callId: string;
  /** Words of the argument, and a keyed digest of them (verification of a window that matched the head). */
  length: number;
  digest: string;
}

/**
 * Recent delegations of every session, for linking the sub-agent sessions they start. Bounded twice: at
 * most `maxEntries` heads (least recently used go first, counted) and each for `ttlMs` (a sub-agent starts
 * right after the tool call that asks for it). In memory only: the argument text is never stored, and a
 * head's hash is seeded per process, so nothing here means anything outside this gateway.
 */
export class DelegationIndex {
  private readonly entries: LRUCache<string, DelegationEntry[]>;
  evicted = 0;

  constructor(maxEntries: number, ttlMs: number, now: () => number) {
    this.entries = new LRUCache({
      max: maxEntries,
      ttl: ttlMs,
      perf: { now },
      ttlResolution: 0,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evicted++;
      },
    });
  }

  add(tag: number, delegation: Delegation, entry: DelegationEntry): void {
    const key = `${tag}:${windowHash(delegation.words)}`;
    const list = this.entries.get(key);
    if (!list) this.entries.set(key, [entry]);
    else if (!list.some((e) => e.parentKey === entry.parentKey && e.callId === entry.callId)) list.push(entry);
  }

  /** Delegations whose first words (a window) hash to `head` in this partition. */
  candidates(tag: number, head: number): DelegationEntry[] | undefined {
    return this.entries.get(`${tag}:${head}`);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
