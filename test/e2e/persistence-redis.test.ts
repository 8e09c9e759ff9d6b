// Replicas sharing sessions through a real Redis: two gateway processes, one conversation alternating
// between them; Redis stopped mid-traffic; Redis down at start.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { configFile, gatewayProcesses, runGatewayToExit, type GatewayProcess } from '../helpers/gateway-process.js';
import { startRedis } from '../helpers/redis-server.js';
import { Conversation, GatewayClient } from './helpers.js';

const processes = gatewayProcesses();

function yaml(type: 'openai' | 'anthropic', redisUrl: string, prefix: string, extra = ''): string {
  return (
    `server: {host: 127.0.0.1, port: 0}\nllm: {type: ${type}, base_url: "${processes.simUrl()}", api_key: sk-test}\n` +
    `session:\n  persistence: {enabled: true, backend: redis, connection: "${redisUrl}", key_prefix: "${prefix}", timeout_ms: 1000}\n${extra}` +
    `logging: {level: debug, format: json}\n`
  );
}

const gateway = (config: string, type: 'openai' | 'anthropic' = 'openai') => processes.start(config, type);

async function persistence(gw: GatewayProcess): Promise<Record<string, unknown>> {
  return ((await (await fetch(`${gw.url}/metrics`)).json()) as { persistence: Record<string, unknown> }).persistence;
}

describe('two gateways sharing one Redis', () => {
  for (const { type, stream } of [
    { type: 'openai', stream: false },
    { type: 'anthropic', stream: true },
  ] as const) {
    it(`keeps one session while a conversation alternates between them (${type} ${stream ? 'streamed' : 'JSON'})`, async () => {
      const { url } = await startRedis();
      const config = await configFile(yaml(type, url, `e2e-${randomUUID()}:`));
      const [a, b] = await Promise.all([gateway(config, type), gateway(config, type)]);
      const viaA = new GatewayClient(a.asStack());
      const viaB = new GatewayClient(b.asStack());
      const chat = new Conversation(viaA, { stream });
      const other = new Conversation(viaB, { stream });
      for (let turn = 0; turn < 6; turn++) {
        await chat.via(turn % 2 ? viaB : viaA).say(`turn ${turn} of the shared conversation`, { reply: `shared reply ${turn}` });
        await other.via(turn % 2 ? viaA : viaB).say(`turn ${turn} of another conversation`, { reply: `other reply ${turn}` });
      }
      expect(new Set(chat.sessionIds).size).toBe(1);
      expect(new Set(other.sessionIds).size).toBe(1);
      expect(chat.sessionIds[0]).not.toBe(other.sessionIds[0]);
      const [fromA, fromB] = [await persistence(a), await persistence(b)];
      expect(fromA).toMatchObject({ backend: 'redis', healthy: true, errors: 0 });
      expect(Number(fromA.lookup_hits) + Number(fromB.lookup_hits)).toBeGreaterThanOrEqual(10); // every hop found the other's state
    });
  }

  it('costs each request at most one store round trip: one script to look up (on a local miss), one to write', async () => {
    const redis = await startRedis({ fresh: true });
    try {
      const config = await configFile(yaml('openai', redis.url, 'rt:'));
      const [a, b] = await Promise.all([gateway(config), gateway(config)]);
      const { Redis } = await import('ioredis');
      const admin = new Redis(redis.url);
      // MONITOR shows every command the gateways send, and marks those a script ran inside Redis as "lua".
      const monitor = await admin.monitor();
      const sent: string[] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua') sent.push(String(args[0]).toLowerCase());
      });
      const clients = [new GatewayClient(a.asStack()), new GatewayClient(b.asStack())];
      const chat = new Conversation(clients[0], { stream: false });
      for (let turn = 0; turn < 6; turn++) await chat.via(clients[turn % 2]).say(`turn ${turn}`, { reply: `reply ${turn}` });
      expect(new Set(chat.sessionIds).size).toBe(1);
      const [fromA, fromB] = [await persistence(a), await persistence(b)];
      const lookups = Number(fromA.lookups) + Number(fromB.lookups);
      const saves = Number(fromA.saves) + Number(fromB.saves);
      expect([lookups, saves]).toEqual([5, 6]); // the first turn has nothing to look up; every other turn hops
      // Redis received exactly those scripts and no other command: nothing is read or written key by key.
      await expect.poll(() => sent.filter((name) => name.startsWith('eval')).length).toBe(lookups + saves);
      expect(sent.filter((name) => !name.startsWith('eval'))).toEqual([]);
      monitor.disconnect();
      admin.disconnect();
    } finally {
      await redis.stop();
    }
  });

  it('holds max_sessions across the fleet', async () => {
    const { url } = await startRedis();
    const prefix = `e2e-${randomUUID()}:`;
    const config = await configFile(yaml('openai', url, prefix, '  max_sessions: 3\n'));
    const [a, b] = await Promise.all([gateway(config), gateway(config)]);
    const clients = [new GatewayClient(a.asStack()), new GatewayClient(b.asStack())];
    for (let i = 0; i < 6; i++) await new Conversation(clients[i % 2], { stream: false }).say(`conversation ${i}`, { reply: `reply ${i}` });
    const { Redis } = await import('ioredis');
    const admin = new Redis(url);
    // Writes are sent as the reply ends: once all six are in, three sessions remain for the whole fleet.
    await expect.poll(async () => await admin.zcard(`{${prefix}}recent`), { timeout: 5000 }).toBe(3);
    admin.disconnect();
  });
});

describe('a Redis that fails', () => {
  it('loses no request when Redis stops mid-traffic, counts it, and recovers by itself', async () => {
    const redis = await startRedis({ fresh: true });
    const gw = await gateway(await configFile(yaml('openai', redis.url, 'down:')));
    const client = new GatewayClient(gw.asStack());
    const chat = new Conversation(client, { stream: false });
    await chat.say('before the outage', { reply: 'reply one' });
    await redis.stop();
    const during = await Promise.all(
      Array.from({ length: 10 }, (_, i) => new Conversation(client, { stream: i % 2 === 1 }).say(`during ${i}`, { reply: `r${i}` })),
    );
    expect(during.every((sent) => sent.sessionId)).toBe(true);
    await chat.say('during the outage', { reply: 'reply two' }); // this gateway knows the conversation itself
    expect(new Set(chat.sessionIds).size).toBe(1);
    const down = await persistence(gw);
    expect(down).toMatchObject({ healthy: false });
    expect(Number(down.errors)).toBeGreaterThan(0);
    expect(gw.logs.some((line) => line.msg === 'session store failed: sessions are decided locally until it is back')).toBe(true);

    await redis.restart();
    // ioredis reconnects by itself; the next writes go through and the store is healthy again.
    await expect
      .poll(
        async () => {
          await chat.say('after the outage', { reply: `reply ${chat.turns.length + 1}` });
          return (await persistence(gw)).healthy;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true);
    expect(new Set(chat.sessionIds).size).toBe(1);
    await redis.stop();
  });

  it('refuses to start when Redis is down, saying which address failed', async () => {
    const redis = await startRedis({ fresh: true });
    await redis.stop(); // a port that was Redis a moment ago
    const outcome = await runGatewayToExit(await configFile(yaml('openai', redis.url.replace('redis://', 'redis://user:hunter2@'), 'x:')));
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(/session persistence \(redis\) could not start: redis at 127\.0\.0\.1:\d+ is unreachable/);
    expect(outcome.stderr + outcome.stdout).not.toContain('hunter2');
  });
});
