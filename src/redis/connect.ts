import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/**
 * An ioredis client for a connection URL: redis:// and rediss:// (TLS) as ioredis reads them, plus
 * redis-sentinel://host:port,host:port/master and redis-cluster://host:port,host:port. Not connected yet
 * (`lazyConnect`), and with no offline queue: while the server is down commands fail at once, so callers
 * fall back instead of queueing, and ioredis reconnects in the background.
 */
export function redisClient(connection: string, commandTimeoutMs: number): RedisClient {
  const common: RedisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: commandTimeoutMs };
  const url = new URL(connection);
  const hosts = () => url.host.split(',').map((hostPort) => ({ host: hostPort.split(':')[0], port: Number(hostPort.split(':')[1] ?? 6379) }));
  const auth = { username: decodeURIComponent(url.username) || undefined, password: decodeURIComponent(url.password) || undefined };
  let client: RedisClient;
  if (url.protocol === 'redis-sentinel:') client = new Redis({ ...common, ...auth, sentinels: hosts(), name: url.pathname.slice(1) || 'mymaster' });
  else if (url.protocol === 'redis-cluster:')
    client = new Cluster(hosts(), { lazyConnect: true, enableOfflineQueue: false, redisOptions: { ...common, ...auth } });
  else client = new Redis(connection, common);
  client.on('error', () => {}); // failures surface on the commands, where callers count and log them
  return client;
}

/** Connects and pings; on failure disconnects and throws a message with the address, never the password. */
export async function connectOrExplain(client: RedisClient, connection: string): Promise<void> {
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(`redis at ${describeTarget(connection)} is unreachable: ${(err as Error).message}`);
  }
}

/** host:port of a connection URL, without credentials (error messages must not carry them). */
export function describeTarget(connection: string): string {
  try {
    return new URL(connection).host;
  } catch {
    return 'the configured address';
  }
}
