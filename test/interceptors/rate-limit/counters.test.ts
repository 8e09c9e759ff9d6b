// One suite for both counter stores: the same sums, the same all-or-nothing charge, exact under concurrency.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Check } from '../../../src/interceptors/rate-limit/checks.js';
import { MemoryCounters, type CounterStore } from '../../../src/interceptors/rate-limit/memory-counters.js';
import { RedisCounters } from '../../../src/interceptors/rate-limit/redis-counters.js';
import { startRedis } from '../../helpers/redis-server.js';

const T0 = 1_700_000_000_000;
const rpm = (key: string, limit: number, burst = limit): Check => ({
  kind: 'rate',
  name: 'session_requests_per_minute',
  key,
  limit,
  periodMs: 60_000,
  burst,
  cost: 1,
  unit: 'requests',
});
const budget = (key: string, limit: number, cost = 1): Check => ({
  kind: 'budget',
  name: 'session_max_requests',
  key,
  limit,
  periodMs: 3_600_000,
  burst: 0,
  cost,
  unit: 'requests',
});
const tokens = (key: string, limit: number, cost: number): Check => ({
  kind: 'rate',
  name: 'session_tokens_per_hour',
  key,
  limit,
  periodMs: 3_600_000,
  burst: limit,
  cost,
  unit: 'tokens',
});

const stores: Record<string, () => Promise<CounterStore>> = {
  memory: async () => new MemoryCounters(1000, () => T0),
  redis: async () => {
    const counters = new RedisCounters((await startRedis()).url, `test-${randomUUID()}:`, 2000);
    await counters.open();
    return counters;
  },
};

for (const [name, open] of Object.entries(stores)) {
  describe(`rate-limit counters: ${name}`, () => {
    let store: CounterStore | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('admits a bucket of requests, then refuses with the time to wait', async () => {
      store = await open();
      for (let i = 0; i < 10; i++) {
        const result = await store.admit([rpm('a', 10)], T0);
        expect(result.allowed).toBe(true);
        expect(result.shown?.outcome.remaining).toBe(9 - i);
      }
      const refused = await store.admit([rpm('a', 10)], T0);
      expect(refused).toMatchObject({ allowed: false, refusedBy: { name: 'session_requests_per_minute' } });
      expect(refused.shown?.outcome).toMatchObject({ remaining: 0, retryAfterMs: 6000, resetMs: 60_000 });
      expect((await store.admit([rpm('a', 10)], T0 + 5999)).allowed).toBe(false);
      expect((await store.admit([rpm('a', 10)], T0 + 6000)).allowed).toBe(true);
      expect((await store.admit([rpm('other', 10)], T0)).allowed).toBe(true); // keys are separate
    });

    it('honours a burst smaller than the rate', async () => {
      store = await open();
      expect((await store.admit([rpm('b', 60, 2)], T0)).allowed).toBe(true);
      expect((await store.admit([rpm('b', 60, 2)], T0)).allowed).toBe(true);
      expect((await store.admit([rpm('b', 60, 2)], T0)).shown?.outcome.retryAfterMs).toBe(1000);
      expect((await store.admit([rpm('b', 60, 2)], T0 + 1000)).allowed).toBe(true);
    });

    it('charges nothing when any limit refuses', async () => {
      store = await open();
      await store.admit([budget('full', 1)], T0);
      const refused = await store.admit([rpm('free', 2), budget('full', 1)], T0);
      expect(refused).toMatchObject({ allowed: false, refusedBy: { name: 'session_max_requests' } });
      // The rate bucket was not charged by the refused request: two requests still fit.
      expect((await store.admit([rpm('free', 2)], T0)).allowed).toBe(true);
      expect((await store.admit([rpm('free', 2)], T0)).allowed).toBe(true);
      expect((await store.admit([rpm('free', 2)], T0)).allowed).toBe(false);
    });

    it('spends budgets for good, and settles token reservations up and down', async () => {
      store = await open();
      expect((await store.admit([budget('t', 100, 60)], T0)).shown?.outcome.remaining).toBe(40);
      expect((await store.admit([budget('t', 100, 60)], T0)).allowed).toBe(false);
      await store.adjust([{ check: budget('t', 100, 60), delta: -30 }], T0); // the request used 30, not 60
      expect((await store.admit([budget('t', 100, 60)], T0 + 1)).allowed).toBe(true);

      expect((await store.admit([tokens('h', 1000, 600)], T0)).allowed).toBe(true);
      expect((await store.admit([tokens('h', 1000, 600)], T0)).allowed).toBe(false);
      await store.adjust([{ check: tokens('h', 1000, 600), delta: 300 }], T0); // it used 900
      const waiting = await store.admit([tokens('h', 1000, 200)], T0);
      expect(waiting.allowed).toBe(false);
      expect(waiting.shown?.outcome.retryAfterMs).toBe(360_000); // 100 tokens to refill at 3.6 s each
      expect((await store.admit([tokens('h', 1000, 200)], T0 + 360_000)).allowed).toBe(true);
    });

    it('admits exactly the limit when 50 requests arrive at once', async () => {
      store = await open();
      const results = await Promise.all(Array.from({ length: 50 }, () => store!.admit([rpm('burst', 10), budget('burst-total', 12)], T0)));
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
    });
  });
}
