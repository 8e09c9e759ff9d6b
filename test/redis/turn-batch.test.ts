// One Redis call per event-loop turn, with a fake call whose completion each test controls.
import { describe, expect, it } from 'vitest';
import { TurnBatch } from '../../src/redis/turn-batch.js';

function fakeCalls() {
  const calls: { items: number[]; resolve(results: string[]): void; reject(err: Error): void }[] = [];
  const call = (items: number[]) => new Promise<string[]>((resolve, reject) => calls.push({ items, resolve, reject }));
  const answer = (i: number) => calls[i].resolve(calls[i].items.map((item) => `r${item}`));
  return { calls, call, answer };
}

/** Lets the end-of-turn send (setImmediate) and the promise callbacks after it run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('turn batch', () => {
  it('sends the operations of one turn as one call at its end, and answers each its own result', async () => {
    const { calls, call, answer } = fakeCalls();
    const batch = new TurnBatch(call, 100);
    const results = [1, 2, 3].map((item) => batch.add(item));
    expect(calls).toHaveLength(0);
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    answer(0);
    expect(await Promise.all(results)).toEqual(['r1', 'r2', 'r3']);
  });

  it('holds what is added while a call is out, and sends it as one call when that one returns', async () => {
    const { calls, call, answer } = fakeCalls();
    const batch = new TurnBatch(call, 100);
    const first = batch.add(1);
    await turn();
    const later = [batch.add(2)];
    await turn();
    later.push(batch.add(3));
    await turn();
    expect(calls).toHaveLength(1);
    answer(0);
    await first;
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    answer(1);
    expect(await Promise.all(later)).toEqual(['r2', 'r3']);
  });

  it('tells each operation when its call leaves, not when it was queued (timeouts measure Redis)', async () => {
    const { calls, call, answer } = fakeCalls();
    const batch = new TurnBatch(call, 100);
    const sent: number[] = [];
    const first = batch.add(1, () => sent.push(1));
    await turn();
    expect(sent).toEqual([1]);
    const second = batch.add(2, () => sent.push(2));
    await turn();
    expect(sent).toEqual([1]); // waiting behind the call that is out
    answer(0);
    await first;
    await turn();
    expect(sent).toEqual([1, 2]);
    expect(calls).toHaveLength(2);
    answer(1);
    expect(await second).toBe('r2');
  });

  it('splits at maxItems, keeping the order', async () => {
    const { calls, call, answer } = fakeCalls();
    const batch = new TurnBatch(call, 2);
    const results = [1, 2, 3, 4, 5].map((item) => batch.add(item));
    await turn();
    answer(0);
    await turn();
    answer(1);
    await turn();
    answer(2);
    expect(await Promise.all(results)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('fails every operation of a failed call, or of one that throws, and goes on', async () => {
    const { calls, call, answer } = fakeCalls();
    let throwing = true;
    const batch = new TurnBatch((items: number[]) => {
      if (throwing) throw new Error('bad argument');
      return call(items);
    }, 100);
    await expect(Promise.all([batch.add(1), batch.add(2)])).rejects.toThrow('bad argument');
    throwing = false;
    const failing = [batch.add(3), batch.add(4)];
    await turn();
    calls[0].reject(new Error('connection lost'));
    for (const result of failing) await expect(result).rejects.toThrow('connection lost');
    const next = batch.add(5);
    await turn();
    answer(1);
    expect(await next).toBe('r5');
  });

  it('flush sends what is queued and waits for the calls out', async () => {
    const { calls, call, answer } = fakeCalls();
    const batch = new TurnBatch(call, 100);
    void batch.add(1);
    await turn();
    void batch.add(2);
    let flushed = false;
    const flushing = batch.flush().then(() => (flushed = true));
    answer(0);
    await turn();
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    expect(flushed).toBe(false);
    answer(1);
    await flushing;
    expect(flushed).toBe(true);
  });
});
