// The one ioredis client factory: commands made in one event-loop turn leave in one socket write (auto-
// pipelining), which is what a busy gateway's scripts cost the network, on Redis and on the cluster alike.
import type { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { connectOrExplain, redisClient } from '../../src/redis/connect.js';
import { startRedis } from '../helpers/redis-server.js';

/** Counts the writes the client makes to its socket (ioredis exposes the socket as `stream`). */
function countWrites(client: Redis): { writes: number } {
  const counter = { writes: 0 };
  const stream = client.stream;
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    counter.writes++;
    return write(...args);
  }) as typeof stream.write;
  return counter;
}

describe('redis client', () => {
  it('sends the commands of one event-loop turn in one write, scripts included, and answers each its own', async () => {
    const { url } = await startRedis();
    const client = redisClient(url, 2000) as Redis;
    client.defineCommand('cyEcho', { numberOfKeys: 1, lua: 'return ARGV[1]' });
    const echo = (client as Redis & { cyEcho(key: string, value: string): Promise<string> }).cyEcho.bind(client);
    try {
      await connectOrExplain(client, url);
      await echo('{connect-test}k', 'load'); // the script's first run on this connection (EVAL)
      const counter = countWrites(client);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => echo('{connect-test}k', `v${i}`)));
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
      expect(counter.writes).toBe(1);
      // A command alone is not held back: it leaves at the end of its turn.
      expect(await client.get('{connect-test}missing')).toBeNull();
      expect(counter.writes).toBe(2);
    } finally {
      client.disconnect();
    }
  });

  it('pipelines on Cluster too (per node, by slot)', () => {
    const client = redisClient('redis-cluster://127.0.0.1:7000', 1000) as Cluster;
    expect(client.options.enableAutoPipelining).toBe(true);
    client.disconnect();
  });
});
