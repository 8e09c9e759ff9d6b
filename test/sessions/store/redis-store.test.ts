import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../../src/sessions/store/redis-store.js';
import type { SessionState, SessionStore, SessionWrite, StoreLimits } from '../../../src/sessions/store/types.js';
import { indexKey } from '../../../src/sessions/store/types.js';
import { RedisWork } from '../../helpers/redis-commands.js';
import { startRedis } from '../../helpers/redis-server.js';
import { storeContract } from './contract.js';

async function opened(limits: StoreLimits, connection: string, keyPrefix: string): Promise<RedisStore> {
  const store = new RedisStore(limits, { connection, keyPrefix, commandTimeoutMs: 2000 });
  await store.open();
  return store;
}

storeContract(
  'redis',
  async (limits) => {
    const { url } = await startRedis();
    const prefix = `test-${randomUUID()}:`;
    const clients: SessionStore[] = [await opened(limits, url, prefix)];
    return {
      store: clients[0],
      another: async () => {
        clients.push(await opened(limits, url, prefix));
        return clients.at(-1)!;
      },
      reopen: async () => {
        await Promise.all(clients.splice(0).map((c) => c.close()));
        clients.push(await opened(limits, url, prefix));
        return clients[0];
      },
      cleanup: async () => {
        const admin = new Redis(url);
        const keys = await admin.keys(`{${prefix}}*`);
        if (keys.length) await admin.del(...keys);
        admin.disconnect();
        await Promise.all(clients.map((c) => c.close()));
      },
    };
  },
  { durable: true },
);

describe('redis store', () => {
  it('says clearly when the server cannot be reached, without the password', async () => {
    const store = new RedisStore({ maxSessions: 10, ttlMs: 1000 }, { connection: 'redis://user:hunter2@127.0.0.1:1', keyPrefix: 'x:', commandTimeoutMs: 500 });
    const failure = await store.open().then(
      () => null,
      (err: Error) => err,
    );
    expect(failure?.message).toMatch(/^redis at 127\.0\.0\.1:1 is unreachable: /);
    expect(failure?.message).not.toContain('hunter2');
  });

  it('fails commands at once while the server is down, and works again when it is back', async () => {
    const server = await startRedis({ fresh: true });
    const store = await opened({ maxSessions: 10, ttlMs: 60_000 }, server.url, 'down:');
    await server.stop();
    await expect(store.lookup(['k:x'], Date.now())).rejects.toThrow();
    await server.restart();
    await expect
      .poll(
        () =>
          store.lookup(['k:x'], Date.now()).then(
            () => 'up',
            () => 'down',
          ),
        { timeout: 10_000, interval: 50 },
      )
      .toBe('up');
    await store.close();
    await server.stop();
  });
});

const T0 = 1_700_000_000_000;

/** A store on a Redis server of its own, with a count of the commands Redis ran; all closed after `test`. */
async function onFreshServer(prefix: string, limits: StoreLimits, test: (store: RedisStore, work: RedisWork, url: string) => Promise<void>): Promise<void> {
  const server = await startRedis({ fresh: true });
  const work = new RedisWork(server.url);
  const store = await opened(limits, server.url, prefix);
  try {
    await test(store, work, server.url);
  } finally {
    work.close();
    await store.close();
    await server.stop();
  }
}

/** A session after `turns` replies: its id, two recent replies, the first one as anchor, a loose form. */
function turnState(key: string, turns: number): SessionState {
  const replies = [turns - 2, turns - 1].filter((t) => t >= 0).map((t) => ({ keys: [`${key}r${t}`], position: 2 * t + 1, prev: 7, followUp: 0xffff }));
  return {
    id: key,
    key,
    rule: 'first',
    createdAt: T0,
    messageCount: 2 * turns,
    latestPosition: 2 * turns - 1,
    sketch: [1, 2, 3],
    replies,
    anchor: { key: `${key}r0`, position: 1 },
    loose: `${key}l${turns}`,
    paragraphs: [],
    responses: [],
    topic: null,
  };
}
const turnWrite = (key: string, turns: number): SessionWrite => ({
  state: turnState(key, turns),
  lastSeen: T0 + turns,
  delta: { requests: 1, inputTokens: 100, outputTokens: 20, costUsd: 0.001 },
});

