import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/sessions/store/memory-store.js';
import { indexKey } from '../../../src/sessions/store/types.js';
import { blankState, storeContract } from './contract.js';

const T0 = 1_700_000_000_000;

storeContract(
  'memory',
  async (limits) => {
    const store = new MemoryStore(limits);
    return { store, another: async () => store, cleanup: () => store.close() };
  },
  { durable: false },
);

describe('memory store: a key many sessions share', () => {
  /** Counts the sessions a lookup reads (the store's own map is protected: a subclass sees it). */
  class CountingStore extends MemoryStore {
    reads = 0;
    constructor() {
      super({ maxSessions: 10_000, ttlMs: 60_000 });
      const peek = this.sessions.peek.bind(this.sessions);
      this.sessions.peek = (key, options) => {
        this.reads++;
        return peek(key, options);
      };
    }
  }

  it('reads only the most recently saved sessions of the key, not all 2,000, and returns the most recent', async () => {
    const store = new CountingStore();
    for (let i = 0; i < 2000; i++) {
      const state = blankState(`s${i}`, { replies: [{ keys: ['hot01', `s${i}01`], position: 1, prev: 7, followUp: 0xffff }] });
      await store.save({ state, lastSeen: T0 + i, delta: { requests: 1, inputTokens: 0, outputTokens: 0, costUsd: 0 } }, T0 + i);
    }
    // An old session saved again is the most recent under the key.
    await store.save(
      {
        state: blankState('s5', { replies: [{ keys: ['hot01'], position: 1, prev: 7, followUp: 0xffff }] }),
        lastSeen: T0 + 5000,
        delta: { requests: 1, inputTokens: 0, outputTokens: 0, costUsd: 0 },
      },
      T0 + 5000,
    );
    store.reads = 0;
    const found = store.lookupNow([indexKey.reply('hot01')], T0 + 6000).map((session) => session.state.id);
    expect(found).toEqual(['s5', ...Array.from({ length: 31 }, (_, i) => `s${1999 - i}`)]);
    expect(store.reads).toBeLessThanOrEqual(32);
  });
});
