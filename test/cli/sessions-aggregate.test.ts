// Per-session figures: exact counts, sums, mean and nearest-rank p95; bounded memory past the cap (a
// reservoir, flagged as estimated); sorting with stable ties; the output formats and the progress lines.

import { describe, expect, it } from 'vitest';
import { DURATION_CAP, percentile, SessionAggregator, sortRows, type SessionRow } from '../../src/cli/sessions/aggregate.js';
import { clip, formatDuration, formatTime } from '../../src/cli/sessions/format.js';
import { renderLineage, SessionForest, tallySummary, type SessionTally } from '../../src/cli/sessions/lineage.js';
import { Progress } from '../../src/cli/sessions/progress.js';
import { renderCsv, renderJson, renderTable, type Column } from '../../src/cli/sessions/render.js';
import type { TraceSummary } from '../../src/cli/sessions/trace-summary.js';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

function summary(overrides: Partial<TraceSummary>): TraceSummary {
  return {
    file: 'f.json',
    sessionId: 'sess_a',
    parentSessionId: null,
    timestamp: T0,
    model: 'gpt-4o',
    provider: 'openai',
    status: 200,
    failure: null,
    durationMs: 100,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: null,
    ...overrides,
  };
}

describe('SessionAggregator', () => {
  it('computes exact figures per session, in any order of files', () => {
    const summaries: TraceSummary[] = [];
    for (let i = 1; i <= 20; i++) {
      summaries.push(
        summary({
          timestamp: T0 + (i - 1) * 30_000,
          durationMs: i * 10,
          inputTokens: 100,
          outputTokens: 10,
          status: i === 5 ? 500 : 200,
          failure: i === 9 ? 'timeout' : null,
          model: i === 20 ? 'gpt-4o-mini' : 'gpt-4o',
        }),
      );
    }
    summaries.push(summary({ sessionId: null, timestamp: T0 + 5, durationMs: null }));
    for (const order of [summaries, [...summaries].reverse()]) {
      const aggregator = new SessionAggregator();
      for (const s of order) aggregator.add(s);
      const rows = sortRows(aggregator.rows(), 'requests');
      expect(rows[0]).toEqual({
        session_id: 'sess_a',
        parent_session_id: null,
        requests: 20,
        first: '2025-01-01T00:00:00.000Z',
        last: '2025-01-01T00:09:30.000Z',
        duration_ms: 570_000,
        mean_ms: 105,
        p95_ms: 190, // nearest rank: the 19th of 20
        p95_exact: true,
        input_tokens: 2000,
        output_tokens: 200,
        total_tokens: 2200,
        cost_usd: null,
        errors: 2,
        models: ['gpt-4o', 'gpt-4o-mini'],
      });
      expect(rows[1]).toMatchObject({ session_id: null, requests: 1, mean_ms: null, p95_ms: null, duration_ms: 0 });
      expect(aggregator.requests).toBe(21);
    }
  });

  it('keeps memory bounded past the cap and estimates the p95 from a uniform sample', () => {
    const aggregator = new SessionAggregator();
    const n = DURATION_CAP * 3;
    for (let i = 1; i <= n; i++) aggregator.add(summary({ durationMs: i }));
    const [row] = aggregator.rows();
    expect(row.requests).toBe(n);
    expect(row.mean_ms).toBe((n + 1) / 2); // the mean stays exact
    expect(row.p95_exact).toBe(false);
    // The exact p95 is 0.95 n; a 10,000-value uniform sample lands within a fraction of a percent.
    expect(Math.abs(row.p95_ms! - 0.95 * n) / n).toBeLessThan(0.01);
  });

  it('gives the same output for the same input (the sample is seeded)', () => {
    const run = () => {
      const aggregator = new SessionAggregator();
      for (let i = 1; i <= DURATION_CAP + 5000; i++) aggregator.add(summary({ durationMs: (i * 7919) % 10007 }));
      return aggregator.rows();
    };
    expect(run()).toEqual(run());
  });

  it("keeps a session's parent as its latest trace names it, in any order of files", () => {
    const summaries = [
      summary({ sessionId: 'run:agent-1', parentSessionId: null, timestamp: T0 }),
      summary({ sessionId: 'run:agent-1', parentSessionId: 'run', timestamp: T0 + 1 }),
      summary({ sessionId: 'run:agent-1', parentSessionId: 'run-b', timestamp: T0 + 2 }),
      summary({ sessionId: 'run:agent-1', parentSessionId: 'run-a', timestamp: T0 + 2 }),
      summary({ sessionId: 'run', timestamp: T0 }),
    ];
    for (const order of [summaries, [...summaries].reverse()]) {
      const aggregator = new SessionAggregator();
      for (const s of order) aggregator.add(s);
      const parents = Object.fromEntries(aggregator.rows().map((row) => [row.session_id, row.parent_session_id]));
      expect(parents).toEqual({ run: null, 'run:agent-1': 'run-b' });
    }
  });

  it('caps the models kept per session and says how many more there were', () => {
    const aggregator = new SessionAggregator();
    for (let i = 0; i < 11; i++) aggregator.add(summary({ model: `m${String(i).padStart(2, '0')}` }));
    expect(aggregator.rows()[0].models).toEqual(['m00', 'm01', 'm02', 'm03', 'm04', 'm05', 'm06', 'm07', '+3']);
  });
});

