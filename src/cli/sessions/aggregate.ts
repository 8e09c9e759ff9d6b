// Per-session figures from trace summaries, in bounded memory: counts and sums are exact; response times are
// kept for the p95 up to a cap per session, beyond which a uniform reservoir sample of that size stands in
// for them (the row then says its p95 is estimated). Memory is therefore at most DURATION_CAP numbers per
// session whatever the number of files.

import type { TraceSummary } from './trace-summary.js';

/** Response times kept per session for the exact p95; more are sampled (reservoir of this size). */
export const DURATION_CAP = 10_000;
/** Distinct model names kept per session; a session that used more is rare and the row says `+N`. */
const MODEL_CAP = 8;

export interface SessionRow {
  /** null: the exchanges that had no session (sessions off, or paths sessions do not apply to). */
  session_id: string | null;
  /** The session this one is a sub-agent of, as its traces name it; null for a root. */
  parent_session_id: string | null;
  requests: number;
  /** ISO times of the first and last request (arrival). */
  first: string;
  last: string;
  /** last − first, in milliseconds: the span of the session's requests, as the guide's recipe computes it. */
  duration_ms: number;
  /** Mean and p95 (nearest rank) of the response times, ms; null when no trace had a duration. */
  mean_ms: number | null;
  p95_ms: number | null;
  /** False when the session had more than DURATION_CAP timed requests and the p95 comes from a sample. */
  p95_exact: boolean;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** USD of the session's priced requests; null when none was priced (unknown models, traces before pricing). */
  cost_usd: number | null;
  /** Exchanges that failed (`failure` set) or answered with a status of 400 or more. */
  errors: number;
  models: string[];
}

/** Deterministic pseudo-random numbers for the reservoir, so the same directory gives the same output. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nearest-rank percentile of unsorted values (sorts them in place); null for none. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * values.length));
  return values[rank - 1];
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export class SessionStats {
  requests = 0;
  first = Infinity;
  last = -Infinity;
  /** Response times seen (all of them up to the cap), for the p95. */
  readonly durations: number[] = [];
  timed = 0;
  /** Sum of response times in whole microseconds: integer sums do not depend on the order of the files. */
  durationMicros = 0;
  inputTokens = 0;
  outputTokens = 0;
  /** Sum of costs in whole nano-dollars: integer sums do not depend on the order of the files. */
  costNanos = 0;
  priced = 0;
  errors = 0;
  readonly models = new Set<string>();
  extraModels = 0;
  /** The parent the latest trace that names one gives (ties: the larger id), so file order never matters. */
  parent: string | null = null;
  parentAt = -Infinity;

  constructor(
    readonly id: string | null,
    private readonly random: () => number,
  ) {}

  add(summary: TraceSummary): void {
    this.requests++;
    if (summary.timestamp < this.first) this.first = summary.timestamp;
    if (summary.timestamp > this.last) this.last = summary.timestamp;
    if (summary.parentSessionId !== null) {
      const later = summary.timestamp > this.parentAt || (summary.timestamp === this.parentAt && summary.parentSessionId > (this.parent ?? ''));
      if (later) [this.parent, this.parentAt] = [summary.parentSessionId, summary.timestamp];
    }
    if (summary.durationMs !== null) {
      this.timed++;
      this.durationMicros += Math.round(summary.durationMs * 1000);
      if (this.durations.length < DURATION_CAP) this.durations.push(summary.durationMs);
      else {
        // Algorithm R: the n-th value replaces a kept one with probability cap/n, a uniform sample.
        const slot = Math.floor(this.random() * this.timed);
        if (slot < DURATION_CAP) this.durations[slot] = summary.durationMs;
      }
    }
    this.inputTokens += summary.inputTokens;
    this.outputTokens += summary.outputTokens;
    if (summary.costUsd !== null) {
      this.priced++;
      this.costNanos += Math.round(summary.costUsd * 1e9);
    }
    if (summary.failure !== null || (summary.status !== null && summary.status >= 400)) this.errors++;
    if (summary.model !== null && !this.models.has(summary.model)) {
      if (this.models.size < MODEL_CAP) this.models.add(summary.model);
      else this.extraModels++;
    }
  }

  row(): SessionRow {
    const models = [...this.models].sort();
    if (this.extraModels > 0) models.push(`+${this.extraModels}`);
    return {
      session_id: this.id,
      parent_session_id: this.parent,
      requests: this.requests,
      first: new Date(this.first).toISOString(),
      last: new Date(this.last).toISOString(),
      duration_ms: this.last - this.first,
      mean_ms: this.timed > 0 ? round2(this.durationMicros / this.timed / 1000) : null,
      p95_ms: percentile(this.durations, 95),
      p95_exact: this.timed <= DURATION_CAP,
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      total_tokens: this.inputTokens + this.outputTokens,
      cost_usd: this.priced > 0 ? this.costNanos / 1e9 : null,
      errors: this.errors,
      models,
    };
  }
}

/** Every session seen so far, keyed by id; exchanges without a session share one entry. */
export class SessionAggregator {
  private readonly sessions = new Map<string | null, SessionStats>();
  private readonly random = mulberry32(0x5e55);
  requests = 0;

  add(summary: TraceSummary): void {
    let stats = this.sessions.get(summary.sessionId);
    if (!stats) {
      stats = new SessionStats(summary.sessionId, this.random);
      this.sessions.set(summary.sessionId, stats);
    }
    stats.add(summary);
    this.requests++;
  }

  get size(): number {
    return this.sessions.size;
  }

  rows(): SessionRow[] {
    return [...this.sessions.values()].map((stats) => stats.row());
  }
}

export const SORT_KEYS = ['requests', 'duration', 'mean', 'p95', 'tokens', 'cost', 'errors', 'last', 'first'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const sortValue: Record<SortKey, (row: SessionRow) => number | null> = {
  requests: (row) => row.requests,
  duration: (row) => row.duration_ms,
  mean: (row) => row.mean_ms,
  p95: (row) => row.p95_ms,
  tokens: (row) => row.total_tokens,
  cost: (row) => row.cost_usd,
  errors: (row) => row.errors,
  last: (row) => Date.parse(row.last),
  first: (row) => Date.parse(row.first),
};

/**
 * Rows sorted by `key`, largest first (`reverse`: smallest first); rows without a value (no timed request)
 * always go last. Ties: more requests first, then the most recent, then by id, so the order is stable.
 */
export function sortRows(rows: SessionRow[], key: SortKey, reverse = false): SessionRow[] {
  const value = sortValue[key];
  const sign = reverse ? -1 : 1;
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else if (va !== vb) return sign * (vb - va);
    if (a.requests !== b.requests) return b.requests - a.requests;
    if (a.last !== b.last) return a.last < b.last ? 1 : -1;
    return (a.session_id ?? '').localeCompare(b.session_id ?? '');
  });
}
