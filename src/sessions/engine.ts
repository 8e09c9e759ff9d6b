import type { Hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { SessionConfig } from '../config/schema.js';
import { HistoryHasher } from './history-hash.js';
import { newSessionId } from './ids.js';
import type { RecordedReply, SessionDecision, SessionEngine, SessionRequest, SessionRule, SessionSnapshot } from './types.js';

interface SessionRecord {
  id: string;
  createdAt: number;
  /** Index keys pointing at this session, newest last; bounded so memory per session stays flat. */
  keys: string[];
}

interface Pending {
  partition: string;
  /** Running hash after the whole request history, ready to absorb the reply. */
  hash: Hash | null;
}

/** How many reply keys a session keeps in the index (older turns stay linked through newer replies). */
const KEYS_PER_SESSION = 8;

/**
 * First engine: explicit names, `previous_response_id`, and continuation, which links a request to a session
 * when its history up to its last assistant message hashes to a reply the gateway returned. The system
 * prompt is left out of the hash because clients rewrite it every request. Every other request is `first`.
 */
export class ContinuationEngine implements SessionEngine {
  private readonly hasher: HistoryHasher;
  private readonly index = new Map<string, string>();
  private readonly sessions: LRUCache<string, SessionRecord>;
  private created = 0;
  private considered = 0;
  private continued = 0;

  private readonly sweeper: NodeJS.Timeout;

  constructor(config: Pick<SessionConfig, 'max_sessions' | 'session_ttl_seconds' | 'hash_key'>) {
    this.hasher = new HistoryHasher(config.hash_key);
    this.sessions = new LRUCache<string, SessionRecord>({
      max: config.max_sessions,
      ttl: config.session_ttl_seconds * 1000,
      updateAgeOnGet: true,
      // Expired sessions are swept by a timer below: lru-cache's ttlAutopurge would arm one timer per
      // session, which costs a microsecond per request and memory per session.
      // An evicted or expired session takes every index entry that points at it.
      dispose: (record, _id, reason) => {
        if (reason === 'set') return;
        for (const key of record.keys) if (this.index.get(key) === record.id) this.index.delete(key);
      },
    });
    const sweepEveryMs = Math.min(60_000, Math.max(1_000, (config.session_ttl_seconds * 1000) / 4));
    this.sweeper = setInterval(() => this.sessions.purgeStale(), sweepEveryMs).unref();
  }

  decide(request: SessionRequest): SessionDecision {
    this.considered++;
    if (request.explicitId) return this.settle(request, request.explicitId, 'explicit', null);

    if (request.previousResponseId) {
      const id = this.lookup(this.hasher.digest(request.partition, `resp:${request.previousResponseId}`));
      if (id) return this.settle(request, id, 'previous_response', null);
    }

    const messages = request.history.messages;
    let lastAssistant = messages.length - 1;
    while (lastAssistant >= 0 && messages[lastAssistant].role !== 'assistant') lastAssistant--;
    const hash = this.hasher.start(request.partition);
    let lastAssistantKey: string | undefined;
    for (let i = 0; i < messages.length; i++) {
      HistoryHasher.add(hash, messages[i]);
      if (i === lastAssistant) lastAssistantKey = HistoryHasher.peek(hash);
    }
    const id = lastAssistantKey ? this.lookup(lastAssistantKey) : undefined;
    return id ? this.settle(request, id, 'continued', hash) : this.settle(request, undefined, 'first', hash);
  }

  recordReply(decision: SessionDecision, reply: RecordedReply): void {
    const pending = decision.pending as Pending;
    const record = this.sessions.get(decision.sessionId);
    if (!record) return;
    if (reply.responseId) this.link(record, this.hasher.digest(pending.partition, `resp:${reply.responseId}`));
    if (!pending.hash) return;
    for (const message of reply.replies) {
      const hash = pending.hash.copy();
      HistoryHasher.add(hash, message);
      this.link(record, hash.digest('base64url').slice(0, 22));
    }
  }

  snapshot(): SessionSnapshot {
    return { active_count: this.sessions.size, total_created: this.created, considered: this.considered, continued: this.continued };
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sessions.clear();
    this.index.clear();
  }

  private lookup(key: string): string | undefined {
    const id = this.index.get(key);
    return id !== undefined && this.sessions.has(id) ? id : undefined;
  }

  private link(record: SessionRecord, key: string): void {
    this.index.set(key, record.id);
    record.keys.push(key);
    if (record.keys.length > KEYS_PER_SESSION) {
      const old = record.keys.shift()!;
      if (this.index.get(old) === record.id) this.index.delete(old);
    }
  }

  private settle(request: SessionRequest, id: string | undefined, rule: SessionRule, hash: Hash | null): SessionDecision {
    const existing = id ? this.sessions.get(id) : undefined;
    const isNew = !existing;
    if (existing) {
      if (rule !== 'explicit') this.continued++;
    } else {
      id ??= newSessionId();
      this.sessions.set(id, { id, createdAt: Date.now(), keys: [] });
      this.created++;
    }
    const pending: Pending = { partition: request.partition, hash };
    return { sessionId: id!, isNew, rule, pending };
  }
}
