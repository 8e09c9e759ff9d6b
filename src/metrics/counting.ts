/**
 * Fixed-size counting structures for the per-request path: each update is a few array writes, with no
 * allocation and no work that grows with traffic, so `observe()` costs the same at any request rate.
 */

/**
 * Events in the last `seconds` seconds, as a ring of per-second counters. Each slot remembers which
 * second it counts; a slot left over from an older lap of the ring is treated as empty, so a quiet period
 * needs no sweeping. Resolution is one second: the window is the current second plus the previous
 * `seconds - 1` whole seconds.
 */
export class RateWindow {
  private readonly counts: Float64Array;
  /** The absolute second (ms clock / 1000, floored) each slot counts; -1 for never used. */
  private readonly stamps: Float64Array;

  constructor(private readonly seconds = 60) {
    this.counts = new Float64Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  add(nowMs: number, n = 1): void {
    const second = Math.floor(nowMs / 1000);
    const slot = second % this.seconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot] += n;
  }

  /** The events counted in the window ending at `nowMs`. O(window), called only when metrics are read. */
  total(nowMs: number): number {
    const oldest = Math.floor(nowMs / 1000) - this.seconds + 1;
    let sum = 0;
    for (let slot = 0; slot < this.seconds; slot++) {
      if (this.stamps[slot] >= oldest) sum += this.counts[slot];
    }
    return sum;
  }
}

/**
 * A latency histogram with fixed upper bounds. Counts are kept per bucket (not cumulative) so an update
 * touches one slot; `cumulative()` builds the exposition form when metrics are read. The last slot holds
 * observations above the highest bound (the `+Inf` bucket only).
 */
export class BucketHistogram {
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // Linear scan: with ~20 bounds and most LLM latencies in the lower half, it beats a binary search.
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** Cumulative counts per bound (`le` semantics: value <= bound), then the `+Inf` total last. */
  cumulative(): number[] {
    const out = new Array<number>(this.counts.length);
    let running = 0;
    for (let i = 0; i < this.counts.length; i++) {
      running += this.counts[i];
      out[i] = running;
    }
    return out;
  }
}

/** Keeps only finite, non-negative amounts: a bad figure from one exchange must not poison the totals. */
export function amount(value: number | null | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Rounds to a fixed number of decimals for JSON output (averages would otherwise print 15 digits). */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