describe('redis store: what a write costs Redis', () => {
  // Every command a script runs is Redis CPU on every reply of the fleet: these counts are the budget, and
  // a change that adds commands (or round trips) to the hot path has to change them knowingly.
  it('a new session is one script of 14 commands; a follow-up one script that ranks its keys again', async () => {
    await onFreshServer('cost:', { maxSessions: 100, ttlMs: 60_000 }, async (store, work) => {
      await store.save(turnWrite('s1', 1), T0); // loads the script on this connection (EVAL once)
      await work.reset();
      await store.save(turnWrite('s2', 1), T0 + 1);
      // Index keys k:s2, r:s2r0, a:s2r0, l:s2l1 (the first reply is also the anchor: one set each).
      expect(await work.commands()).toEqual({ evalsha: 1, hmget: 1, pexpire: 5, hset: 1, zadd: 5, zrangebyscore: 1, zcard: 1 });
      await work.reset();
      await store.save(turnWrite('s2', 2), T0 + 2);
      // Kept: k:s2, r:s2r0, a:s2r0; new: r:s2r1, l:s2l2; gone: l:s2l1. Every key it has is ranked again at
      // its new last_seen; the gone one leaves both its ordered set and the old unordered one.
      expect(await work.commands()).toEqual({ evalsha: 1, hmget: 1, zrem: 1, srem: 1, pexpire: 6, hset: 1, zadd: 6, zrangebyscore: 1, zcard: 1 });
      expect(await store.get('s2', T0 + 3)).toMatchObject({ requests: 2, inputTokens: 200, outputTokens: 40, costUsd: 0.002, lastSeen: T0 + 2 });
      expect((await store.lookup([indexKey.loose('s2l1')], T0 + 3)).length).toBe(0);
      expect((await store.lookup([indexKey.reply('s2r1')], T0 + 3)).map((s) => s.state.id)).toEqual(['s2']);
    });
  });

  it('sends the writes of one event-loop turn as one script call, applied as if each went alone', async () => {
    await onFreshServer('turn:', { maxSessions: 100, ttlMs: 60_000 }, async (store, work) => {
      await store.save(turnWrite('warm', 1), T0);
      await work.reset();
      // 20 new sessions and a second write of one of them, all in one turn.
      await Promise.all([...Array.from({ length: 20 }, (_, i) => store.save(turnWrite(`s${i}`, 1), T0)), store.save(turnWrite('s3', 2), T0 + 2)]);
      const calls = await work.commands();
      expect(calls.evalsha).toBe(1);
      expect(calls.zcard).toBe(1); // bounds enforced once per call
      expect(await store.get('s3', T0 + 3)).toMatchObject({ requests: 2, lastSeen: T0 + 2 });
      expect((await store.list(T0 + 3, 100)).length).toBe(21);
    });
  });

  it('keeps exact cost sums in the hash (doubles written back exactly)', async () => {
    await onFreshServer('sum:', { maxSessions: 100, ttlMs: 60_000 }, async (store) => {
      const write = (i: number, costUsd: number): SessionWrite => ({
        ...turnWrite('s', 1),
        lastSeen: T0 + i,
        delta: { requests: 1, inputTokens: 1, outputTokens: 1, costUsd },
      });
      let expected = 0;
      for (const [i, cost] of [0.1, 0.2, 0.000015, 1e-9, 3].entries()) {
        await store.save(write(i, cost), T0 + i);
        expected += cost;
      }
      expect((await store.get('s', T0 + 10))?.costUsd).toBe(expected);
    });
  });
});

describe('redis store: lookups under a key many sessions share', () => {
  /** `count` sessions filed under one reply key (traffic made to share it), each also under its own. */
  async function crowd(store: RedisStore, count: number): Promise<void> {
    for (let from = 0; from < count; from += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, count - from) }, (_, i) => {
          const key = `s${from + i}`;
          const write: SessionWrite = { ...turnWrite(key, 1), lastSeen: T0 + from + i };
          write.state.replies = [{ keys: ['hot01', `${key}r0`], position: 1, prev: 7, followUp: 0xffff }];
          return store.save(write, T0 + from + i);
        }),
      );
    }
  }

  it('reads only the most recently seen sessions of the key, not all 2,000 (a script blocks Redis while it runs)', async () => {
    await onFreshServer('crowd:', { maxSessions: 10_000, ttlMs: 60_000 }, async (store, work) => {
      await crowd(store, 2000);
      await work.reset();
      const found = await store.lookup([indexKey.reply('hot01')], T0 + 3000);
      expect(found.map((session) => session.state.id)).toEqual(Array.from({ length: 32 }, (_, i) => `s${1999 - i}`));
      expect((await work.commands()).hmget).toBe(32);
    });
  });

  it('still finds sessions filed by an earlier version in its unordered sets, reading a bounded sample of them', async () => {
    await onFreshServer('legacy:', { maxSessions: 10_000, ttlMs: 60_000 }, async (store, work, url) => {
      const admin = new Redis(url);
      try {
        await crowd(store, 200);
        // As an earlier version left them: the key's sessions in an unordered set, no ordered one.
        const members = await admin.zrange('{legacy:}rix:r:hot01', '0', '-1');
        await admin.del('{legacy:}rix:r:hot01');
        await admin.sadd('{legacy:}idx:r:hot01', ...members);
        await work.reset();
        const found = await store.lookup([indexKey.reply('hot01')], T0 + 300);
        expect(found).toHaveLength(32);
        expect((await work.commands()).hmget).toBe(32);
      } finally {
        admin.disconnect();
      }
    });
  });
});
