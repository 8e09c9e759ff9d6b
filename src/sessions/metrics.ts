import type { SessionMetrics, SessionRule, TimingSummary } from './types.js';

/** Durations of the last `size` requests, for a mean and p99 over a recent window (not since start). */
export class TimingWindow {
  private readonly samples: Float64Array;
  private count = 0;

  constructor(size = 1024) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.count % this.samples.length] = ms;
    this.count++;
  }

  summary(): TimingSummary {
    const n = Math.min(this.count, this.samples.length);
    if (n === 0) return { mean: 0, p99: 0 };
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const mean = sorted.reduce((sum, value) => sum + value, 0) / n;
    const p99 = sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)];
    return { mean: round(mean), p99: round(p99) };
  }
}

const round = (ms: number) => Math.round(ms * 10_000) / 10_000;

/** Every session counter `/metrics` reports (decisions by rule, resets, evictions, hit rate, timings), in one place. */
export class SessionCounters {
  totalCreated = 0;
  considered = 0;
  /** Requests that joined a session that already existed (the numerator of cache_hit_rate). */
  hits = 0;
  fuzzyMatches = 0;
  evicted = 0;
  expired = 0;
  ended = 0;
  longest = 0;
  readonly decisions: Record<SessionRule, number> = {
    explicit: 0,
    continued: 0,
    retry: 0,
    fuzzy: 0,
    reset_phrase: 0,
    count_drop: 0,
    context_break: 0,
    compaction: 0,
    first: 0,
  };
  readonly lookup = new TimingWindow();
  readonly hashing = new TimingWindow();
}

/** The `sessions` section of `/metrics`, from the counters and the live sessions. */
export function sessionMetrics(c: SessionCounters, live: { size: number; values(): Iterable<{ messageCount: number }> }): SessionMetrics {
  let messages = 0;
  for (const session of live.values()) messages += session.messageCount;
  const active = live.size;
  const lookup = c.lookup.summary();
  const hashing = c.hashing.summary();
  return {
    active_count: active,
    total_created: c.totalCreated,
    cache_hit_rate: c.considered ? Math.round((c.hits / c.considered) * 1000) / 1000 : 0,
    fuzzy_matches: c.fuzzyMatches,
    average_session_length: active ? Math.round((messages / active) * 10) / 10 : 0,
    longest_session: c.longest,
    evicted: c.evicted,
    expired: c.expired,
    ended: c.ended,
    resets: { reset_phrase: c.decisions.reset_phrase, count_drop: c.decisions.count_drop, context_break: c.decisions.context_break },
    explicit: c.decisions.explicit,
    decisions: { ...c.decisions },
    requests_considered: c.considered,
    performance: {
      session_lookup_ms: lookup.mean,
      session_lookup_p99_ms: lookup.p99,
      hash_computation_ms: hashing.mean,
      hash_computation_p99_ms: hashing.p99,
    },
  };
}
