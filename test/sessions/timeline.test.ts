import { describe, expect, it } from 'vitest';
import type { ExchangeRecord } from '../../src/capture/record.js';
import { SessionTimelines } from '../../src/sessions/timeline.js';
import { exchange } from '../metrics/fixtures.js';

/** A finished exchange of `sessionId` (the metrics tests' fixture, filed under its own id). */
const record = (sessionId: string): ExchangeRecord => exchange({ sessionId, sessionKey: sessionId });

const ids = (rows: { request_id: string }[]) => rows.map((row) => row.request_id);

describe('SessionTimelines', () => {
  it('keeps at most max_requests rows across all sessions, the oldest going first, and counts what it drops', () => {
    const timelines = new SessionTimelines({ maxRequests: 100, perSession: 50 });
    // 1,000 one-request sessions: only the last 100 stay, whatever the number of sessions.
    const added = Array.from({ length: 1000 }, (_, i) => {
      const r = record(`one-${i}`);
      timelines.add(r);
      return r;
    });
    const figures = timelines.figures();
    expect(figures).toMatchObject({ sessions: 100, requests: 100, max_requests: 100, requests_dropped: 900, session_requests_dropped: 0 });
    expect(timelines.get('one-899')).toEqual([]);
    expect(ids(timelines.get('one-900'))).toEqual([added[900].requestId]);
  });

  it('a long session loses its oldest requests first, to the global ring and to the per-session cap', () => {
    const timelines = new SessionTimelines({ maxRequests: 10, perSession: 4 });
    const long = Array.from({ length: 6 }, () => record('long'));
    for (const r of long) timelines.add(r);
    expect(ids(timelines.get('long'))).toEqual(ids(long.slice(-4).map((r) => ({ request_id: r.requestId }))));
    expect(timelines.figures()).toMatchObject({ requests: 4, session_requests_dropped: 2, requests_dropped: 0 });
    // Eight more in other sessions push the ring round: the long session's remaining rows go oldest first.
    for (let i = 0; i < 8; i++) timelines.add(record(`other-${i}`));
    expect(ids(timelines.get('long'))).toEqual(ids(long.slice(-2).map((r) => ({ request_id: r.requestId }))));
    const figures = timelines.figures();
    expect(figures.requests).toBe(10);
    expect(figures.requests_dropped).toBe(2);
  });

  it('a forgotten session is gone, and its old ring slots never touch a new session of the same name', () => {
    const timelines = new SessionTimelines({ maxRequests: 3, perSession: 10 });
    timelines.add(record('s'));
    timelines.add(record('s'));
    timelines.forget('s');
    expect(timelines.get('s')).toEqual([]);
    expect(timelines.figures()).toMatchObject({ sessions: 0, requests: 0 });
    const fresh = record('s');
    timelines.add(fresh);
    // The two forgotten rows' slots come round now: they must not evict the new row.
    timelines.add(record('t'));
    timelines.add(record('t'));
    expect(ids(timelines.get('s'))).toEqual([fresh.requestId]);
    timelines.add(record('t')); // now the ring's oldest is the new row of s
    expect(timelines.get('s')).toEqual([]);
    expect(timelines.figures()).toMatchObject({ sessions: 1, requests: 3, requests_dropped: 1 });
  });

  it('records without a session are not kept', () => {
    const timelines = new SessionTimelines({ maxRequests: 3, perSession: 3 });
    timelines.add({ ...record('x'), sessionId: null, sessionKey: null });
    expect(timelines.figures().requests).toBe(0);
  });
});
