import { connectOrExplain, redisClient, type RedisClient } from '../../redis/connect.js';
import { TurnBatch } from '../../redis/turn-batch.js';
import { deleteScript, lookupScript, saveScript, secretScript, sweepScript } from './redis-scripts.js';
import { indexKeysOf, LOOKUP_LIMIT, type SessionState, type SessionStore, type SessionWrite, type StoreLimits, type StoredSession } from './types.js';

export interface RedisStoreOptions {
  /** redis://, rediss:// (TLS), redis-sentinel://host:port,host:port/master, redis-cluster://host:port,host:port */
  connection: string;
  /** Prefix of every key; wrapped in a hash tag so a deployment's keys share one Cluster slot. */
  keyPrefix: string;
  /** Per-command timeout: a stalled server fails commands instead of holding them. */
  commandTimeoutMs: number;
}

type ScriptedClient = RedisClient & {
  cyLookup(...args: (string | number)[]): Promise<string[]>;
  cySave(...args: (string | number)[]): Promise<number>;
  cyDelete(...args: (string | number)[]): Promise<number>;
  cySweep(...args: (string | number)[]): Promise<number>;
  cySecret(...args: (string | number)[]): Promise<string>;
};

/** Expired keys no gateway touches any more are collected by Redis itself this long after the TTL. */
const EXPIRY_MARGIN_MS = 60_000;
/** Writes one save call carries at most: a bounded stretch of Redis' single thread per call. */
const MAX_SAVES_PER_CALL = 50;

/**
 * Sessions shared by every gateway of a fleet through Redis 7 / Valkey (ioredis). Each call is one Lua
 * script (one round trip, atomic): lookups read the most recent candidate sessions of each key at once,
 * writes add counters and refile the session under its index keys, and every write call also enforces TTL and max_sessions for the fleet.
 * The writes of one event-loop turn go as one call (../../redis/turn-batch.ts): a busy gateway pays the
 * call once for many replies.
 * Commands fail at once while the server is down (no offline queue): the engine then decides locally, and
 * ioredis reconnects in the background.
 */
export class RedisStore implements SessionStore {
  readonly backend = 'redis' as const;
  private readonly client: ScriptedClient;
  private readonly prefix: string;
  /** The key scripts declare (KEYS[1]) so Cluster routes them; the scripts read their keys from ARGV. */
  private readonly route: string;
  private readonly saves: TurnBatch<{ write: SessionWrite; now: number }, void>;

  constructor(
    private readonly limits: StoreLimits,
    private readonly options: RedisStoreOptions,
  ) {
    this.prefix = `{${options.keyPrefix}}`;
    this.route = `${this.prefix}recent`;
    this.client = redisClient(options.connection, options.commandTimeoutMs) as ScriptedClient;
    for (const [name, lua] of Object.entries({
      cyLookup: lookupScript,
      cySave: saveScript,
      cyDelete: deleteScript,
      cySweep: sweepScript,
      cySecret: secretScript,
    })) {
      // One declared key, hash-tagged like every key the script touches: on Cluster, ioredis routes the
      // script by it to the node that owns the deployment's slot (a keyless script goes to a random node).
      this.client.defineCommand(name, { numberOfKeys: 1, lua });
    }
    this.saves = new TurnBatch((writes) => this.saveAll(writes), MAX_SAVES_PER_CALL);
  }

  open(): Promise<void> {
    return connectOrExplain(this.client, this.options.connection);
  }

  sharedSecret(candidate: string): Promise<string> {
    return this.client.cySecret(this.route, this.prefix, candidate);
  }

  async lookup(indexKeys: string[], now: number): Promise<StoredSession[]> {
    if (indexKeys.length === 0) return [];
    const flat = await this.client.cyLookup(this.route, this.prefix, now, this.limits.ttlMs, LOOKUP_LIMIT, ...indexKeys);
    const out: StoredSession[] = [];
    for (let i = 0; i < flat.length; i += 6) out.push(stored(flat[i], flat[i + 1], flat[i + 2], flat[i + 3], flat[i + 4], flat[i + 5]));
    return out;
  }

  /** Settles once the call carrying this write returns: the writes of one event-loop turn go as one call. */
  async save(write: SessionWrite, now: number): Promise<void> {
    await this.saves.add({ write, now });
  }

  async get(key: string, now: number): Promise<StoredSession | undefined> {
    const [state, lastSeen, requests, input, output, cost] = await this.client.hmget(
      this.sessionKey(key),
      'state',
      'last_seen',
      'requests',
      'input_tokens',
      'output_tokens',
      'cost_usd',
    );
    if (!state || now - Number(lastSeen) >= this.limits.ttlMs) return undefined;
    return stored(state, lastSeen!, requests!, input!, output!, cost);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.client.cyDelete(this.route, this.prefix, key)) === 1;
  }

  async sweep(now: number): Promise<void> {
    await this.client.cySweep(this.route, this.prefix, now, this.limits.ttlMs, this.limits.maxSessions);
  }

  async list(now: number, limit: number): Promise<StoredSession[]> {
    const keys = await this.client.zrevrangebyscore(`${this.prefix}recent`, '+inf', `(${now - this.limits.ttlMs}`, 'LIMIT', 0, limit);
    const sessions = await Promise.all(keys.map((key) => this.get(key, now)));
    return sessions.filter((session): session is StoredSession => session !== undefined);
  }

  /** Sends the writes still queued, then quits. */
  async close(): Promise<void> {
    await this.saves.flush();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** One script call for a turn's writes, applied in order. */
  private async saveAll(writes: { write: SessionWrite; now: number }[]): Promise<void[]> {
    const args: (string | number)[] = [this.route, this.prefix, this.limits.ttlMs, this.limits.maxSessions, this.limits.ttlMs + EXPIRY_MARGIN_MS];
    for (const { write, now } of writes) {
      const { state, delta } = write;
      args.push(
        now,
        state.key,
        JSON.stringify(state),
        indexKeysOf(state).join('\n'),
        write.lastSeen,
        delta.requests,
        delta.inputTokens,
        delta.outputTokens,
        delta.costUsd,
      );
    }
    await this.client.cySave(...args);
    return [];
  }

  private sessionKey(key: string): string {
    return `${this.prefix}session:${key}`;
  }
}

function stored(state: string, lastSeen: string, requests: string, input: string, output: string, cost: string | null | undefined): StoredSession {
  return {
    state: JSON.parse(state) as SessionState,
    lastSeen: Number(lastSeen),
    requests: Number(requests),
    inputTokens: Number(input),
    outputTokens: Number(output),
    costUsd: Number(cost ?? 0),
  };
}
