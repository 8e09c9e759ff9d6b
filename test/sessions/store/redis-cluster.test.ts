// The documented redis-cluster:// connection against a real Redis Cluster (three masters started by this
// file): two gateways share sessions, per-session limits and lineage through it, and a master restarted
// mid-traffic loses no request and no session.
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectOrExplain, redisClient } from '../../../src/redis/connect.js';
import { closeStacks, Conversation, GatewayClient, openStack } from '../../e2e/helpers.js';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis-cluster.js';
import type { Stack } from '../../helpers/stack.js';

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});
afterEach(closeStacks);

/** A gateway whose sessions and per-session limits live in the cluster under `prefix`. */
function gateway(prefix: string, requestsPerMinute: number): Promise<Stack> {
  return openStack({
    session: { persistence: { enabled: true, backend: 'redis', connection: cluster.url, key_prefix: prefix, timeout_ms: 500 } },
    interceptors: [{ type: 'rate_limit', config: { per_session: { requests_per_minute: requestsPerMinute }, backend: 'redis' } }],
  });
}

/** A fresh key prefix whose hash tag's slot the master on `port` serves. */
async function prefixOn(port: number): Promise<string> {
  for (;;) {
    const prefix = `cluster-${randomUUID()}:`;
    if ((await cluster.masterOf(`{${prefix}}`)) === port) return prefix;
  }
}

async function persistence(stack: Stack): Promise<Record<string, unknown>> {
  return ((await (await fetch(`${stack.url}/metrics`)).json()) as { persistence: Record<string, unknown> }).persistence;
}

async function chat(stack: Stack, headers: Record<string, string>, content: string): Promise<Response> {
  const response = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cluster-client', ...headers },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] }),
  });
  await response.text();
  return response;
}

describe('two gateways on a Redis Cluster', () => {
  it('share sessions: conversations alternating between them keep one session each', async () => {
    // On the master the URL does not name: the client finds it from the cluster's slot map.
    const prefix = await prefixOn(cluster.ports[2]);
    const [a, b] = [await gateway(prefix, 1000), await gateway(prefix, 1000)];
    const viaA = new GatewayClient(a);
    const viaB = new GatewayClient(b);
    const chats = [new Conversation(viaA, { stream: false }), new Conversation(viaB, { stream: true })];
    for (let turn = 0; turn < 6; turn++) {
      for (const [i, conversation] of chats.entries()) {
        await conversation.via((turn + i) % 2 ? viaB : viaA).say(`turn ${turn} of conversation ${i}`, { reply: `reply ${turn}.${i}` });
      }
    }
    for (const conversation of chats) expect(new Set(conversation.sessionIds).size).toBe(1);
    expect(chats[0].sessionIds[0]).not.toBe(chats[1].sessionIds[0]);
    const [fromA, fromB] = [await persistence(a), await persistence(b)];
    expect(fromA).toMatchObject({ backend: 'redis', healthy: true, errors: 0 });
    expect(fromB).toMatchObject({ backend: 'redis', healthy: true, errors: 0 });
    // Every turn after the first of each conversation hopped and found the other gateway's state.
    expect(Number(fromA.lookup_hits) + Number(fromB.lookup_hits)).toBeGreaterThanOrEqual(10);
  });

  it('share per-session limits: 20 concurrent requests over both, exactly 5 admitted', async () => {
    const prefix = `cluster-${randomUUID()}:`;
    const [a, b] = [await gateway(prefix, 5), await gateway(prefix, 5)];
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 ? a : b, { 'x-session-id': 'fleet' }, `q${i}`)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(5);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(15);
    expect(a.sim.requests.length + b.sim.requests.length).toBe(5);
  });

  it('share lineage: a sub-agent session made on one gateway names its parent when read through the other', async () => {
    const prefix = `cluster-${randomUUID()}:`;
    const [a, b] = [await gateway(prefix, 1000), await gateway(prefix, 1000)];
    expect((await chat(a, { 'x-claude-code-session-id': 'run-1' }, 'Plan the work')).status).toBe(200);
    const child = await chat(a, { 'x-claude-code-session-id': 'run-1', 'x-claude-code-agent-id': 'a1' }, 'Read the files');
    expect(child.status).toBe(200);
    expect(child.headers.get('x-session-id')).toBe('run-1:agent-a1');
    // Gateway B never saw either request: it reads both from the cluster, where A's writes land after the reply.
    const read = async (id: string) => (await fetch(`${b.url}/sessions/${encodeURIComponent(id)}`)).json() as Promise<any>;
    await expect.poll(async () => (await read('run-1')).children?.length).toBe(1);
    const top = await read('run-1');
    expect(top.children[0].split('~')[0]).toBe('run-1:agent-a1');
    expect((await read(top.children[0])).parent_session_id).toBe(top.session.id);
  });
});

