import { afterEach, describe, expect, it } from 'vitest';
import type { SessionState, SessionStore, SessionWrite, StoreLimits } from '../../../src/sessions/store/types.js';
import { indexKey, LOOKUP_LIMIT } from '../../../src/sessions/store/types.js';

/** A backend under test: a fresh, empty namespace per test, and other clients onto the same one. */
export interface StoreFixture {
  store: SessionStore;
  /** Another client of the same namespace (another gateway of the fleet). */
  another(): Promise<SessionStore>;
  /** Closes every client; for durable backends, opens the namespace again as after a restart. */
  reopen?(): Promise<SessionStore>;
  cleanup(): Promise<void>;
}

export type StoreFactory = (limits: StoreLimits) => Promise<StoreFixture>;

const T0 = 1_700_000_000_000;
const limits: StoreLimits = { maxSessions: 5, ttlMs: 60_000 };

/** A session's state with no replies yet: what tests of batching and records need, and nothing more. */
export function blankState(key: string, extra: Partial<SessionState> = {}): SessionState {
  return {
    id: key,
    key,
    rule: 'first',
    createdAt: 0,
    messageCount: 2,
    latestPosition: 1,
    sketch: [],
    replies: [],
    anchor: null,
    loose: null,
    paragraphs: [],
    responses: [],
    topic: null,
    ...extra,
  };
}

function state(key: string, replyKeys: string[][] = [['aa01']], extra: Partial<SessionState> = {}): SessionState {
  return {
    id: key,
    key,
    rule: 'first',
    createdAt: T0,
    messageCount: 2 * replyKeys.length,
    latestPosition: 2 * replyKeys.length - 1,
    sketch: [0, 0xd800, 65534],
    replies: replyKeys.map((keys, i) => ({ keys, position: 2 * i + 1, prev: 7, followUp: 0xffff })),
    anchor: { key: `${replyKeys[0][0]}f`, position: 1 },
    loose: `${key}-loose`,
    paragraphs: [],
    responses: [],
    topic: null,
    ...extra,
  };
}

const write = (s: SessionState, lastSeen = T0, delta = { requests: 1, inputTokens: 10, outputTokens: 5, costUsd: 0.25 }): SessionWrite => ({
  state: s,
  lastSeen,
  delta,
});

