import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStore } from '../../../src/sessions/store/file-store.js';
import type { StoreLimits } from '../../../src/sessions/store/types.js';
import { storeContract } from './contract.js';

const limits: StoreLimits = { maxSessions: 100, ttlMs: 60_000 };

storeContract(
  'file',
  async (limits) => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    let store = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await store.open();
    return {
      store,
      another: async () => store, // one gateway per directory (the lock): the fleet here is one process
      reopen: async () => {
        await store.close();
        store = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
        await store.open();
        return store;
      },
      cleanup: async () => {
        await store.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  },
  { durable: true },
);

const write = (key: string, lastSeen: number) => ({
  state: {
    id: key,
    key,
    rule: 'first' as const,
    createdAt: 1,
    messageCount: 2,
    latestPosition: 1,
    sketch: [1],
    replies: [{ keys: [`${key}00`], position: 1, prev: 1, followUp: 0xffff }],
    anchor: null,
    loose: null,
    paragraphs: [],
    responses: [],
    topic: null,
  },
  lastSeen,
  delta: { requests: 1, inputTokens: 0, outputTokens: 0, costUsd: 0 },
});

describe('file store', () => {
  it('recovers from a crash: flushed changes survive, a torn last line is skipped', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    const crashed = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await crashed.open();
    await crashed.save(write('kept', 1000), 1000);
    await crashed.flush();
    await crashed.save(write('lost', 1000), 1000); // never flushed: the process dies now
    await appendFile(join(directory, 'journal.jsonl'), '{"s":{"state":{"id":"tor'); // an append cut short
    // No close(): a crash leaves the lock behind, naming a process that no longer runs.
    await writeFile(join(directory, 'LOCK'), '999999999');

    const restarted = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await restarted.open();
    expect(restarted.skippedLines).toBe(1);
    expect(await restarted.get('kept', 1001)).toMatchObject({ requests: 1 });
    expect(await restarted.get('lost', 1001)).toBeUndefined();
    expect((await restarted.lookup(['r:kept00'], 1001)).map((s) => s.state.id)).toEqual(['kept']);
    await restarted.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('survives a failing disk: the failed append is counted and its lines are written once it works again', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    const store = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await store.open();
    const journal = join(directory, 'journal.jsonl');
    await rm(journal, { force: true });
    await mkdir(journal); // appends to a directory fail (EISDIR)
    await store.save(write('kept', 1000), 1000);
    await expect(store.flush()).rejects.toThrow();
    expect(store.writeErrors).toBe(1);
    await rm(journal, { recursive: true });
    await store.flush();
    expect(await readFile(journal, 'utf8')).toContain('"kept"');
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('journals each session once per interval, in its latest state, serialised at flush time', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    const store = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await store.open();
    for (let turn = 0; turn < 6; turn++) await store.save(write('chat', 1000 + turn), 1000 + turn);
    await store.save(write('other', 2000), 2000);
    await store.delete('other');
    await store.flush();
    const lines = (await readFile(join(directory, 'journal.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ s: expect.objectContaining({ requests: 6, lastSeen: 1005 }) }, { d: 'other' }]);
    await store.close();
    const reopened = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await reopened.open();
    expect(await reopened.get('chat', 1006)).toMatchObject({ requests: 6 });
    expect(await reopened.get('other', 1006)).toBeUndefined();
    await reopened.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('replays evictions: a session evicted at max_sessions stays gone after a delete, a failed write or a larger bound', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    const bounded: StoreLimits = { maxSessions: 2, ttlMs: 60_000 };
    const store = new FileStore(bounded, { directory, flushIntervalMs: 10_000 });
    await store.open();
    const journal = join(directory, 'journal.jsonl');
    await rm(journal, { force: true });
    await mkdir(journal); // the first append fails (EISDIR): its lines go again, in order, at the next flush
    await store.save(write('a', 1000), 1000);
    await store.save(write('b', 1001), 1001);
    await expect(store.flush()).rejects.toThrow();
    await rm(journal, { recursive: true });
    await store.save(write('c', 1002), 1002); // evicts a
    await store.delete('c');
    await store.save(write('d', 1003), 1003);
    await store.flush();
    expect((await store.list(2000, 10)).map((s) => s.state.id)).toEqual(['d', 'b']);
    // A crash, not a close (which would fold the journal into a snapshot): the restart replays the journal,
    // here with room for more sessions than before.
    await writeFile(join(directory, 'LOCK'), '999999999');
    const reopened = new FileStore({ maxSessions: 10, ttlMs: 60_000 }, { directory, flushIntervalMs: 10_000 });
    await reopened.open();
    expect((await reopened.list(2000, 10)).map((s) => s.state.id)).toEqual(['d', 'b']);
    await reopened.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('takes over a lock naming its own pid left by an earlier run (a container restart reuses pids)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    await writeFile(join(directory, 'LOCK'), String(process.pid));
    const store = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await store.open();
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('refuses a directory another live gateway holds', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    const first = new FileStore(limits, { directory, flushIntervalMs: 10_000 });
    await first.open();
    await expect(new FileStore(limits, { directory, flushIntervalMs: 10_000 }).open()).rejects.toThrow(/in use by process/);
    await first.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('folds a long journal into a snapshot and keeps the LRU order', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-file-store-'));
    const store = new FileStore({ maxSessions: 3, ttlMs: 60_000 }, { directory, flushIntervalMs: 10_000 });
    await store.open();
    for (let i = 0; i < 1100; i++) await store.save(write(`s${i % 4}`, 1000 + i), 1000 + i);
    await store.flush();
    expect((await readFile(join(directory, 'journal.jsonl'), 'utf8')).split('\n').length).toBeLessThan(200);
    await store.close();
    const reopened = new FileStore({ maxSessions: 3, ttlMs: 60_000 }, { directory, flushIntervalMs: 10_000 });
    await reopened.open();
    expect((await reopened.list(3000, 10)).map((s) => s.state.id)).toEqual(['s3', 's2', 's1']);
    await reopened.save(write('new', 3000), 3000); // the least recent (s1) makes room
    expect(await reopened.get('s1', 3000)).toBeUndefined();
    await reopened.close();
    await rm(directory, { recursive: true, force: true });
  });
});
