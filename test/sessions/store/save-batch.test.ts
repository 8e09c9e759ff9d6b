// Group commit of session writes, with a fake statement whose completion each test controls: what leaves
// together, when, in what order, and what a failed batch does to the writes in it.
import { describe, expect, it } from 'vitest';
import { merge, SaveBatcher, type QueuedSave } from '../../../src/sessions/store/save-batch.js';
import type { SessionWrite } from '../../../src/sessions/store/types.js';
import { blankState } from './contract.js';

function write(key: string, messageCount = 2, lastSeen = 1000, requests = 1): SessionWrite {
  const state = blankState(key, { messageCount, latestPosition: messageCount - 1 });
  return { state, lastSeen, delta: { requests, inputTokens: 10 * requests, outputTokens: 5 * requests, costUsd: 0.25 * requests } };
}

/** A statement per batch, left pending until the test settles it. */
function fakeStatements() {
  const sent: { batch: QueuedSave[]; resolve(): void; reject(err: Error): void }[] = [];
  const send = (batch: QueuedSave[]) => new Promise<void>((resolve, reject) => sent.push({ batch, resolve, reject }));
  const keys = (i: number) => sent[i].batch.map((queued) => queued.write.state.key);
  return { sent, send, keys };
}

/** Lets the batcher's end-of-turn send (setImmediate) and the promise callbacks after it run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('save batches', () => {
  it('sends the writes of one event-loop turn at its end, as one batch, without waiting for a timer', async () => {
    const { sent, send, keys } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 2, maxBatch: 100 });
    const saved = ['a', 'b', 'c'].map((key) => batcher.save(write(key), 1000));
    expect(sent).toHaveLength(0); // not yet: the rest of this turn may add writes
    await turn();
    expect(sent).toHaveLength(1);
    expect(keys(0)).toEqual(['a', 'b', 'c']);
    sent[0].resolve();
    await Promise.all(saved);
    expect(batcher.stats()).toEqual({ batches: 1, writes: 3, merged: 0, queued: 0 });
  });

  it('holds writes while every slot is out and sends what queued up in one batch when one frees', async () => {
    const { sent, send, keys } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 1, maxBatch: 100 });
    const first = batcher.save(write('a'), 1000);
    await turn();
    const later = ['b', 'c', 'd'].map((key) => batcher.save(write(key), 1000));
    await turn();
    expect(sent).toHaveLength(1); // the slot is taken: b, c and d wait
    let settled = 0;
    for (const saving of later) void saving.then(() => settled++);
    sent[0].resolve();
    await first;
    await turn();
    expect(sent).toHaveLength(2);
    expect(keys(1)).toEqual(['b', 'c', 'd']);
    expect(settled).toBe(0); // a write settles with its own batch, not before
    sent[1].resolve();
    await Promise.all(later);
    expect(settled).toBe(3);
  });

  it('splits at maxBatch (a statement has a size)', async () => {
    const { sent, send, keys } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 3, maxBatch: 2 });
    const saved = ['a', 'b', 'c', 'd', 'e'].map((key) => batcher.save(write(key), 1000));
    await turn();
    expect(sent.map((_, i) => keys(i))).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    for (const statement of sent) statement.resolve();
    await Promise.all(saved);
  });

  it('merges writes of one session that meet in the queue: latest state, counters added, every caller settled', async () => {
    const { sent, send } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 1, maxBatch: 100 });
    const saved = [batcher.save(write('s', 2, 1000), 1000), batcher.save(write('s', 4, 900), 1100), batcher.save(write('s', 6, 1200), 1050)];
    await turn();
    expect(sent).toHaveLength(1);
    const [only] = sent[0].batch;
    expect(sent[0].batch).toHaveLength(1);
    expect(only.write.state.messageCount).toBe(6);
    expect(only.write.lastSeen).toBe(1200);
    expect(only.write.delta).toEqual({ requests: 3, inputTokens: 30, outputTokens: 15, costUsd: 0.75 });
    expect(only.now).toBe(1100);
    sent[0].resolve();
    await Promise.all(saved);
    expect(batcher.stats()).toMatchObject({ batches: 1, writes: 1, merged: 2 });
  });

  it("never sends a session's write while its previous one is out: writes reach the store in order", async () => {
    const { sent, send, keys } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 2, maxBatch: 100 });
    const first = batcher.save(write('s', 2), 1000);
    await turn();
    const second = batcher.save(write('s', 4), 1001);
    const other = batcher.save(write('t'), 1001);
    await turn();
    expect(sent.map((_, i) => keys(i))).toEqual([['s'], ['t']]); // the second slot went to t; s waits
    sent[1].resolve();
    await other;
    await turn();
    expect(sent).toHaveLength(2);
    sent[0].resolve();
    await first;
    await turn();
    expect(sent.map((_, i) => keys(i))).toEqual([['s'], ['t'], ['s']]);
    expect(sent[2].batch[0].write.state.messageCount).toBe(4);
    sent[2].resolve();
    await second;
  });

  it('rejects every write of a failed batch, and goes on with the next ones', async () => {
    const { sent, send } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 1, maxBatch: 100 });
    const failing = [batcher.save(write('a'), 1000), batcher.save(write('b'), 1000)];
    await turn();
    const next = batcher.save(write('c'), 1000);
    sent[0].reject(new Error('connection refused'));
    for (const saving of failing) await expect(saving).rejects.toThrow('connection refused');
    await turn();
    expect(sent).toHaveLength(2);
    sent[1].resolve();
    await expect(next).resolves.toBeUndefined();
  });

  it('flush sends what is queued and waits for every batch out (shutdown)', async () => {
    const { sent, send } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 1, maxBatch: 100 });
    void batcher.save(write('a'), 1000);
    await turn();
    void batcher.save(write('b'), 1000);
    let flushed = false;
    const flushing = batcher.flush().then(() => (flushed = true));
    await turn();
    expect(flushed).toBe(false);
    sent[0].resolve();
    await turn();
    expect(sent).toHaveLength(2);
    expect(flushed).toBe(false);
    sent[1].resolve();
    await flushing;
    expect(batcher.stats()).toMatchObject({ batches: 2, writes: 2, queued: 0 });
  });

  it('idle(key) waits for the queued and outgoing writes of that session only, failed ones included', async () => {
    const { sent, send } = fakeStatements();
    const batcher = new SaveBatcher(send, { maxInFlight: 1, maxBatch: 100 });
    await batcher.idle('s'); // nothing pending: at once
    void batcher.save(write('s'), 1000).catch(() => undefined);
    await turn();
    void batcher.save(write('s', 4), 1001).catch(() => undefined);
    let idle = false;
    const waiting = batcher.idle('s').then(() => (idle = true));
    sent[0].reject(new Error('down'));
    await turn();
    expect(idle).toBe(false); // the second write is out now
    sent[1].resolve();
    await waiting;
    expect(idle).toBe(true);
  });
});

describe('merge', () => {
  it('ends where the two writes applied one after the other would', () => {
    const merged = merge(write('s', 2, 2000, 1), write('s', 4, 1500, 2));
    expect(merged).toEqual({ ...write('s', 4, 2000, 3), delta: { requests: 3, inputTokens: 30, outputTokens: 15, costUsd: 0.75 } });
  });
});
