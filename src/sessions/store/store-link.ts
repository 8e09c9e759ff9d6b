import { TimingWindow } from '../metrics.js';
import type { SaveBatchStats } from './save-batch.js';
import type { SessionStore, SessionWrite, StoredSession } from './types.js';

export interface StoreLinkLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface StoreLinkOptions {
  /** A lookup slower than this is given up on: the request is decided locally. */
  timeoutMs: number;
  /** Writes in flight at most; beyond it a write is dropped and counted (a stalled store must not grow memory). */
  maxPendingWrites: number;
  /** How often idle and surplus sessions are swept from the store, in ms; 0 for never. */
  sweepEveryMs: number;
  now: () => number;
  log: StoreLinkLog;
}

/** The `persistence` part of `/metrics`. */
export interface StoreMetrics {
  backend: SessionStore['backend'];
  healthy: boolean;
  lookups: number;
  /** Lookups that found a session another gateway (or an earlier run) had recorded. */
  lookup_hits: number;
  saves: number;
  errors: number;
  /** Requests decided locally because the store failed or was too slow to answer. */
  fallbacks: number;
  saves_dropped: number;
  /** Sessions rebuilt locally from the store. */
  restored: number;
  latency_ms: number;
  latency_p99_ms: number;
  /** How saves were grouped into statements (Postgres: see save-batch.ts); null where each save is its own call. */
  save_batches: SaveBatchStats | null;
}

/** A store that groups saves (Postgres, or a Postgres record) says how; the others send each save as it comes. */
const batchesOf = (store: SessionStore): SaveBatchStats | null => {
  const stats = (store as SessionStore & { saveStats?: () => SaveBatchStats | undefined }).saveStats?.();
  return stats ? { batches: stats.batches, writes: stats.writes, merged: stats.merged } : null;
};

/**
 * The engine's side of a shared store, made safe for the request path: a lookup never rejects and never
 * waits past its timeout (the request is decided locally instead), a write never blocks the exchange, and
 * a failing store is logged once when it goes and once when it comes back, not per request. Backends
 * reconnect by themselves (ioredis, pg pools); this only stops asking while they are down.
 */
export class StoreLink {
  private readonly latency = new TimingWindow();
  private readonly pending = new Set<Promise<void>>();
  private readonly sweeper: NodeJS.Timeout | null;
  private healthy = true;
  private readonly counts = { lookups: 0, lookup_hits: 0, saves: 0, errors: 0, fallbacks: 0, saves_dropped: 0, restored: 0 };

  constructor(
    readonly store: SessionStore,
    private readonly options: StoreLinkOptions,
  ) {
    this.sweeper = options.sweepEveryMs > 0 ? setInterval(() => void this.run('sweep', () => store.sweep(options.now())), options.sweepEveryMs).unref() : null;
  }

  /** Sessions filed under any of the keys; [] when none, or when the store cannot answer in time. */
  async lookup(keys: string[]): Promise<StoredSession[]> {
    this.counts.lookups++;
    const found = await this.run('lookup', () => this.store.lookup(keys, this.options.now()), this.options.timeoutMs);
    if (found === undefined) {
      this.counts.fallbacks++;
      return [];
    }
    if (found.length > 0) this.counts.lookup_hits++;
    return found;
  }

  /** A store in this process answers at once: its sessions, or undefined for a store that cannot (then `lookup`). */
  lookupNow(keys: string[]): StoredSession[] | undefined {
    if (!this.store.lookupNow) return undefined;
    this.counts.lookups++;
    const started = performance.now();
    const found = this.store.lookupNow(keys, this.options.now());
    this.latency.add(performance.now() - started);
    if (found.length > 0) this.counts.lookup_hits++;
    return found;
  }

  /** Sends a write; the promise settles (never rejects) once the store has it, or gave up on it. */
  save(write: SessionWrite): Promise<void> {
    if (this.pending.size >= this.options.maxPendingWrites) {
      this.counts.saves_dropped++;
      return Promise.resolve();
    }
    this.counts.saves++;
    const done = this.run('save', () => this.store.save(write, this.options.now())).then(() => {
      this.pending.delete(done);
    });
    this.pending.add(done);
    return done;
  }

  delete(key: string): void {
    const done = this.run('delete', () => this.store.delete(key)).then(() => {
      this.pending.delete(done);
    });
    this.pending.add(done);
  }

  /** Live sessions, most recent first (the sessions API; [] while the store is down). */
  async list(limit: number): Promise<StoredSession[]> {
    return (await this.run('list', () => this.store.list(this.options.now(), limit))) ?? [];
  }

  async get(key: string): Promise<StoredSession | undefined> {
    return this.run('get', () => this.store.get(key, this.options.now()));
  }

  /** Ends a session and waits for the store to confirm it (the sessions API's DELETE). */
  async remove(key: string): Promise<boolean> {
    return (await this.run('delete', () => this.store.delete(key))) ?? false;
  }

  restored(count: number): void {
    this.counts.restored += count;
  }

  metrics(): StoreMetrics {
    const latency = this.latency.summary();
    return {
      backend: this.store.backend,
      healthy: this.healthy,
      ...this.counts,
      latency_ms: latency.mean,
      latency_p99_ms: latency.p99,
      save_batches: batchesOf(this.store),
    };
  }

  /** Waits for writes in flight, then closes the store. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([...this.pending]);
    await this.store.close();
  }

  /** Runs one store call: timed, bounded, and turned into undefined (counted, logged) when it fails. */
  private async run<T>(what: string, call: () => Promise<T>, timeoutMs = 0): Promise<T | undefined> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result =
        timeoutMs > 0
          ? await Promise.race([
              call(),
              new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
            ])
          : await call();
      this.latency.add(performance.now() - started);
      if (!this.healthy) {
        this.healthy = true;
        this.options.log.info({ backend: this.store.backend }, 'session store reachable again');
      }
      return result;
    } catch (err) {
      this.counts.errors++;
      if (this.healthy) {
        this.healthy = false;
        this.options.log.warn(
          { backend: this.store.backend, operation: what, error: (err as Error).message },
          'session store failed: sessions are decided locally until it is back',
        );
      }
      return undefined;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
