import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/**
 * An ioredis client for a connection URL: redis:// and rediss:// (TLS) as ioredis reads them, plus
 * redis-sentinel://host:port,host:port/master and redis-cluster://host:port,host:port. Not connected yet
 * (`lazyConnect`), and with no offline queue: while the server is down commands fail at once, so callers
 * fall back instead of queueing, and ioredis reconnects in the background.
 *
 * Auto-pipelining: the commands of one event-loop turn (many requests' scripts under load) leave in one
 * write, and those issued while that write's replies are awaited leave together after it. A socket write
 * and the wake-up it causes cost far more than a command's bytes, on the gateway and on Redis alike, so a
 * busy gateway pays them once per turn instead of once per command; an idle one still sends each command
 * at once (at the end of its turn). On Cluster commands are grouped per node by their key's slot.
 */
export function redisClient(connection: string, commandTimeoutMs: number): RedisClient {
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    enableAutoPipelining: true,
  };
  const multi = multiHost(connection);
  let client: RedisClient;
  if (multi?.scheme === 'redis-sentinel') client = new Redis({ ...common, ...multi.auth, sentinels: multi.hosts, name: multi.path || 'mymaster' });
  else if (multi?.scheme === 'redis-cluster')
    client = new Cluster(multi.hosts, {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      redisOptions: { ...common, ...multi.auth },
    });
  else client = new Redis(connection, common);
  client.on('error', () => {}); // failures surface on the commands, where callers count and log them
  return client;
}

interface MultiHost {
  scheme: 'redis-sentinel' | 'redis-cluster';
  hosts: { host: string; port: number }[];
  auth: { username?: string; password?: string };
  /** The path without its leading slash (the sentinel master's name). */
  path: string;
}

/**
 * A redis-sentinel:// or redis-cluster:// URL, read by hand: WHATWG `new URL` rejects a host list with
 * ports (`h:1,h:2` is one host whose port is not a number), so these cannot go through it.
 */
function multiHost(connection: string): MultiHost | undefined {
  const match = /^(redis-sentinel|redis-cluster):\/\/(?:([^@/]*)@)?([^/?#]*)\/?([^?#]*)/.exec(connection);
  if (!match) return undefined;
  const [, scheme, userinfo, hostList, path] = match;
  const hosts = hostList
    .split(',')
    .filter(Boolean)
    .map((hostPort) => {
      // [v6]:port, host:port, or a bare host (port 6379).
      const parts = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
      if (!parts) throw new Error(`invalid host in the redis connection: ${hostPort}`);
      return { host: parts[1].replace(/^\[|\]$/g, ''), port: Number(parts[2] ?? 6379) };
    });
  if (hosts.length === 0) throw new Error(`no host in the redis connection ${scheme}://…`);
  const [username, password] = userinfo === undefined ? [] : [userinfo.split(':')[0], userinfo.split(':').slice(1).join(':')];
  const auth = { username: username ? decodeURIComponent(username) : undefined, password: password ? decodeURIComponent(password) : undefined };
  return { scheme: scheme as MultiHost['scheme'], hosts, auth, path: decodeURIComponent(path) };
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
    const multi = multiHost(connection);
    if (multi) return multi.hosts.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
    return new URL(connection).host;
  } catch {
    return 'the configured address';
  }
}