describe('a redis-cluster:// connection', () => {
  it('reads every seed with its port and the credentials; an unreachable cluster is named by its seeds, never the password', async () => {
    const client = redisClient('redis-cluster://ops:s3cr%40t@10.0.0.5:7000,10.0.0.6:7001,[::1]:7002,cache', 1000) as Cluster;
    expect(client).toBeInstanceOf(Cluster);
    // ioredis keeps the seeds in a private field: read it to see what the URL became.
    expect((client as unknown as { startupNodes: unknown }).startupNodes).toEqual([
      { host: '10.0.0.5', port: 7000 },
      { host: '10.0.0.6', port: 7001 },
      { host: '::1', port: 7002 },
      { host: 'cache', port: 6379 },
    ]);
    expect(client.options.redisOptions).toMatchObject({ username: 'ops', password: 's3cr@t' });
    client.disconnect();
    const closed = 'redis-cluster://ops:s3cret@127.0.0.1:1,127.0.0.1:2';
    const message = (await connectOrExplain(redisClient(closed, 1000), closed).catch((err: Error) => err.message)) as string;
    expect(message).toMatch(/^redis at 127\.0\.0\.1:1,127\.0\.0\.1:2 is unreachable: /);
    expect(message).not.toContain('s3cret');
  });
});

describe('a master restarted mid-traffic', () => {
  it('loses no request and no session', async () => {
    // Every key of a deployment carries the `{prefix}` hash tag, so one master holds them all: restart that
    // one, a seed of the URL (the gateways' clients were connected to it).
    const master = cluster.ports[0];
    const prefix = await prefixOn(master);
    const [a, b] = [await gateway(prefix, 1000), await gateway(prefix, 1000)];
    const clients = [new GatewayClient(a), new GatewayClient(b)];
    const busy = Array.from({ length: 4 }, (_, i) => ({ chat: new Conversation(clients[i % 2], { stream: i >= 2 }), on: i % 2 }));
    // Not touched after the restart except by a gateway that has never seen it: only the cluster remembers it.
    const quiet = new Conversation(clients[0], { stream: false });
    let turn = 0;
    /** One turn of every busy conversation at once; `hop` sends each to the other gateway than last time. */
    const round = async (hop: boolean) => {
      await Promise.all(
        busy.map((conversation, i) => {
          if (hop) conversation.on = 1 - conversation.on;
          return conversation.chat.via(clients[conversation.on]).say(`turn ${turn} of conversation ${i}`, { reply: `r${turn}.${i}` });
        }),
      );
      turn++;
    };
    await round(false);
    await round(true);
    await quiet.say('before the restart', { reply: 'quiet one' });
    await quiet.via(clients[1]).say('still before the restart', { reply: 'quiet two' });

    // While the master is away a gateway can only link what it served itself (its replies are not in the
    // store, and another gateway finds the store's older copy at best), so each conversation stays where it
    // is, as behind a load balancer with sticky sessions.
    const stopped = cluster.stopMaster(master);
    await round(false); // racing the shutdown
    await stopped;
    await round(false); // the master is down: requests are decided locally and let through by the rate limit
    await round(false);
    // The store's failures are counted, not hidden. Polled: ioredis retries a failed command on another
    // route for a second or so (longer for an auto-pipelined batch) before it gives up, and the requests did
    // not wait for that (lookups and held replies are bounded by timeout_ms).
    await expect
      .poll(async () => Number((await persistence(a)).errors) + Number((await persistence(b)).errors), { timeout: 5_000, interval: 100 })
      .toBeGreaterThan(0);

    await cluster.startMaster(master);
    await round(false); // each gateway writes its latest state to the master that came back
    await round(true); // and the other gateway finds it there
    await round(true);
    for (const [i, conversation] of busy.entries()) {
      expect(conversation.chat.turns, `conversation ${i}`).toHaveLength(turn);
      expect(new Set(conversation.chat.sessionIds).size, `conversation ${i}`).toBe(1);
    }
    // Both gateways found their way back to the restarted master by themselves.
    await expect.poll(async () => [(await persistence(a)).healthy, (await persistence(b)).healthy]).toEqual([true, true]);

    // The restarted master came back with its data (append-only file): a gateway that never saw the quiet
    // conversation continues it in its session, and the cluster still holds every session.
    const fresh = await gateway(prefix, 1000);
    await quiet.via(new GatewayClient(fresh)).say('after the restart', { reply: 'quiet three' });
    expect(new Set(quiet.sessionIds).size).toBe(1);
    expect(await persistence(fresh)).toMatchObject({ lookup_hits: 1, errors: 0 });
    const admin = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] }]);
    try {
      expect(await admin.zcard(`{${prefix}}recent`)).toBe(busy.length + 1);
    } finally {
      admin.disconnect();
    }
  });
});
