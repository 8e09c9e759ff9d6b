import { LRUCache } from 'lru-cache';
import { evaluate, keepMs, settle, stored, verdict, type Check, type Verdict } from './checks.js';

/** Where limit counters live: this process, or Redis for a fleet. */
export interface CounterStore {
  /** Evaluates every check at once and charges them all when each admits the request. */
  admit(checks: Check[], now: number): Verdict | Promise<Verdict>;
  /** Charges (or refunds) the difference once a request's true cost is known. */
  adjust(adjustments: { check: Check; delta: number }[], now: number): void | Promise<void>;
  close(): Promise<void>;
}

/**
 * Counters in this process. JavaScript runs one request's admit() to the end before the next one starts,
 * so check-and-charge is atomic without locks: 50 concurrent requests against a limit of 10 admit exactly 10.
 * Bounded: beyond `maxKeys` the least recently used counters go (counted), and each expires once its bucket
 * is full again or its budget's period is over.
 */
export class MemoryCounters implements CounterStore {
  private readonly counters: LRUCache<string, number>;
  evicted = 0;

  /** `now`: the same milliseconds clock the callers pass in (injectable for tests). */
  constructor(maxKeys: number, now: () => number) {
    this.counters = new LRUCache<string, number>({
      max: maxKeys,
      perf: { now },
      ttlResolution: 0,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evicted++;
      },
    });
  }

  admit(checks: Check[], now: number): Verdict {
    const outcomes = checks.map((check) => {
      const life = this.lifeOf(check.key);
      return evaluate(check, life === undefined ? undefined : this.counters.get(check.key), now, life);
    });
    const result = verdict(checks, outcomes);
    if (result.allowed) checks.forEach((check, i) => this.write(check, outcomes[i].next, now));
    return result;
  }

  adjust(adjustments: { check: Check; delta: number }[], now: number): void {
    for (const { check, delta } of adjustments) {
      const state = settle(check, this.lifeOf(check.key) === undefined ? undefined : this.counters.get(check.key), delta, now);
      if (state !== undefined) this.write(check, state, now);
    }
  }

  async close(): Promise<void> {
    this.counters.clear();
  }

  get size(): number {
    return this.counters.size;
  }

  /** Milliseconds the counter still lives; undefined when there is none (or it is at its very end, as Redis's PTTL 0). */
  private lifeOf(key: string): number | undefined {
    const ttl = this.counters.getRemainingTTL(key);
    return ttl > 0 && Number.isFinite(ttl) ? ttl : undefined;
  }

  private write(check: Check, value: number, now: number): void {
    const state = stored(value);
    this.counters.set(check.key, state, { ttl: keepMs(check, state, now, this.lifeOf(check.key)) });
  }
}
