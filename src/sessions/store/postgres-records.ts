import pg from 'pg';

/** One proxied request, as kept in `session_requests` (never message content). */
export interface RequestRow {
  requestId: string;
  sessionId: string;
  sessionKey?: string | null;
  time: Date | string;
  method: string;
  path: string;
  provider: string;
  model: string;
  stream: boolean;
  status: number;
  durationMs: number;
  ttfbMs?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  rule?: string | null;
  isNew?: boolean | null;
  failure?: string | null;
  traceFile?: string | null;
}

export interface RequestLogOptions {
  /** Rows waiting to be written; past this, new rows are dropped (and counted) rather than buffered. */
  maxQueue?: number;
  /** Rows per INSERT. */
  batchSize?: number;
  /** How long a partial batch waits for company before it is written. */
  flushIntervalMs?: number;
  /** A batch failed; its rows are counted as failed and not retried. */
  onError?: (err: Error) => void;
}

export interface RequestLogStats {
  /** Rows the database accepted (a duplicate request id counts: it is there). */
  written: number;
  /** Rows refused because the queue was full or the log closed. */
  dropped: number;
  /** Rows of batches the database rejected. */
  failed: number;
  /** Rows waiting or in flight. */
  queued: number;
}

/** Columns in insert order, with the array type each travels as (see the INSERT below). */
const columns: [name: string, type: string, value: (row: RequestRow) => unknown][] = [
  ['request_id', 'text', (r) => r.requestId],
  ['session_id', 'text', (r) => r.sessionId],
  ['session_key', 'text', (r) => r.sessionKey ?? null],
  ['time', 'timestamptz', (r) => (typeof r.time === 'string' ? r.time : r.time.toISOString())],
  ['method', 'text', (r) => r.method],
  ['path', 'text', (r) => r.path],
  ['provider', 'text', (r) => r.provider],
  ['model', 'text', (r) => r.model],
  ['stream', 'boolean', (r) => r.stream],
  ['status', 'int', (r) => r.status],
  ['duration_ms', 'float8', (r) => r.durationMs],
  ['ttfb_ms', 'float8', (r) => r.ttfbMs ?? null],
  ['input_tokens', 'int', (r) => r.inputTokens ?? null],
  ['output_tokens', 'int', (r) => r.outputTokens ?? null],
  ['rule', 'text', (r) => r.rule ?? null],
  ['is_new', 'boolean', (r) => r.isNew ?? null],
  ['failure', 'text', (r) => r.failure ?? null],
  ['trace_file', 'text', (r) => r.traceFile ?? null],
];

/**
 * Writes request rows to `session_requests` off the request path: enqueue() only appends to an array, a
 * single writer drains it in batches. The proxy must never wait on, or fail because of, the audit log, so
 * a full queue drops rows and a failed batch is counted; both show in stats().
 */
export class PostgresRequestLog {
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly insertSql: string;
  private queue: RequestRow[] = [];
  private inFlight = 0;
  private counts = { written: 0, dropped: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  /** The one running writer, if any: batches go one at a time, in order. */
  private writer: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
    options: RequestLogOptions = {},
  ) {
    this.maxQueue = options.maxQueue ?? 10_000;
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.onError = options.onError;
    // One array parameter per column, zipped by unnest: the statement text is the same for every batch
    // size and stays far from the 65535-parameter limit a VALUES list would hit.
    const names = columns.map(([name]) => name).join(', ');
    const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
    this.insertSql = `INSERT INTO ${pg.escapeIdentifier(schema)}.session_requests (${names})
      SELECT * FROM unnest(${arrays}) ON CONFLICT (request_id) DO NOTHING`;
  }

  enqueue(row: RequestRow): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(row);
    if (this.queue.length >= this.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.flushIntervalMs).unref();
  }

  /** Resolves once every row enqueued so far is written or counted as failed. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.writer) {
      this.kick();
      await this.writer;
    }
  }

  /** Drains, then refuses further rows. The pool belongs to the store and stays open. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  stats(): RequestLogStats {
    return { ...this.counts, queued: this.queue.length + this.inFlight };
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writer ??= this.drain().finally(() => (this.writer = undefined));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      this.inFlight = batch.length;
      try {
        await this.pool.query(this.insertSql, columns.map(([, , value]) => batch.map(value)));
        this.counts.written += batch.length;
      } catch (err) {
        this.counts.failed += batch.length;
        try {
          this.onError?.(err instanceof Error ? err : new Error(String(err)));
        } catch {
          // A throwing error callback must not stop the writer either.
        }
      } finally {
        this.inFlight = 0;
      }
    }
  }
}