/** The one suite every session store passes unchanged (one interface, every backend held to the same behaviour). */
export function storeContract(name: string, factory: StoreFactory, options: { durable: boolean }): void {
  describe(`session store contract: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    const open = async (custom: StoreLimits = limits) => (fixture = await factory(custom));
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('saves a session and gets it back by key, with its counters', async () => {
      const { store } = await open();
      await store.save(write(state('s1')), T0);
      const got = await store.get('s1', T0 + 1);
      expect(got?.state).toEqual(state('s1'));
      expect(got).toMatchObject({ lastSeen: T0, requests: 1, inputTokens: 10, outputTokens: 5, costUsd: 0.25 });
      expect(await store.get('nope', T0)).toBeUndefined();
    });

    it('finds a session under each of its index keys, in one lookup', async () => {
      const { store } = await open();
      await store.save(write(state('s1', [['aa01']], { paragraphs: ['cc01'], responses: ['dd01'] })), T0);
      for (const key of [
        indexKey.session('s1'),
        indexKey.reply('aa01'),
        indexKey.anchor('aa01f'),
        indexKey.loose('s1-loose'),
        indexKey.paragraph('cc01'),
        indexKey.response('dd01'),
      ]) {
        const found = await store.lookup([key], T0);
        expect(
          found.map((s) => s.state.id),
          key,
        ).toEqual(['s1']);
      }
      expect(await store.lookup([indexKey.reply('ffff'), indexKey.paragraph('aa01')], T0)).toEqual([]);
      expect(await store.lookup([], T0)).toEqual([]);
    });

    it('returns every session that shares a key, once each', async () => {
      const { store } = await open();
      await store.save(write(state('s1', [['aa01']])), T0);
      await store.save(write(state('s2', [['aa01']])), T0);
      const found = await store.lookup([indexKey.reply('aa01'), indexKey.anchor('aa01f'), indexKey.session('s1')], T0);
      expect(found.map((s) => s.state.id).sort()).toEqual(['s1', 's2']);
    });

    it(`returns at most ${LOOKUP_LIMIT} sessions, the most recently seen, when many share a key`, async () => {
      const { store } = await open({ maxSessions: 100, ttlMs: 60_000 });
      for (let i = 0; i < LOOKUP_LIMIT + 8; i++) await store.save(write(state(`s${i}`, [['shared']]), T0 + i), T0 + i);
      const found = (await store.lookup([indexKey.reply('shared')], T0 + 100)).map((s) => s.state.id).sort();
      const newest = Array.from({ length: LOOKUP_LIMIT }, (_, i) => `s${i + 8}`).sort();
      expect(found).toEqual(newest);
    });

    it('a session saved again ranks first under a key it shares, ahead of sessions filed under it since', async () => {
      const { store } = await open({ maxSessions: 100, ttlMs: 60_000 });
      for (let i = 0; i < LOOKUP_LIMIT + 8; i++) await store.save(write(state(`s${i}`, [['shared']]), T0 + i), T0 + i);
      // The first session filed under the key is the latest one seen: it must not give way to newer filings.
      await store.save(write(state('s0', [['shared']]), T0 + 50), T0 + 50);
      const found = (await store.lookup([indexKey.reply('shared')], T0 + 100)).map((s) => s.state.id);
      expect(found[0]).toBe('s0');
      expect(found).toHaveLength(LOOKUP_LIMIT);
      expect(found).not.toContain('s8'); // s1–s8 are now the least recently seen
    });

    it('adds counters across writers, keeps the latest state, and forgets index keys the state dropped', async () => {
      const { store } = await open();
      const other = await fixture!.another();
      await store.save(write(state('s1', [['aa01']])), T0);
      await other.save(write(state('s1', [['aa02']]), T0 + 10, { requests: 1, inputTokens: 20, outputTokens: 7, costUsd: 0.125 }), T0 + 10);
      const got = await store.get('s1', T0 + 20);
      expect(got).toMatchObject({ requests: 2, inputTokens: 30, outputTokens: 12, costUsd: 0.375, lastSeen: T0 + 10 });
      expect(got?.state.replies[0].keys).toEqual(['aa02']);
      expect(await store.lookup([indexKey.reply('aa01')], T0 + 20)).toEqual([]);
      expect((await store.lookup([indexKey.reply('aa02')], T0 + 20)).map((s) => s.state.id)).toEqual(['s1']);
    });

    it('counts every one of many concurrent writes', async () => {
      const { store } = await open();
      const other = await fixture!.another();
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).save(write(state('s1'), T0 + i), T0 + i)));
      expect(await store.get('s1', T0 + 50)).toMatchObject({ requests: 40, inputTokens: 400, outputTokens: 200, costUsd: 10, lastSeen: T0 + 39 });
    });

    it('forgets sessions idle past the TTL; a write keeps one alive', async () => {
      const { store } = await open();
      await store.save(write(state('old')), T0);
      await store.save(write(state('kept')), T0);
      await store.save(write(state('kept'), T0 + 50_000), T0 + 50_000);
      const later = T0 + 70_000;
      expect(await store.get('old', later)).toBeUndefined();
      expect(await store.lookup([indexKey.session('old'), indexKey.reply('aa01')], later).then((s) => s.map((x) => x.state.id))).toEqual(['kept']);
      await store.sweep(later);
      expect((await store.list(later, 10)).map((s) => s.state.id)).toEqual(['kept']);
      expect(await store.get('kept', later)).toMatchObject({ requests: 2 });
    });

    it('holds max_sessions: the least recently seen go first', async () => {
      const { store } = await open({ maxSessions: 3, ttlMs: 60_000 });
      for (let i = 0; i < 5; i++) await store.save(write(state(`s${i}`), T0 + i), T0 + i);
      await store.save(write(state('s0'), T0 + 10), T0 + 10); // seen again: now the most recent
      await store.sweep(T0 + 11);
      const live = (await store.list(T0 + 11, 10)).map((s) => s.state.id);
      expect(live).toEqual(['s0', 's4', 's3']);
      expect(await store.get('s1', T0 + 11)).toBeUndefined();
      expect(await store.lookup([indexKey.session('s2')], T0 + 11)).toEqual([]);
    });

    it('deletes a session everywhere', async () => {
      const { store } = await open();
      const other = await fixture!.another();
      await store.save(write(state('s1')), T0);
      expect(await other.delete('s1')).toBe(true);
      expect(await other.delete('s1')).toBe(false);
      expect(await store.get('s1', T0)).toBeUndefined();
      expect(await store.lookup([indexKey.reply('aa01')], T0)).toEqual([]);
    });

    it('lists live sessions, most recent first, up to a limit', async () => {
      const { store } = await open();
      for (let i = 0; i < 4; i++) await store.save(write(state(`s${i}`), T0 + i), T0 + i);
      expect((await store.list(T0 + 5, 2)).map((s) => s.state.id)).toEqual(['s3', 's2']);
    });

    it('shares one hashing secret: the first candidate wins', async () => {
      const { store } = await open();
      const other = await fixture!.another();
      expect(await store.sharedSecret('first-secret')).toBe('first-secret');
      expect(await other.sharedSecret('second-secret')).toBe('first-secret');
    });

    if (options.durable) {
      it('keeps sessions, counters and the secret across a restart', async () => {
        const { store } = await open();
        await store.sharedSecret('kept-secret');
        await store.save(write(state('s1', [['aa01'], ['aa02']])), T0);
        await store.save(write(state('s2')), T0);
        await store.delete('s2');
        const reopened = await fixture!.reopen!();
        expect(await reopened.sharedSecret('another')).toBe('kept-secret');
        expect(await reopened.get('s1', T0 + 1)).toMatchObject({ state: state('s1', [['aa01'], ['aa02']]), requests: 1 });
        expect((await reopened.lookup([indexKey.reply('aa02')], T0 + 1)).map((s) => s.state.id)).toEqual(['s1']);
        expect(await reopened.get('s2', T0 + 1)).toBeUndefined();
      });
    }
  });
}
