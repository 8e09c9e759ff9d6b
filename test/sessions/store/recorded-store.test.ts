import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/sessions/store/memory-store.js';
import { RecordedStore } from '../../../src/sessions/store/recorded-store.js';
import { indexKey, type SessionState, type SessionStore } from '../../../src/sessions/store/types.js';
import { blankState, storeContract } from './contract.js';

const contractState = (key: string): SessionState => blankState(key, { createdAt: 1000 });

// A hot store with a record beside it is still a store: the same contract holds.
storeContract(
  'memory with a memory record',
  async (limits) => {
    const store = new RecordedStore(new MemoryStore(limits), new MemoryStore(limits));
    await store.open();
    return { store, another: async () => store, cleanup: () => store.close() };
  },
  { durable: false },
);

describe('a recorded store', () => {
  it('answers lookups at once when its hot store can (file, memory), and never asks the record', async () => {
    const limits = { maxSessions: 10, ttlMs: 60_000 };
    const hot = new MemoryStore(limits);
    const record = new MemoryStore(limits);
    const store = new RecordedStore(hot, record);
    const state = { ...contractState('s1'), replies: [{ keys: ['aa01'], position: 1, prev: 7, followUp: 0xffff }] };
    await store.save({ state, lastSeen: 1000, delta: { requests: 1, inputTokens: 1, outputTokens: 1, costUsd: 0 } }, 1000);
    await record.delete('s1'); // the record no longer has it: an answer can only come from the hot store
    expect(store.lookupNow?.([indexKey.reply('aa01')], 1001).map((s) => s.state.id)).toEqual(['s1']);
    // Over a hot store that has no answer at once (Redis, Postgres), it has none either.
    expect(new RecordedStore({ backend: 'redis' } as SessionStore, record).lookupNow).toBeUndefined();
    await store.close();
  });
});
