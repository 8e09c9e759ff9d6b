import pg from 'pg';
import { migrate } from './postgres-migrations.js';
import { PostgresRequestLog, type RequestLogOptions, type RequestRow } from './postgres-records.js';
import { SaveBatcher, type QueuedSave, type SaveBatchStats } from './save-batch.js';
import { indexKeysOf, LOOKUP_LIMIT, type SessionState, type SessionStore, type SessionWrite, type StoreLimits, type StoredSession } from './types.js';

export type { RequestRow } from './postgres-records.js';

export interface PostgresStoreOptions {
  /** postgres:// URL. Its password never appears in an error message. */
  connection: string;
  /** Schema holding the tables; created on open. */
  schema?: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  /** How long open() waits for a connection before calling the server unreachable. */
  connectTimeoutMs?: number;
  /** Errors of idle pooled connections (server restart, network): reported, never thrown. */
  onError?: (err: Error) => void;
  /**
   * Save statements out at once (default 1): writes made meanwhile go together in the next one. A statement
   * costs Postgres about as much as three sessions' rows, so one at a time makes the batches, and the CPU
   * they save, largest; measured on 6-turn traffic it halved Postgres' CPU per request against two.
   */
  saveBatches?: number;
}

/** Sessions one save statement carries at most. */
const MAX_SAVE_BATCH = 200;

interface SessionRow {
  state: SessionState;
  last_seen_ms: string;
  requests: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: number;
}

const SECRET = 'hash_secret';
/** SQLSTATE deadlock_detected. */
const DEADLOCK = '40P01';
/** The columns a StoredSession is built from. */
const COLUMNS = 'state, last_seen_ms, requests, input_tokens, output_tokens, cost_usd';
/** Alive at $now with the TTL in $ttl: not ended, and seen within the TTL (aliveAt, in SQL). */
const alive = (now: string, ttl: string, t = '') => `${t}ended_at IS NULL AND ${now}::bigint - ${t}last_seen_ms < ${ttl}::bigint`;

/**
 * Sessions in PostgreSQL, shared by every gateway of a fleet. Sessions that end (delete, TTL, max_sessions)
 * stay as rows with ended_at set: the durable record analytics reads. Only their index rows go.
 * A lookup is one statement, so one round trip; saves are group-committed (save-batch.ts): the writes made
 * while a save statement is out leave together in the next one. Counters are added by the database, so
 * concurrent writers from many gateways never lose an increment.
 */
export class PostgresStore implements SessionStore {
  readonly backend = 'postgres' as const;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly where: string;
  private readonly passwords: string[];
  private readonly sql: Record<'lookup' | 'save' | 'get' | 'delete' | 'sweep' | 'list' | 'secret' | 'requests', string>;
  private readonly saves: SaveBatcher;

  constructor(
    private readonly limits: StoreLimits,
    options: PostgresStoreOptions,
  ) {
    this.schema = options.schema ?? 'cylestio';
    this.where = describeServer(options.connection);
    this.passwords = passwordsOf(options.connection);
    this.pool = new pg.Pool({
      connectionString: options.connection,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    });
    // Without a listener, an idle client's error (e.g. the server restarting) would crash the process.
    this.pool.on('error', (err) => options.onError?.(err));
    this.sql = statements(pg.escapeIdentifier(this.schema));
    this.saves = new SaveBatcher((batch) => this.saveBatch(batch), { maxInFlight: Math.max(1, options.saveBatches ?? 1), maxBatch: MAX_SAVE_BATCH });
  }

