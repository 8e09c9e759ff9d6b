import pg from 'pg';

/**
 * Schema migrations of the postgres store, applied in order and never edited once released: a change is a
 * new entry. Each runs with `search_path` set to the configured schema, so the SQL names tables unqualified.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, index, requests, settings',
    sql: `
      -- One row per session key. Rows outlive the session (ended_at set, or idle past the TTL): the durable
      -- record analytics reads. last_seen_ms is the exact clock the contract compares; the timestamptz
      -- columns are for people. index_keys is the state's current index set, the truth session_index is
      -- checked against (an index row a concurrent writer left behind is then harmless).
      CREATE TABLE sessions (
        key text PRIMARY KEY,
        id text NOT NULL,
        rule text NOT NULL,
        created_at timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        last_seen_ms bigint NOT NULL,
        requests bigint NOT NULL DEFAULT 0,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        state jsonb NOT NULL,
        index_keys text[] NOT NULL DEFAULT '{}',
        ended_at timestamptz NULL
      );
      -- list() and sweep() walk live sessions by recency.
      CREATE INDEX sessions_live_by_last_seen ON sessions (last_seen_ms DESC) WHERE ended_at IS NULL;
      CREATE INDEX sessions_id ON sessions (id);

      CREATE TABLE session_index (
        index_key text NOT NULL,
        session_key text NOT NULL REFERENCES sessions (key) ON DELETE CASCADE,
        PRIMARY KEY (index_key, session_key)
      );
      CREATE INDEX session_index_session_key ON session_index (session_key);

      CREATE TABLE session_requests (
        request_id text PRIMARY KEY,
        session_id text NOT NULL,
        session_key text NULL,
        time timestamptz NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        provider text NOT NULL,
        model text NOT NULL,
        stream boolean NOT NULL,
        status int NOT NULL,
        duration_ms double precision NOT NULL,
        ttfb_ms double precision NULL,
        input_tokens int NULL,
        output_tokens int NULL,
        rule text NULL,
        is_new boolean NULL,
        failure text NULL,
        trace_file text NULL
      );
      CREATE INDEX session_requests_session_time ON session_requests (session_id, time);

      CREATE TABLE settings (
        name text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'request cost',
    sql: `
      -- USD by the model price catalog (or pricing.overrides); NULL when the model has no price.
      ALTER TABLE session_requests ADD COLUMN cost_usd double precision NULL;
      -- The session's total, added to by every replica like the token counters.
      ALTER TABLE sessions ADD COLUMN cost_usd double precision NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 3,
    name: 'session lineage',
    sql: `
      -- The admin key of the session this one is a sub-agent of; NULL for a root. A column beside the
      -- state, so a session's children are one indexed query for whoever reads the record.
      ALTER TABLE sessions ADD COLUMN parent_session_id text NULL;
      -- States saved by a gateway that kept the parent only in the JSON state.
      UPDATE sessions SET parent_session_id = state->'parent'->>'key' WHERE state->'parent'->>'key' IS NOT NULL;
      CREATE INDEX sessions_parent ON sessions (parent_session_id) WHERE parent_session_id IS NOT NULL;
      -- Each request row names its session's parent too: a whole tree's requests without a join.
      ALTER TABLE session_requests ADD COLUMN parent_session_id text NULL;
    `,
  },
  {
    version: 4,
    name: 'bounded lookups',
    sql: `
      -- Each index row carries its session's last_seen_ms, so a lookup reads only the most recently seen
      -- sessions under each key: a key thousands of sessions share (a greeting every conversation gets, or
      -- traffic made to share one) no longer makes every lookup read them all.
      ALTER TABLE session_index ADD COLUMN last_seen_ms bigint NOT NULL DEFAULT 0;
      UPDATE session_index i SET last_seen_ms = s.last_seen_ms FROM sessions s WHERE s.key = i.session_key;
      CREATE INDEX session_index_recent ON session_index (index_key, last_seen_ms DESC, session_key DESC);
    `,
  },
];

/**
 * Brings `schema` up to date. Everything runs in one transaction behind an advisory lock keyed by the schema,
 * so gateways starting together queue up here instead of racing on CREATE SCHEMA / CREATE TABLE; the
 * later ones find every migration applied and change nothing.
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const client = await pool.connect();
  const quoted = pg.escapeIdentifier(schema);
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`cylestio.migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    // SET LOCAL: the search path reverts at COMMIT, so the pooled connection is left as it was found.
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
