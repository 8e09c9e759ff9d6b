import pg from 'pg';

/**
 * One proxied request of a session, as kept in `session_requests` (never message content): the same shape
 * in the table, in the gateway's memory (the recent timeline) and in the sessions API, so no layer renames
 * fields. `time` is an ISO string.
 */
export interface RequestRow {
  request_id: string;
  session_id: string;
  session_key?: string | null;
  /** The admin identity of the session's parent (a sub-agent's run); null for a root (absent in rows before lineage). */
  parent_session_id?: string | null;
  time: string;
  method: string;
  path: string;
  provider: string;
  model: string | null;
  stream: boolean;
  status: number;
  duration_ms: number;
  ttfb_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** USD by the price catalog; null when the model has no price (absent in rows written before pricing). */
  cost_usd?: number | null;
  rule: string | null;
  is_new: boolean | null;
  failure: string | null;
  trace_file: string | null;
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
const columns: [name: keyof RequestRow, type: string][] = [
  ['request_id', 'text'],
  ['session_id', 'text'],
  ['session_key', 'text'],
  ['time', 'timestamptz'],
  ['method', 'text'],
  ['path', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['stream', 'boolean'],
  ['status', 'int'],
  ['duration_ms', 'float8'],
  ['ttfb_ms', 'float8'],
  ['input_tokens', 'int'],
  ['output_tokens', 'int'],
  ['cost_usd', 'float8'],
  ['rule', 'text'],
  ['is_new', 'boolean'],
  ['failure', 'text'],
  ['trace_file', 'text'],
  ['parent_session_id', 'text'],
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
        await this.pool.query(
          this.insertSql,
          columns.map(([name]) => batch.map((row) => row[name] ?? null)),
        );
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
