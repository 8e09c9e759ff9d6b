import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TraceWriterOptions {
  directory: string;
  /** Most traces waiting to be written; beyond it new ones are dropped (and counted), never awaited. */
  maxQueue: number;
  /** Most bytes of bodies held by waiting traces, the other bound of the queue. */
  maxQueueBytes: number;
  /** Files written at the same time. */
  concurrency?: number;
}

interface Job {
  name: string;
  bytes: number;
  render(): Buffer | string;
}

/**
 * Writes trace files off the request path: a bounded queue drained by a few async workers. Each file is
 * written under a temporary dot-name and renamed into place, so a reader (or `jq traces/*.json`) never
 * sees a partial file, even after a crash. Rendering (JSON.stringify) also happens in the workers.
 */
export class TraceWriter {
  written = 0;
  dropped = 0;
  failed = 0;
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private running = 0;
  private readonly ready: Promise<void>;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: TraceWriterOptions) {
    this.ready = mkdir(options.directory, { recursive: true }).then(() => undefined);
    this.ready.catch(() => undefined); // reported by the first write that needs the directory
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a file; false (and counted in `dropped`) when the queue is full. Never waits. */
  enqueue(name: string, bytes: number, render: () => Buffer | string): boolean {
    if (this.queue.length >= this.options.maxQueue || this.queuedBytes + bytes > this.options.maxQueueBytes) {
      this.dropped++;
      return false;
    }
    this.queue.push({ name, bytes, render });
    this.queuedBytes += bytes;
    if (this.running < (this.options.concurrency ?? 4)) void this.work();
    return true;
  }

  /** Resolves once every queued trace is on disk (shutdown). */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async work(): Promise<void> {
    this.running++;
    try {
      await this.ready;
      for (let job = this.queue.shift(); job; job = this.queue.shift()) {
        this.queuedBytes -= job.bytes;
        await this.write(job);
      }
    } catch {
      this.failed += this.queue.length;
      this.queue.length = 0;
      this.queuedBytes = 0;
    } finally {
      this.running--;
      if (this.running === 0 && this.queue.length === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }

  private async write(job: Job): Promise<void> {
    const temporary = join(this.options.directory, `.${job.name}.tmp`);
    try {
      await writeFile(temporary, job.render());
      await rename(temporary, join(this.options.directory, job.name));
      this.written++;
    } catch {
      this.failed++;
      await unlink(temporary).catch(() => undefined);
    }
  }
}
