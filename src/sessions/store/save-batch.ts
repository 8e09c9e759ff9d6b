import type { SessionWrite } from './types.js';

/** One session's writes waiting to be sent, merged into one (see merge()), and whoever waits for them. */
export interface QueuedSave {
  write: SessionWrite;
  /** The latest clock among the merged writes: the batch is judged at its latest write's time. */
  now: number;
  settle: { resolve(): void; reject(err: unknown): void }[];
}

export interface SaveBatchOptions {
  /** Batches in flight at most. Writes arriving meanwhile wait and leave together in the next one. */
  maxInFlight: number;
  /** Sessions per batch at most (the size of one statement). */
  maxBatch: number;
}

export interface SaveBatchStats {
  /** Batches sent (each one statement). */
  batches: number;
  /** Writes that went into them. */
  writes: number;
  /** Writes folded into an earlier write of the same session before it was sent. */
  merged: number;
}

/**
 * Group commit for session writes. A write does not wait for a timer: it leaves at the end of the current
 * event-loop turn, together with every other write made in that turn, unless `maxInFlight` batches are
 * already out; then it waits for one of them to settle and leaves with everything that queued up meanwhile.
 * An idle gateway therefore writes each reply at once, and a busy one sends one statement for many replies
 * instead of one each, which is what costs (a round trip, a transaction and a wake-up per statement).
 *
 * Each save() settles when the batch holding its write settles, so a caller that waits (the relay holds a
 * reply's last bytes until its session is written) still knows the write is in the store. Two writes of one
 * session that meet in the queue become one (latest state, counters added); a session's writes never travel
 * in two batches at once, so the store sees them in the order they were made. The queue is bounded by the
 * callers (the store link caps writes in flight and counts what it drops).
 */
export class SaveBatcher {
  private readonly queue = new Map<string, QueuedSave>();
  /** Sessions with a write in a batch that is out, to the promise of that batch. */
  private readonly sending = new Map<string, Promise<void>>();
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;
  private readonly counts: SaveBatchStats = { batches: 0, writes: 0, merged: 0 };

  constructor(
    private readonly send: (batch: QueuedSave[]) => Promise<void>,
    private readonly options: SaveBatchOptions,
  ) {}

  save(write: SessionWrite, now: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const key = write.state.key;
      const queued = this.queue.get(key);
      if (queued) {
        queued.write = merge(queued.write, write);
        queued.now = Math.max(queued.now, now);
        queued.settle.push({ resolve, reject });
        this.counts.merged++;
      } else {
        this.queue.set(key, { write, now, settle: [{ resolve, reject }] });
      }
      this.schedule();
    });
  }

  /** Settles once the session's queued and outgoing writes have (a delete must not overtake them). */
  async idle(key: string): Promise<void> {
    for (;;) {
      const waiting = this.queue.get(key);
      const out = this.sending.get(key);
      if (!waiting && !out) return;
      if (waiting) {
        await new Promise<void>((resolve) => waiting.settle.push({ resolve, reject: () => resolve() }));
      } else {
        await out!.catch(() => undefined);
      }
    }
  }

  /** Sends everything queued and waits for every batch out. */
  async flush(): Promise<void> {
    while (this.queue.size > 0 || this.running.size > 0) {
      this.pump();
      await Promise.all(this.running);
    }
  }

  stats(): SaveBatchStats & { queued: number } {
    return { ...this.counts, queued: this.queue.size };
  }

  /** At the end of this event-loop turn: every write made during the turn goes in one batch. */
  private schedule(): void {
    if (this.scheduled || this.running.size >= this.options.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.running.size < this.options.maxInFlight) {
      const batch = this.take();
      if (batch.length === 0) return;
      const sent = this.send(batch).then(
        () => {
          for (const { settle } of batch) for (const waiter of settle) waiter.resolve();
        },
        (err: unknown) => {
          for (const { settle } of batch) for (const waiter of settle) waiter.reject(err);
        },
      );
      const done: Promise<void> = sent.finally(() => {
        this.running.delete(done);
        for (const { write } of batch) if (this.sending.get(write.state.key) === done) this.sending.delete(write.state.key);
        this.pump();
      });
      this.running.add(done);
      for (const { write } of batch) this.sending.set(write.state.key, done);
      this.counts.batches++;
      this.counts.writes += batch.length;
    }
  }

  /** The oldest queued writes, up to a batch, skipping sessions that already have a write out. */
  private take(): QueuedSave[] {
    const batch: QueuedSave[] = [];
    for (const [key, queued] of this.queue) {
      if (batch.length >= this.options.maxBatch) break;
      if (this.sending.has(key)) continue;
      this.queue.delete(key);
      batch.push(queued);
    }
    return batch;
  }
}

/**
 * Two writes of one session as one: the later state, the later last-seen, the counters of both. Applied to
 * the store it ends where the two applied one after the other would (the store adds counters and keeps the
 * latest last-seen, and the second write always finds the session the first one just touched alive).
 */
export function merge(first: SessionWrite, then: SessionWrite): SessionWrite {
  return {
    state: then.state,
    lastSeen: Math.max(first.lastSeen, then.lastSeen),
    delta: {
      requests: first.delta.requests + then.delta.requests,
      inputTokens: first.delta.inputTokens + then.delta.inputTokens,
      outputTokens: first.delta.outputTokens + then.delta.outputTokens,
      costUsd: first.delta.costUsd + then.delta.costUsd,
    },
  };
}
