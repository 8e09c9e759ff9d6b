import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../../src/sessions/store/redis-store.js';
import type { SessionStore, StoreLimits } from '../../../src/sessions/store/types.js';
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
