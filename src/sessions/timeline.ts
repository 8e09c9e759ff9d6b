import { LRUCache } from 'lru-cache';
import type { ExchangeRecord } from '../capture/record.js';
import type { RequestRow } from './store/postgres-records.js';
import { requestRow } from './store/request-row.js';

/**
 * The recent requests of recent sessions, kept in memory for `GET /sessions/:id` when no Postgres record is
 * configured, in the record's own row shape, by the session's admin identity (never by the name a client
 * gave, which another credential may give too). Bounded twice: sessions beyond `maxSessions` go least recently
 * used first, and a session keeps its last `perSession` requests; both cuts are counted.
 */
export class SessionTimelines {
  private readonly timelines: LRUCache<string, RequestRow[]>;
  sessionsDropped = 0;
  requestsDropped = 0;

  constructor(
    maxSessions: number,
    private readonly perSession: number,
  ) {
    this.timelines = new LRUCache<string, RequestRow[]>({
      max: maxSessions,
      dispose: (_entries, _id, reason) => {
        if (reason === 'evict') this.sessionsDropped++;
      },
    });
  }

  add(record: ExchangeRecord, traceFile: string | null = null): void {
    const row = requestRow(record, traceFile);
    if (!row) return;
    let entries = this.timelines.get(row.session_id);
    if (!entries) this.timelines.set(row.session_id, (entries = []));
    entries.push(row);
    if (entries.length > this.perSession) {
      entries.shift();
      this.requestsDropped++;
    }
  }

  /** A session's requests by its admin identity, oldest first ([] when none are kept). */
  get(sessionKey: string): RequestRow[] {
    return this.timelines.peek(sessionKey) ?? [];
  }

  /** Forgets a session's requests (it was ended). */
  forget(sessionKey: string): void {
    this.timelines.delete(sessionKey);
  }
}