describe('session trees from tallies', () => {
  const forestOf = (summaries: TraceSummary[], batches = 1) => {
    const forest = new SessionForest();
    // Tallied per batch, as the workers do, then merged.
    for (let b = 0; b < batches; b++) {
      const tallies = new Map<string, SessionTally>();
      for (const s of summaries.filter((_, i) => i % batches === b)) tallySummary(tallies, s);
      for (const tally of tallies.values()) forest.add(tally);
    }
    return forest;
  };

  it('merges batches into the same figures, and ends on a cycle links should never make', () => {
    const summaries = [
      summary({ sessionId: 'a', parentSessionId: 'b', inputTokens: 1, costUsd: 0.25 }),
      summary({ sessionId: 'b', parentSessionId: 'a', inputTokens: 2 }),
      summary({ sessionId: 'a', parentSessionId: 'b', inputTokens: 4, timestamp: T0 + 1 }),
    ];
    const lines = renderLineage(forestOf(summaries), 'a');
    expect(renderLineage(forestOf(summaries, 3), 'a')).toEqual(lines);
    expect(lines).toEqual([
      'parent: b (1 request, tokens 2 in / 0 out, cost -)',
      'tree: 2 sessions, 3 requests, tokens 7 in / 0 out, cost $0.2500',
      '  a  2 requests, tokens 5 in / 0 out, cost $0.2500',
      '  └─ b  1 request, tokens 2 in / 0 out, cost -',
    ]);
    expect(renderLineage(forestOf(summaries), 'nope')).toEqual([]);
    expect(renderLineage(forestOf([summary({ sessionId: 'solo' })]), 'solo')).toEqual([]);
  });

  it('stops a deep chain at the walk bound and says so', () => {
    const chain = Array.from({ length: 40 }, (_, i) => summary({ sessionId: `n${i}`, parentSessionId: i === 0 ? null : `n${i - 1}` }));
    const lines = renderLineage(forestOf(chain), 'n0');
    expect(lines[0]).toBe('tree: 33 sessions, 33 requests, tokens 0 in / 0 out, cost - (cut at 32 levels or 1000 sessions: the rest is left out)');
    expect(lines).toHaveLength(34);
    expect(lines.at(-1)).toMatch(/^ {2}( {3}){31}└─ n32 {2}1 request/);
  });
});

describe('percentile and sorting', () => {
  it('uses the nearest rank', () => {
    expect(percentile([], 95)).toBeNull();
    expect(percentile([7], 95)).toBe(7);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => 100 - i),
        95,
      ),
    ).toBe(95);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
  });

  const row = (id: string, requests: number, mean: number | null, last: string): SessionRow => ({
    session_id: id,
    parent_session_id: null,
    requests,
    first: last,
    last,
    duration_ms: 0,
    mean_ms: mean,
    p95_ms: mean,
    p95_exact: true,
    input_tokens: 0,
    output_tokens: 0,
    total_tokens: 0,
    cost_usd: null,
    errors: 0,
    models: [],
  });

  it('sorts largest first, rows without a value last, ties by requests, recency, then id', () => {
    const rows = [
      row('c', 1, 50, '2025-01-01T00:00:00Z'),
      row('a', 3, null, '2025-01-01T00:00:00Z'),
      row('b', 2, 50, '2025-01-02T00:00:00Z'),
      row('d', 2, 50, '2025-01-02T00:00:00Z'),
      row('e', 1, 80, '2025-01-01T00:00:00Z'),
    ];
    expect(sortRows(rows, 'mean').map((r) => r.session_id)).toEqual(['e', 'b', 'd', 'c', 'a']);
    expect(sortRows(rows, 'mean', true).map((r) => r.session_id)).toEqual(['b', 'd', 'c', 'e', 'a']);
    expect(sortRows(rows, 'requests').map((r) => r.session_id)).toEqual(['a', 'b', 'd', 'c', 'e']);
    expect(sortRows(rows, 'last').map((r) => r.session_id)).toEqual(['b', 'd', 'a', 'c', 'e']);
  });
});