  async open(): Promise<void> {
    const secret = this.passwords;
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw new Error(`postgres at ${this.where} is unreachable: ${redact(reason(err), secret)}`);
    }
    try {
      await migrate(this.pool, this.schema);
    } catch (err) {
      throw new Error(`postgres at ${this.where}: migrating schema ${this.schema} failed: ${redact(reason(err), secret)}`);
    }
  }

  async sharedSecret(candidate: string): Promise<string> {
    const { rows } = await this.pool.query<{ value: string }>(this.sql.secret, [SECRET, candidate]);
    return rows[0].value;
  }

  async lookup(indexKeys: string[], now: number): Promise<StoredSession[]> {
    if (indexKeys.length === 0) return [];
    const { rows } = await this.pool.query<SessionRow>(this.prepared('lookup', [indexKeys, Math.round(now), this.limits.ttlMs]));
    return rows.map(toStored);
  }

  /** Settles once the batch holding this write is committed (or has failed: then it rejects). */
  save(write: SessionWrite, now: number): Promise<void> {
    return this.saves.save(write, now);
  }

  /** Save batches so far (statements, the writes they carried, writes merged before sending). */
  saveStats(): SaveBatchStats & { queued: number } {
    return this.saves.stats();
  }

  async get(key: string, now: number): Promise<StoredSession | undefined> {
    const { rows } = await this.pool.query<SessionRow>(this.prepared('get', [key, Math.round(now), this.limits.ttlMs]));
    return rows.length ? toStored(rows[0]) : undefined;
  }

  async delete(key: string): Promise<boolean> {
    await this.saves.idle(key); // a write queued before the delete must not bring the session back after it
    const { rows } = await this.pool.query<{ ended: string }>(this.sql.delete, [key]);
    return Number(rows[0].ended) > 0;
  }

  async sweep(now: number): Promise<void> {
    await this.pool.query(this.sql.sweep, [Math.round(now), this.limits.ttlMs, this.limits.maxSessions]);
  }

  async list(now: number, limit: number): Promise<StoredSession[]> {
    const { rows } = await this.pool.query<SessionRow>(this.sql.list, [Math.round(now), this.limits.ttlMs, limit]);
    return rows.map(toStored);
  }

  /** A session's latest `limit` requests, oldest first (the sessions API). */
  async requests(sessionId: string, limit: number): Promise<RequestRow[]> {
    const { rows } = await this.pool.query<Omit<RequestRow, 'time'> & { time: Date }>(this.sql.requests, [sessionId, limit]);
    return rows.map((row) => ({ ...row, time: row.time.toISOString() }));
  }

  /** A batched writer of request rows on this store's pool; close it before the store. */
  requestLog(options?: RequestLogOptions): PostgresRequestLog {
    return new PostgresRequestLog(this.pool, this.schema, options);
  }

  /** Sends the saves still queued, waits for them, then closes the pool. */
  async close(): Promise<void> {
    await this.saves.flush();
    if (!this.pool.ended) await this.pool.end();
  }

  /**
   * One statement for a batch of sessions, passed as one JSON array (one parameter whatever the batch size,
   * and the state goes as an object, not a string escaped twice). Rows are locked in key order, so two
   * gateways' batches that share sessions wait for each other instead of deadlocking; a deadlock with a
   * statement that locks in another order (a sweep) is retried once.
   */
  private async saveBatch(batch: QueuedSave[]): Promise<void> {
    const rows = batch.map(({ write: { state, lastSeen, delta } }) => ({
      key: state.key,
      id: state.id,
      rule: state.rule,
      // Clock values go to bigint columns, which refuse fractions; the wall clock is whole ms anyway.
      created: Math.round(state.createdAt),
      seen: Math.round(lastSeen),
      requests: delta.requests,
      input_tokens: delta.inputTokens,
      output_tokens: delta.outputTokens,
      cost_usd: Number.isFinite(delta.costUsd) ? delta.costUsd : 0, // JSON has no NaN, and the column no NULL
      state,
      // Duplicates would insert one index row twice; the set is what is stored.
      keys: [...new Set(indexKeysOf(state))],
      parent: state.parent?.key ?? null,
    }));
    const now = Math.round(Math.max(...batch.map((queued) => queued.now)));
    const query = this.prepared('save', [JSON.stringify(rows), now, this.limits.ttlMs]);
    try {
      await this.pool.query(query);
    } catch (err) {
      if ((err as { code?: string }).code !== DEADLOCK) throw err;
      await this.pool.query(query);
    }
  }

  /**
   * The hot statements as named (prepared) ones: each connection plans them once instead of per call,
   * which measured at ~1 ms of planning per lookup, four times its execution.
   */
  private prepared(name: 'lookup' | 'get' | 'save', values: unknown[]): pg.QueryConfig {
    return { name: `cylestio-${this.schema}-${name}`, text: this.sql[name], values };
  }
}

