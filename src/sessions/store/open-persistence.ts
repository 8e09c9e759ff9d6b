import { randomBytes } from 'node:crypto';
import type { SessionConfig } from '../../config/schema.js';
import { FileStore } from './file-store.js';
import type { RequestLogStats, RequestRow } from './postgres-records.js';
import type { PostgresRequestLog } from './postgres-records.js';
import { PostgresStore } from './postgres-store.js';
import { RecordedStore } from './recorded-store.js';
import { RedisStore } from './redis-store.js';
import { StoreLink, type StoreLinkLog, type StoreMetrics } from './store-link.js';
import type { SessionStore, StoreLimits } from './types.js';

/** The `persistence` section of `/metrics`. */
export interface PersistenceMetrics extends StoreMetrics {
  /** The Postgres record of sessions and requests, when there is one. */
  record: (RequestLogStats & { session_errors: number }) | null;
}

export interface Persistence {
  link: StoreLink;
  /** Rows per request for the Postgres record; null without Postgres. */
  requestLog: PostgresRequestLog | null;
  /** A session's recorded requests, oldest first (the sessions API's timeline); null without Postgres. */
  recordedRequests: ((sessionId: string, limit: number) => Promise<RequestRow[]>) | null;
  /** The fleet's hashing secret (unless `hash_key` is configured). */
  secret: string | undefined;
  metrics(): PersistenceMetrics;
  close(): Promise<void>;
}

type Persisted = SessionConfig['persistence'];

const DEFAULT_CONNECTION = { file: './data/sessions', redis: 'redis://127.0.0.1:6379', postgres: 'postgres://postgres@127.0.0.1:5432/postgres' } as const;

/**
 * Opens the configured store (null for `memory`: the engine's own index is the memory), or throws a
 * message that says which backend at which address failed, so a gateway never starts half-configured.
 */
export async function openPersistence(session: SessionConfig, log: StoreLinkLog): Promise<Persistence | null> {
  const persisted = session.persistence;
  if (!persisted.enabled || persisted.backend === 'memory') return null;
  const limits: StoreLimits = { maxSessions: session.max_sessions, ttlMs: session.session_ttl_seconds * 1000 };
  const onPoolError = (err: Error) => log.warn({ error: err.message }, 'postgres connection error');

  const hot = hotStore(persisted.backend, persisted, limits, onPoolError);
  const recordStore =
    persisted.backend === 'postgres' ? (hot as PostgresStore) : persisted.record ? postgres(persisted.record, persisted, limits, onPoolError) : null;
  const store: SessionStore =
    recordStore && recordStore !== hot ? new RecordedStore(hot, recordStore, (err) => log.warn({ error: err.message }, 'session record write failed')) : hot;
  try {
    await store.open();
  } catch (err) {
    throw new Error(`session persistence (${persisted.backend}) could not start: ${(err as Error).message}`);
  }

  const secret = session.hash_key ? undefined : await store.sharedSecret(randomBytes(32).toString('hex'));
  const link = new StoreLink(store, {
    timeoutMs: persisted.timeout_ms,
    maxPendingWrites: 10_000,
    sweepEveryMs: Math.min(60_000, Math.max(1_000, limits.ttlMs / 4)),
    now: Date.now,
    log,
  });
  const requestLog = recordStore?.requestLog({ onError: (err) => log.warn({ error: err.message }, 'request record write failed') }) ?? null;
  return {
    link,
    requestLog,
    recordedRequests: recordStore ? (sessionId, limit) => recordStore.requests(sessionId, limit) : null,
    secret,
    metrics: () => ({
      ...link.metrics(),
      record: requestLog ? { ...requestLog.stats(), session_errors: store instanceof RecordedStore ? store.recordErrors : 0 } : null,
    }),
    async close() {
      await requestLog?.close(); // before the pool it writes through ends
    },
  };
}

function hotStore(
  backend: Exclude<Persisted['backend'], 'memory'>,
  persisted: Persisted,
  limits: StoreLimits,
  onPoolError: (err: Error) => void,
): SessionStore {
  const connection = persisted.connection ?? DEFAULT_CONNECTION[backend];
  if (backend === 'file') return new FileStore(limits, { directory: connection, flushIntervalMs: persisted.flush_interval * 1000 });
  if (backend === 'redis')
    return new RedisStore(limits, { connection, keyPrefix: persisted.key_prefix, commandTimeoutMs: Math.max(1000, persisted.timeout_ms * 4) });
  return postgres(connection, persisted, limits, onPoolError);
}

function postgres(connection: string, persisted: Persisted, limits: StoreLimits, onError: (err: Error) => void): PostgresStore {
  return new PostgresStore(limits, {
    connection,
    schema: persisted.schema,
    statementTimeoutMs: Math.max(1000, persisted.timeout_ms * 4),
    connectTimeoutMs: 5000,
    onError,
  });
}
