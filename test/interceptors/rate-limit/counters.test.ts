// One suite for both counter stores: the same sums, the same all-or-nothing charge, exact under concurrency.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Check } from '../../../src/interceptors/rate-limit/checks.js';
import { MemoryCounters, type CounterStore } from '../../../src/interceptors/rate-limit/memory-counters.js';
import { RedisCounters } from '../../../src/interceptors/rate-limit/redis-counters.js';
import { RedisWork } from '../../helpers/redis-commands.js';
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

const usdBudget = (key: string, limit: number, cost: number, fixedPeriod = false): Check => ({
  kind: 'budget',
  name: fixedPeriod ? 'client_max_cost_usd' : 'session_max_cost_usd',
  key,
  limit,
  periodMs: 3_600_000,
  burst: 0,
  cost,
  unit: 'usd',
  overdraw: true,
  fixedPeriod,
});
const usdRate = (key: string, limit: number, cost: number): Check => ({
  kind: 'rate',
  name: 'session_cost_per_hour_usd',
  key,
  limit,
  periodMs: 3_600_000,
  burst: limit,
  cost,
  unit: 'usd',
  overdraw: true,
});

for (const [name, open] of Object.entries(stores)) {
  describe(`cost limits (overdraw): ${name}`, () => {
    let store: CounterStore | undefined;
    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    it('admits while anything is left, whatever the cost, and refuses from the moment the spend reaches the limit', async () => {
      store = await open();
      expect((await store.admit([usdBudget('u', 100, 90)], T0)).allowed).toBe(true);
      // 90 spent: the next request is admitted although its estimate (50) does not fit; it crosses the limit.
      const crossing = await store.admit([usdBudget('u', 100, 50)], T0);
      expect(crossing).toMatchObject({ allowed: true, shown: null });
      const refused = await store.admit([usdBudget('u', 100, 0)], T0);
      expect(refused).toMatchObject({ allowed: false, refusedBy: { name: 'session_max_cost_usd' } });
      expect(refused.shown?.outcome.remaining).toBe(0);
      // A lifetime budget is back when its counter is gone: what is left of its life.
      expect(refused.shown?.outcome.retryAfterMs).toBeGreaterThan(3_590_000);
      expect(refused.shown?.outcome.retryAfterMs).toBeLessThanOrEqual(3_600_000);
      // Settling the true cost (a refund here: 140 reserved, 99 spent) opens it again.
      await store.adjust([{ check: usdBudget('u', 100, 0), delta: -41 }], T0);
      expect((await store.admit([usdBudget('u', 100, 0)], T0)).allowed).toBe(true);
      await store.adjust([{ check: usdBudget('u', 100, 0), delta: 1 }], T0);
      expect((await store.admit([usdBudget('u', 100, 0)], T0)).allowed).toBe(false);
    });

    it('an hourly cost bucket readmits at the first millisecond the spend is below the limit', async () => {
      store = await open();
      // 3,600,000 per hour: one unit drains per millisecond.
      const perHour = 3_600_000;
      expect((await store.admit([usdRate('h', perHour, 3_000_000)], T0)).allowed).toBe(true);
      expect((await store.admit([usdRate('h', perHour, 1_000_000)], T0)).allowed).toBe(true); // crosses: 400,000 over
      const refused = await store.admit([usdRate('h', perHour, 1)], T0);
      expect(refused.shown?.outcome).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 400_001 });
      expect((await store.admit([usdRate('h', perHour, 1)], T0 + 400_000)).allowed).toBe(false); // exactly at the limit
      expect((await store.admit([usdRate('h', perHour, 1)], T0 + 400_001)).allowed).toBe(true);
    });

    it('a refund to a budget whose counter is gone leaves nothing behind', async () => {
      store = await open();
      await store.adjust([{ check: usdBudget('gone', 100, 0), delta: -50 }], T0);
      // Not a credit of 50: the whole 100 and no more.
      expect((await store.admit([usdBudget('gone', 100, 100)], T0)).outcomes[0]).toMatchObject({ allowed: true, remaining: 0 });
      expect((await store.admit([usdBudget('gone', 100, 0)], T0)).allowed).toBe(false);
    });

    it('a budget period runs from the first charge: later charges and settlements do not extend it', async () => {
      // 30 ms pass between the first charge and the later ones: in memory on the store's clock, in Redis on
      // Redis's own (it keeps time itself).
      let clock = T0;
      store = name === 'memory' ? new MemoryCounters(1000, () => clock) : await open();
      await store.admit([usdBudget('period', 100, 60, true)], clock);
      if (name === 'memory') clock += 30;
      else await new Promise((resolve) => setTimeout(resolve, 30));
      await store.admit([usdBudget('period', 100, 60, true)], clock);
      await store.adjust([{ check: usdBudget('period', 100, 0, true), delta: 5 }], clock);
      const refused = await store.admit([usdBudget('period', 100, 0, true)], clock);
      expect(refused.allowed).toBe(false);
      // A period that restarted with each charge would have a full hour left.
      if (name === 'memory') expect(refused.shown?.outcome.retryAfterMs).toBe(3_600_000 - 30);
      else expect(refused.shown?.outcome.retryAfterMs).toBeLessThanOrEqual(3_600_000 - 30);
    });
  });
}

