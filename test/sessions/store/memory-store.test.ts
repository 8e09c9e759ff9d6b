import { MemoryStore } from '../../../src/sessions/store/memory-store.js';
import { storeContract } from './contract.js';

storeContract(
  'memory',
  async (limits) => {
    const store = new MemoryStore(limits);
    return { store, another: async () => store, cleanup: () => store.close() };
  },
  { durable: false },
);