describe('formats', () => {
  it('formats durations and times', () => {
    expect([null, 0, 36.46, 999.4, 1234, 42_500, 725_000, 11_220_000].map(formatDuration)).toEqual([
      '-',
      '0 ms',
      '36 ms',
      '999 ms',
      '1.23 s',
      '42.5 s',
      '12m 05s',
      '3h 07m',
    ]);
    expect(formatTime('2025-06-01T08:00:43.869Z')).toBe('2025-06-01T08:00:43Z');
    expect(formatTime('2025-06-01T08:00:43.869Z', true)).toBe('2025-06-01T08:00:43.869Z');
  });

  it('clips texts to one line and a width, never splitting a character', () => {
    expect(clip('a\n  b\tc', 10)).toBe('a b c');
    expect(clip('abcdefghij', 5)).toBe('abcd…');
    expect(clip('😀😀😀😀😀😀', 3)).toBe('😀😀…');
    expect(clip('abc', 3)).toBe('abc');
  });

  type R = { name: string; n: number; tags: string[] };
  const columns: Column<R>[] = [
    { header: 'name', key: 'name', text: (r) => r.name, value: (r) => r.name },
    { header: 'n', key: 'n', align: 'right', text: (r) => String(r.n), value: (r) => r.n },
    { header: 'tags', key: 'tags', text: (r) => r.tags.join(','), value: (r) => r.tags },
  ];
  const rows: R[] = [
    { name: 'plain', n: 5, tags: ['x', 'y'] },
    { name: 'has "quote", comma', n: 123, tags: [] },
  ];

  it('renders aligned tables, quoted CSV and JSON', () => {
    expect(renderTable(columns, rows)).toBe('name                  n  tags\nplain                 5  x,y\nhas "quote", comma  123\n');
    expect(renderCsv(columns, rows)).toBe('name,n,tags\nplain,5,x;y\n"has ""quote"", comma",123,\n');
    expect(JSON.parse(renderJson(columns, rows))).toEqual(rows);
  });
});

describe('Progress', () => {
  function stream(isTTY: boolean) {
    const out: string[] = [];
    return { out, stream: { isTTY, write: (text: string) => out.push(text) } };
  }

  it('prints one line per crossed mark off a terminal, and a closing line', () => {
    let now = 0;
    const { out, stream: s } = stream(false);
    const progress = new Progress(s, { every: 1000, enabled: true, now: () => now });
    for (const files of [256, 768, 1024, 2560, 2816]) {
      now += 100;
      progress.update(files);
    }
    progress.done(2900);
    expect(out).toEqual(['reading traces: 1024 files (3413 files/s)\n', 'reading traces: 2560 files (6400 files/s)\n', 'read 2900 files in 0.5 s\n']);
  });

  it('prints nothing for short scans or when disabled', () => {
    const quiet = stream(false);
    const progress = new Progress(quiet.stream, { every: 1000, enabled: true });
    progress.update(999);
    progress.done(999);
    const disabled = stream(false);
    const off = new Progress(disabled.stream, { every: 10, enabled: false });
    off.update(5000);
    off.done(5000);
    expect([...quiet.out, ...disabled.out]).toEqual([]);
  });

  it('rewrites one line on a terminal, after a delay, throttled, and clears it', () => {
    let now = 0;
    const { out, stream: s } = stream(true);
    const progress = new Progress(s, { every: 1, enabled: true, now: () => now });
    for (let i = 1; i <= 10; i++) {
      now = i * 50;
      progress.update(i * 100);
    }
    progress.done(1000);
    expect(out.every((text) => !text.includes('\n'))).toBe(true);
    expect(out.filter((text) => text.includes('reading traces'))).toEqual([
      '\r\x1b[Kreading traces: 600 files (2000 files/s)',
      '\r\x1b[Kreading traces: 800 files (2000 files/s)',
      '\r\x1b[Kreading traces: 1000 files (2000 files/s)',
    ]);
    expect(out.at(-1)).toBe('\r\x1b[K');
  });
});
