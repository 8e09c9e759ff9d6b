/**
 * One Redis call for the operations of an event-loop turn. Operations added during a turn leave together at
 * its end; while a call is out, the ones added meanwhile wait for it and leave together when it returns. An
 * idle process thus sends each operation at once, and a busy one pays the per-call costs (the client's
 * command, a socket write, the server's wake-up and script call) once for many operations, which is what
 * those costs are worth on a few shared cores. Operations keep the order they were added in.
 *
 * `call` answers one result per operation, in order; if it fails, every operation of that call fails with
 * its error. The queue is bounded by the callers (each operation belongs to a request or reply in flight).
 */
export class TurnBatch<T, R> {
  private queue: { item: T; resolve(result: R): void; reject(err: unknown): void; sent?: () => void }[] = [];
  private sending: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly call: (items: T[]) => Promise<R[]>,
    /** Operations one call carries at most: a bounded stretch of Redis' single thread per call. */
    private readonly maxItems: number,
  ) {}

  /** `sent` is called when the operation's call leaves (a caller's timeout measures Redis, not this queue). */
  add(item: T, sent?: () => void): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject, sent });
      if (this.scheduled || this.sending) return; // leaves with this turn's call, or after the one that is out
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    });
  }

  /** Sends everything queued and waits until no call is out. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.sending) {
      this.send();
      await this.sending;
    }
  }

  private send(): void {
    if (this.sending || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxItems);
    let called: Promise<R[]>;
    try {
      called = this.call(batch.map((entry) => entry.item));
    } catch (err) {
      called = Promise.reject(err); // a call that throws (bad arguments) fails its operations, not the process
    }
    for (const entry of batch) entry.sent?.();
    const sending = called.then(
      (results) => {
        for (const [i, entry] of batch.entries()) entry.resolve(results[i]);
      },
      (err: unknown) => {
        for (const entry of batch) entry.reject(err);
      },
    );
    this.sending = sending.then(() => {
      this.sending = undefined;
      this.send();
    });
  }
}
