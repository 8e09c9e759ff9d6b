import { MemoryStore } from '../../../src/sessions/store/memory-store.js';
import { RecordedStore } from '../../../src/sessions/store/recorded-store.js';
import { storeContract } from './contract.js';

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
