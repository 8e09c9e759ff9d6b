import type { SaveBatchStats } from './save-batch.js';
import type { SessionStore, SessionWrite, StoredSession } from './types.js';

/**
 * A hot-path store (Redis, file) with a durable record beside it (Postgres): reads go to the hot store
 * only; writes and ends go to both. The record's write is not awaited and its failure is only counted:
 * an audit database that is slow or down must not slow or fail the fleet's session sharing.
 */
export class RecordedStore implements SessionStore {
  readonly backend: SessionStore['backend'];
  /** Writes the record refused (it is down or rejected them). */
  recordErrors = 0;
  private readonly pending = new Set<Promise<unknown>>();
  /** The hot store's answer at once, when it can give one (a file store): reads never wait on the record. */
  readonly lookupNow?: (indexKeys: string[], now: number) => StoredSession[];

  constructor(
    private readonly hot: SessionStore,
    readonly record: SessionStore,
    private readonly onRecordError: (err: Error) => void = () => {},
  ) {
    this.backend = hot.backend;
    if (hot.lookupNow) this.lookupNow = (indexKeys, now) => hot.lookupNow!(indexKeys, now);
  }

  async open(): Promise<void> {
    await this.hot.open();
    try {
      await this.record.open();
    } catch (err) {
      await this.hot.close();
      throw err;
    }
  }

  sharedSecret(candidate: string): Promise<string> {
    return this.hot.sharedSecret(candidate);
  }

  lookup(indexKeys: string[], now: number): Promise<StoredSession[]> {
    return this.hot.lookup(indexKeys, now);
  }

  async save(write: SessionWrite, now: number): Promise<void> {
    this.toRecord(this.record.save(write, now));
    await this.hot.save(write, now);
  }

  get(key: string, now: number): Promise<StoredSession | undefined> {
    return this.hot.get(key, now);
  }

  async delete(key: string): Promise<boolean> {
    this.toRecord(this.record.delete(key));
    return this.hot.delete(key);
  }

  async sweep(now: number): Promise<void> {
    this.toRecord(this.record.sweep(now));
    await this.hot.sweep(now);
  }

  list(now: number, limit: number): Promise<StoredSession[]> {
    return this.hot.list(now, limit);
  }

  /** The record's save batches (Postgres groups its writes; see save-batch.ts). */
  saveStats(): SaveBatchStats | undefined {
    return (this.record as SessionStore & { saveStats?: () => SaveBatchStats }).saveStats?.();
  }

  async close(): Promise<void> {
    await Promise.all([...this.pending]);
    await Promise.all([this.hot.close(), this.record.close()]);
  }

  private toRecord(write: Promise<unknown>): void {
    const tracked = write.catch((err: Error) => {
      this.recordErrors++;
      this.onRecordError(err);
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