describe('the two stores reach the same states', () => {
  it('gives identical answers to a long run of admits and settlements with fractional bucket intervals', async () => {
    const redis = (await stores.redis()) as RedisCounters;
    let clock = T0;
    const memory = new MemoryCounters(1000, () => clock);
    // A deterministic walk: costs, refunds and time steps that leave thousandths of a millisecond behind.
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const answers: Record<'memory' | 'redis', unknown[]> = { memory: [], redis: [] };
    try {
      for (let step = 0; step < 300; step++) {
        clock += Math.floor(random() * 400);
        const cost = Math.floor(random() * 5000);
        const checks = [usdRate('walk-h', 7_777_777, cost), usdBudget('walk-b', 50_000_000, cost), tokens('walk-t', 99_991, Math.floor(random() * 900))];
        const delta = Math.floor(random() * 4000) - 2000;
        for (const [which, store] of [
          ['memory', memory],
          ['redis', redis],
        ] as const) {
          const result = await store.admit(checks, clock);
          // Budgets' resets follow each store's own clock for expiry; everything else must agree exactly.
          answers[which].push(
            result.allowed,
            result.outcomes.map((o, i) => (checks[i].kind === 'rate' ? [o.allowed, o.remaining, o.resetMs, o.retryAfterMs] : [o.allowed, o.remaining])),
          );
          if (result.allowed && step % 3 === 0)
            await store.adjust(
              [
                { check: checks[0], delta },
                { check: checks[1], delta },
              ],
              clock,
            );
        }
      }
      expect(answers.redis).toEqual(answers.memory);
      expect(answers.memory.filter((a) => a === false).length).toBeGreaterThan(10); // the walk did hit its limits
    } finally {
      await redis.close();
    }
  });
});

describe('what a request costs Redis', () => {
  // Every command the scripts run is Redis CPU on every request of the fleet: these counts are the budget.
  it('one script call per turn: one MGET per admit, a SET per charged counter, PTTL only for a running budget', async () => {
    const server = await startRedis({ fresh: true });
    const work = new RedisWork(server.url);
    const counters = new RedisCounters(server.url, 'cost:', 2000);
    try {
      await counters.open();
      // What the bench's limits are: a session's requests per minute, request budget and tokens per hour, a client's rate.
      const checks = [rpm('s:rpm', 1000), budget('s:req', 1000), tokens('s:tph', 1_000_000, 500), rpm('c:rpm', 60_000)];
      await counters.admit([rpm('warm', 10)], T0); // loads the scripts' first run (EVAL) out of the count
      await counters.adjust([{ check: rpm('warm', 10), delta: 0 }], T0);
      await work.reset();
      await counters.admit(checks, T0);
      expect(await work.commands()).toEqual({ evalsha: 1, mget: 1, set: 4 });
      await work.reset();
      await counters.admit(checks, T0 + 1);
      expect(await work.commands()).toEqual({ evalsha: 1, mget: 1, pttl: 1, set: 4 });
      await work.reset();
      await counters.adjust([{ check: checks[2], delta: -300 }], T0 + 2);
      expect(await work.commands()).toEqual({ evalsha: 1, get: 1, set: 1 });

      // A busy turn: 20 requests' admits and 10 replies' settlements, one script call, each answered its own.
      await work.reset();
      const session = (i: number) => [rpm(`s${i}:rpm`, 1000), budget(`s${i}:req`, 1000), tokens(`s${i}:tph`, 1_000_000, 500), rpm('c:rpm', 60_000)];
      const [admitted] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, (_, i) => counters.admit(session(i), T0 + 3))),
        Promise.all(Array.from({ length: 10 }, (_, i) => counters.adjust([{ check: session(i)[2], delta: 100 }], T0 + 3))),
      ]);
      expect(admitted.map((result) => result.allowed)).toEqual(Array(20).fill(true));
      // The client's bucket was charged by every admit, in the order they were made.
      const left = admitted.map((result) => result.outcomes[3].remaining);
      expect(left.slice(1).map((remaining, i) => left[i] - remaining)).toEqual(Array(19).fill(1));
      expect(await work.commands()).toMatchObject({ evalsha: 1, mget: 20, set: 90, get: 10 });
    } finally {
      work.close();
      await counters.close();
      await server.stop();
    }
  });
});

describe('redis counters: one call per turn', () => {
  it('a failed call fails every admit and settlement in it; the next turn goes through again', async () => {
    const server = await startRedis({ fresh: true });
    const counters = new RedisCounters(server.url, 'fail:', 2000);
    try {
      await counters.open();
      await server.stop();
      const outcomes = await Promise.allSettled([
        counters.admit([rpm('f', 10)], T0),
        counters.adjust([{ check: tokens('t', 1000, 10), delta: 5 }], T0),
        counters.admit([rpm('f', 10)], T0),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
      await server.restart();
      await expect
        .poll(
          () =>
            counters.admit([rpm('f', 10)], T0).then(
              (r) => r.allowed,
              () => 'down',
            ),
          { timeout: 10_000, interval: 50 },
        )
        .toBe(true);
    } finally {
      await counters.close();
      await server.stop();
    }
  });

  it('close() sends the settlements still queued before it quits', async () => {
    const { url } = await startRedis();
    const prefix = `close-${randomUUID()}:`;
    const counters = new RedisCounters(url, prefix, 2000);
    await counters.open();
    await counters.admit([tokens('t', 1000, 100)], T0);
    void counters.adjust([{ check: tokens('t', 1000, 100), delta: 800 }], T0); // not awaited: queued for the turn's end
    await counters.close();
    const again = new RedisCounters(url, prefix, 2000);
    try {
      await again.open();
      // 100 + 800 of 1000 spent: a request of 200 does not fit, one of 100 does.
      expect((await again.admit([tokens('t', 1000, 200)], T0)).allowed).toBe(false);
      expect((await again.admit([tokens('t', 1000, 100)], T0)).allowed).toBe(true);
    } finally {
      await again.close();
    }
  });
});
