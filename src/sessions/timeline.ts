import { LRUCache } from 'lru-cache';
import type { ExchangeRecord } from '../capture/record.js';

/** One request of a session, as the sessions API's timeline shows it. */
export interface TimelineEntry {
  request_id: string;
  time: string;
  method: string;
  path: string;
  model: string | null;
  status: number;
  stream: boolean;
  duration_ms: number;
  ttfb_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  rule: string | null;
  is_new: boolean | null;
  failure: string | null;
  trace_file: string | null;
}

/**
 * The recent requests of recent sessions, kept in memory for `GET /sessions/:id` when no Postgres record is
 * configured. Bounded twice: sessions beyond `maxSessions` go least recently used first, and a session keeps
 * its last `perSession` requests; both cuts are counted.
 */
export class SessionTimelines {
  private readonly timelines: LRUCache<string, TimelineEntry[]>;
  sessionsDropped = 0;
  requestsDropped = 0;

  constructor(
    maxSessions: number,
    private readonly perSession: number,
  ) {
    this.timelines = new LRUCache<string, TimelineEntry[]>({
      max: maxSessions,
      dispose: (_entries, _id, reason) => {
        if (reason === 'evict') this.sessionsDropped++;
      },
    });
  }

  add(record: ExchangeRecord): void {
    if (!record.sessionId) return;
    let entries = this.timelines.get(record.sessionId);
    if (!entries) this.timelines.set(record.sessionId, (entries = []));
    entries.push({
      request_id: record.requestId,
      time: record.timestamp,
      method: record.method,
      path: record.path,
      model: record.model,
      status: record.status,
      stream: record.stream,
      duration_ms: record.durationMs,
      ttfb_ms: record.ttfbMs,
      input_tokens: record.usage?.input_tokens ?? null,
      output_tokens: record.usage?.output_tokens ?? null,
      rule: record.sessionRule,
      is_new: record.isNewSession,
      failure: record.failure,
      trace_file: record.traceFile,
    });
    if (entries.length > this.perSession) {
      entries.shift();
      this.requestsDropped++;
    }
  }

  /** A session's requests, oldest first ([] when none are kept). */
  get(sessionId: string): TimelineEntry[] {
    return this.timelines.peek(sessionId) ?? [];
  }

  /** Forgets a session's requests (it was ended). */
  forget(sessionId: string): void {
    this.timelines.delete(sessionId);
  }
}