/** Every statement, with the schema (already quoted) spelt into its table names (exported for plan tests). */
export function statements(s: string) {
  return {
    // Candidates through the index, then checked against the session's own current key set, so an index
    // row a racing writer left behind cannot return a session that no longer has that key.
    // The plan must start from the index rows and read each session by its primary key, whatever the table
    // statistics say: before autovacuum first analyzes a freshly filled table, the planner scanned every live
    // session instead (~2.5 ms at 3,000 sessions, growing). OFFSET 0 keeps the lateral subquery from being
    // flattened into the outer query, so it stays a primary-key probe per candidate.
    // The lookup reads at most LOOKUP_LIMIT index rows per key, the most recently seen (session_index_recent),
    // which holds the same answer as reading them all: a session among the LOOKUP_LIMIT most recent of the
    // union is among the LOOKUP_LIMIT most recent of each of its keys (ties broken by key in both orders).
    // The index rows' last_seen_ms is the session's (set by every save, under the session row's lock), and
    // sessions idle past the TTL are the least recent, so they never push a live one out.
    lookup: `SELECT s.state, s.last_seen_ms, s.requests, s.input_tokens, s.output_tokens, s.cost_usd
      FROM (SELECT DISTINCT r.session_key FROM unnest($1::text[]) AS k(index_key)
        CROSS JOIN LATERAL (SELECT session_key FROM ${s}.session_index
          WHERE index_key = k.index_key ORDER BY last_seen_ms DESC, session_key DESC LIMIT ${LOOKUP_LIMIT}) r) i
      CROSS JOIN LATERAL (SELECT * FROM ${s}.sessions WHERE key = i.session_key OFFSET 0) s
      WHERE s.index_keys && $1::text[] AND ${alive('$2', '$3', 's.')}
      ORDER BY s.last_seen_ms DESC, s.key DESC LIMIT ${LOOKUP_LIMIT}`,

    // $1 a JSON array of sessions (see saveBatch), $2 now, $3 ttl.
    // A row that ended (or idled past the TTL) starts over: counters from this write's delta. The index
    // statements read from `upserted`, so they run after the session rows are locked: writers of one session
    // take turns, and the last one's keys are all inserted after every earlier writer's deletes. Rows go in
    // key order, so concurrent batches lock shared sessions in the same order.
    save: `WITH input AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(key text, id text, rule text, created bigint, seen bigint,
          requests bigint, input_tokens bigint, output_tokens bigint, cost_usd double precision, state jsonb, keys text[], parent text)),
      upserted AS (
        INSERT INTO ${s}.sessions AS o (key, id, rule, created_at, last_seen, last_seen_ms,
          requests, input_tokens, output_tokens, state, index_keys, ended_at, cost_usd, parent_session_id)
        SELECT key, id, rule, to_timestamp(created / 1000.0), to_timestamp(seen / 1000.0), seen,
          requests, input_tokens, output_tokens, state, keys, NULL, cost_usd, parent
        FROM input ORDER BY key
        ON CONFLICT (key) DO UPDATE SET
          id = excluded.id, rule = excluded.rule, state = excluded.state, index_keys = excluded.index_keys,
          parent_session_id = excluded.parent_session_id,
          created_at = excluded.created_at, ended_at = NULL,
          last_seen_ms = CASE WHEN ${alive('$2', '$3', 'o.')} THEN greatest(o.last_seen_ms, excluded.last_seen_ms) ELSE excluded.last_seen_ms END,
          last_seen = CASE WHEN ${alive('$2', '$3', 'o.')} THEN greatest(o.last_seen, excluded.last_seen) ELSE excluded.last_seen END,
          requests = CASE WHEN ${alive('$2', '$3', 'o.')} THEN o.requests + excluded.requests ELSE excluded.requests END,
          input_tokens = CASE WHEN ${alive('$2', '$3', 'o.')} THEN o.input_tokens + excluded.input_tokens ELSE excluded.input_tokens END,
          output_tokens = CASE WHEN ${alive('$2', '$3', 'o.')} THEN o.output_tokens + excluded.output_tokens ELSE excluded.output_tokens END,
          cost_usd = CASE WHEN ${alive('$2', '$3', 'o.')} THEN o.cost_usd + excluded.cost_usd ELSE excluded.cost_usd END
        RETURNING key, index_keys, last_seen_ms),
      -- The index rows go through session_index_session_key, whatever the planner guesses of the batch: a
      -- set-returning function counts as 100 rows, and joined as such it hashed a scan of the whole index
      -- table into every save (2 ms at 18,000 rows, growing with the fleet). An array of keys is an index probe.
      unindexed AS (
        DELETE FROM ${s}.session_index i USING upserted u
        WHERE i.session_key = ANY(ARRAY(SELECT key FROM upserted)) AND i.session_key = u.key AND i.index_key <> ALL(u.index_keys))
      INSERT INTO ${s}.session_index (index_key, session_key, last_seen_ms)
        SELECT k, u.key, u.last_seen_ms FROM upserted u, unnest(u.index_keys) AS k
        ON CONFLICT (index_key, session_key) DO UPDATE SET last_seen_ms = excluded.last_seen_ms`,

    get: `SELECT ${COLUMNS} FROM ${s}.sessions WHERE key = $1 AND ${alive('$2', '$3')}`,

    // Ended, not deleted: the row stays for the record. "Existed" means it had not ended yet.
    delete: `WITH ended AS (
        UPDATE ${s}.sessions SET ended_at = now() WHERE key = $1 AND ended_at IS NULL RETURNING key),
      unindexed AS (DELETE FROM ${s}.session_index WHERE session_key = $1)
      SELECT count(*) AS ended FROM ended`,

    // $1 now, $2 ttl, $3 max_sessions. Idle sessions end when their TTL ran out; beyond max_sessions the
    // least recently seen live ones end now. Both lose their index rows, which only live sessions need.
    sweep: `WITH expired AS (
        UPDATE ${s}.sessions SET ended_at = to_timestamp((last_seen_ms + $2::bigint) / 1000.0)
        WHERE ended_at IS NULL AND $1::bigint - last_seen_ms >= $2::bigint RETURNING key),
      surplus AS (
        SELECT key FROM ${s}.sessions WHERE ${alive('$1', '$2')}
        ORDER BY last_seen_ms DESC, key DESC OFFSET $3::bigint),
      evicted AS (
        UPDATE ${s}.sessions SET ended_at = to_timestamp($1::bigint / 1000.0)
        WHERE key IN (SELECT key FROM surplus) RETURNING key)
      DELETE FROM ${s}.session_index
      WHERE session_key IN (SELECT key FROM expired UNION ALL SELECT key FROM evicted)`,

    list: `SELECT ${COLUMNS} FROM ${s}.sessions WHERE ${alive('$1', '$2')}
      ORDER BY last_seen_ms DESC, key DESC LIMIT $3`,

    // DO UPDATE (to the same value) rather than DO NOTHING: it returns the stored row even when another
    // gateway inserted it after this statement's snapshot, where a separate SELECT would see nothing.
    secret: `INSERT INTO ${s}.settings (name, value) VALUES ($1, $2)
      ON CONFLICT (name) DO UPDATE SET value = settings.value RETURNING value`,

    // The latest $2 requests, oldest first: a long session shows its recent end.
    requests: `SELECT * FROM (SELECT * FROM ${s}.session_requests WHERE session_id = $1 ORDER BY time DESC, request_id DESC LIMIT $2) latest
      ORDER BY time, request_id`,
  };
}

/** bigint columns arrive as strings; session counters stay far below 2^53. */
function toStored(row: SessionRow): StoredSession {
  return {
    state: row.state,
    lastSeen: Number(row.last_seen_ms),
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: Number(row.cost_usd ?? 0),
  };
}

/** host:port of a connection URL, for messages; never the credentials. */
function describeServer(connection: string): string {
  try {
    const url = new URL(connection);
    const host = url.hostname || decodeURIComponent(url.searchParams.get('host') ?? '') || 'localhost';
    return `${host}:${url.port || '5432'}`;
  } catch {
    return 'the configured server';
  }
}

/** The password as written in the URL and decoded: a message might carry either. */
function passwordsOf(connection: string): string[] {
  try {
    const raw = new URL(connection).password;
    return [...new Set([raw, decodeURIComponent(raw)])].filter(Boolean);
  } catch {
    return [];
  }
}

function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // A refused connection to a host with several addresses is an AggregateError with an empty message.
  if (err instanceof AggregateError && !err.message) return err.errors.map((e: unknown) => reason(e)).join('; ');
  return err.message || (err as NodeJS.ErrnoException).code || err.name;
}

/** Belt and braces: drivers should not echo the password, but a message must never carry it. */
function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('***'), text);
}
