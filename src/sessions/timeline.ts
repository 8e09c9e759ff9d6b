import type { ExchangeRecord } from '../capture/record.js';
import type { RequestRow } from './store/postgres-records.js';
import { requestRow } from './store/request-row.js';

export interface TimelineLimits {
  /** Requests kept across all sessions: the memory bound, whatever the number of sessions. */
  maxRequests: number;
  /** Requests kept per session (its latest). */
  perSession: number;
}

/** What the bounds cut, for `/metrics`. */
export interface TimelineFigures {
  sessions: number;
  requests: number;
  max_requests: number;
  /** Requests forgotten because the global bound was reached (oldest first, any session). */
  requests_dropped: number;
  /** Requests forgotten because their session kept more than `perSession`. */
  session_requests_dropped: number;
}

/**
 * The recent requests of recent sessions, kept in memory for `GET /sessions/:id` when no Postgres record is
 * configured, in the record's own row shape, by the session's admin identity (never by the name a client
 * gave, which another credential may give too).
 *
 * Bounded by rows, not sessions: one global ring of the latest `maxRequests` rows in arrival order, and each
 * session's list capped at `perSession`. A bound per session count alone would let a few long sessions (or
 * many one-request sessions) hold an unbounded share of memory; a ring holds a fixed number of rows whatever
 * the traffic. The row leaving the ring is the oldest of all, so it is also the oldest of its session: the
 * session's list loses its head in O(1) amortised, and the session goes when its list empties.
 */
export class SessionTimelines {
  private readonly ring: (RequestRow | undefined)[];
  /** Next slot of the ring to fill (the oldest row once the ring is full). */
  private next = 0;
  /** Rows listed by sessions (the ring may still hold slots of rows cut or forgotten since). */
  private live = 0;
  private readonly bySession = new Map<string, SessionRows>();
  private requestsDropped = 0;
  private sessionRequestsDropped = 0;

  constructor(private readonly limits: TimelineLimits) {
    this.ring = new Array(limits.maxRequests);
  }

  add(record: ExchangeRecord, traceFile: string | null = null): void {
    const row = requestRow(record, traceFile);
    if (!row) return;
    const oldest = this.ring[this.next];
    if (oldest) this.evict(oldest);
    this.ring[this.next] = row;
    this.next = (this.next + 1) % this.ring.length;
    let rows = this.bySession.get(row.session_id);
    if (!rows) this.bySession.set(row.session_id, (rows = new SessionRows()));
    rows.push(row);
    this.live++;
    if (rows.size > this.limits.perSession) {
      rows.shift();
      this.live--;
      this.sessionRequestsDropped++;
    }
  }

  /** A session's requests by its admin identity, oldest first ([] when none are kept). */
  get(sessionKey: string): RequestRow[] {
    return this.bySession.get(sessionKey)?.toArray() ?? [];
  }

  /** Forgets a session's requests (it was ended); their ring slots are skipped when they come round. */
  forget(sessionKey: string): void {
    const rows = this.bySession.get(sessionKey);
    if (!rows) return;
    this.live -= rows.size;
    this.bySession.delete(sessionKey);
  }

  figures(): TimelineFigures {
    return {
      sessions: this.bySession.size,
      requests: this.live,
      max_requests: this.limits.maxRequests,
      requests_dropped: this.requestsDropped,
      session_requests_dropped: this.sessionRequestsDropped,
    };
  }

  /** The ring's oldest row leaves: if its session still lists it (not cut by the per-session cap, not forgotten), it is that list's head. */
  private evict(row: RequestRow): void {
    const rows = this.bySession.get(row.session_id);
    if (!rows || rows.first() !== row) return;
    rows.shift();
    this.live--;
    this.requestsDropped++;
    if (rows.size === 0) this.bySession.delete(row.session_id);
  }
}

/** A session's rows, oldest first: an array with a moving head, so dropping the oldest never copies the rest each time. */
class SessionRows {
  private rows: RequestRow[] = [];
  private head = 0;

  get size(): number {
    return this.rows.length - this.head;
  }

  first(): RequestRow | undefined {
    return this.rows[this.head];
  }

  push(row: RequestRow): void {
    this.rows.push(row);
  }

  shift(): void {
    this.rows[this.head++] = undefined as unknown as RequestRow;
    // Compact once the dead head is half the array: amortised O(1), at most twice the live rows held.
    if (this.head * 2 >= this.rows.length) {
      this.rows = this.rows.slice(this.head);
      this.head = 0;
    }
  }

  toArray(): RequestRow[] {
    return this.rows.slice(this.head);
  }
}
