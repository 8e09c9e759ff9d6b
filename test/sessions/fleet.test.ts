// Several engines sharing one store (the fleet logic, without a network): the same code paths as two
// gateways on Redis, or a gateway restarted on its file store.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { CanonicalBuilder, conversationOf, type CanonicalMessage } from '../../src/conversation/canonical.js';
import { DetectionEngine } from '../../src/sessions/engine.js';
import { FleetState } from '../../src/sessions/fleet.js';
import { SessionIndex } from '../../src/sessions/session-index.js';
import { MemoryStore } from '../../src/sessions/store/memory-store.js';
import { StoreLink } from '../../src/sessions/store/store-link.js';
import type { SessionStore } from '../../src/sessions/store/types.js';
import type { SessionDecision, SessionRequest } from '../../src/sessions/types.js';
import { assistant, user } from '../helpers/conversation.js';

const quiet = { warn() {}, info() {} };
const engines: DetectionEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});

function gateway(store: SessionStore, session: Record<string, unknown> = {}): { engine: DetectionEngine; link: StoreLink } {
  const link = new StoreLink(store, { timeoutMs: 200, maxPendingWrites: 100, sweepEveryMs: 0, now: Date.now, log: quiet });
  const engine = new DetectionEngine(configSchema.parse({ session }).session, { store: link, secret: 'fleet-secret' });
  engines.push(engine);
  return { engine, link };
}

/** A client keeping its own history, sending each turn to the gateway it is given. */
class Client {
  readonly history: CanonicalMessage[] = [];
  constructor(private readonly extra: Partial<SessionRequest> = {}) {}
  async send(engine: DetectionEngine, turn: string, reply: string): Promise<SessionDecision> {
    this.history.push(user(turn));
    const decision = await engine.decide({ partition: 'key-a', ...this.extra, conversation: conversationOf([...this.history]) });
    const message = assistant(reply);
    engine.recordReply(decision, { replies: [message], usage: { input_tokens: 10, output_tokens: 3 } });
    this.history.push(message);
    return decision;
  }
}

/** Writes are sent without waiting; the store has them once they settle. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** The memory store as a network store would behave: no answer at once, every lookup a promise that may fail or hang. */
function overNetwork(store: MemoryStore): MemoryStore {
  const answer = store.lookupNow.bind(store);
  return Object.assign(store, { lookupNow: undefined, lookup: async (keys: string[], now: number) => answer(keys, now) });
}

describe('engines sharing a store', () => {
  it('keeps one session while a conversation alternates between two gateways', async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const a = gateway(store);
    const b = gateway(store);
    const client = new Client();
    const decisions: SessionDecision[] = [];
    for (let turn = 0; turn < 6; turn++) {
      decisions.push(await client.send(turn % 2 ? b.engine : a.engine, `question ${turn}`, `answer number ${turn}`));
      await settled();
    }
    expect(new Set(decisions.map((d) => d.sessionId)).size).toBe(1);
    expect(decisions.map((d) => d.rule)).toEqual(['first', 'continued', 'continued', 'continued', 'continued', 'continued']);
    expect((await store.get(decisions[0].sessionId, Date.now()))?.requests).toBe(6);
    expect(b.link.metrics()).toMatchObject({ backend: 'memory', lookup_hits: 3, restored: 3, errors: 0 });
    expect(b.engine.get(decisions[0].sessionId)).toMatchObject({ requests: 6, messages: 12, input_tokens: 60 });
  });

  it('keeps two conversations apart across the fleet', async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const [a, b] = [gateway(store), gateway(store)];
    const [one, two] = [new Client(), new Client()];
    const ids = { one: new Set<string>(), two: new Set<string>() };
    for (let turn = 0; turn < 4; turn++) {
      ids.one.add((await one.send(turn % 2 ? a.engine : b.engine, `one ${turn}`, `reply one ${turn}`)).sessionId);
      ids.two.add((await two.send(turn % 2 ? b.engine : a.engine, `two ${turn}`, `reply two ${turn}`)).sessionId);
      await settled();
    }
    expect([ids.one.size, ids.two.size]).toEqual([1, 1]);
    expect([...ids.one][0]).not.toBe([...ids.two][0]);
  });

  it('continues a conversation on a gateway that started after it (a restart)', async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const before = gateway(store);
    const client = new Client();
    const first = await client.send(before.engine, 'hello', 'hi, how can I help?');
    await client.send(before.engine, 'tell me more', 'here is more');
    await settled();
    await before.engine.close();
    const after = gateway(store);
    expect(await client.send(after.engine, 'and then?', 'then this')).toMatchObject({ sessionId: first.sessionId, rule: 'continued', isNew: false });
    // A cut-back to the first turn is still a count drop: the anchor came back with the session.
    client.history.splice(2);
    expect(await client.send(after.engine, 'another idea entirely', 'sure')).toMatchObject({ rule: 'count_drop', isNew: true });
  });

  it('shares client-named sessions and adds their counters', async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const [a, b] = [gateway(store), gateway(store)];
    const client = new Client({ explicitId: 'my-run' });
    await client.send(a.engine, 'one', 'r1');
    await settled();
    const second = await client.send(b.engine, 'two', 'r2');
    await settled();
    expect(second).toMatchObject({ sessionId: 'my-run', rule: 'explicit', isNew: false });
    const stored = await store.list(Date.now(), 10);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ requests: 2, inputTokens: 20 });
  });

  it('decides locally, without failing, when the store fails; counts and recovers', async () => {
    const store = overNetwork(new MemoryStore({ maxSessions: 100, ttlMs: 60_000 }));
    let down = false;
    const lookup = store.lookup.bind(store);
    store.lookup = (keys, now) => (down ? Promise.reject(new Error('connection refused')) : lookup(keys, now));
    const a = gateway(store);
    const b = gateway(store);
    const client = new Client();
    const first = await client.send(a.engine, 'q1', 'a1');
    await settled();
    down = true;
    const during = await client.send(b.engine, 'q2', 'a2');
    expect(during).toMatchObject({ isNew: true, rule: 'first' });
    expect(b.link.metrics()).toMatchObject({ errors: 1, fallbacks: 1 }); // its write went through: healthy again
    down = false;
    await settled();
    expect(await client.send(b.engine, 'q3', 'a3')).toMatchObject({ sessionId: during.sessionId, rule: 'continued' });
    expect((await client.send(a.engine, 'q4', 'a4')).sessionId).toBe(during.sessionId);
    expect(b.link.metrics().healthy).toBe(true);
    expect(first.sessionId).not.toBe(during.sessionId);
  });

  it('asks a store held in this process at once: a new session is decided synchronously, one held there is found', () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const a = gateway(store);
    const b = gateway(store);
    // A history with a reply nobody knows: the store is asked, knows nothing, and the session is new.
    const opened = a.engine.decide({ partition: 'key-a', conversation: conversationOf([user('q0'), assistant('a0'), user('q1')]) });
    if (opened instanceof Promise) throw new Error('a local store must answer synchronously');
    expect(opened).toMatchObject({ isNew: true });
    a.engine.recordReply(opened, { replies: [assistant('a1')] }); // written to the memory store at once
    const history = [user('q0'), assistant('a0'), user('q1'), assistant('a1'), user('q2')];
    const followUp = b.engine.decide({ partition: 'key-a', conversation: conversationOf(history) });
    if (followUp instanceof Promise) throw new Error('a local store must answer synchronously');
    expect(followUp).toMatchObject({ sessionId: opened.sessionId, isNew: false });
    expect(a.link.metrics()).toMatchObject({ lookups: 1, lookup_hits: 0 });
    expect(b.link.metrics()).toMatchObject({ lookups: 1, lookup_hits: 1, restored: 1 });
  });

  it('gives up on a store slower than the timeout and decides locally', async () => {
    const store = overNetwork(new MemoryStore({ maxSessions: 100, ttlMs: 60_000 }));
    store.lookup = () => new Promise(() => {}); // never answers
    const link = new StoreLink(store, { timeoutMs: 20, maxPendingWrites: 100, sweepEveryMs: 0, now: Date.now, log: quiet });
    const engine = new DetectionEngine(configSchema.parse({}).session, { store: link, secret: 's' });
    engines.push(engine);
    const decision = await engine.decide({ partition: '', conversation: conversationOf([user('a'), assistant('b'), user('c')]) });
    expect(decision).toMatchObject({ isNew: true, rule: 'first' });
    expect(link.metrics()).toMatchObject({ fallbacks: 1, errors: 1 });
  });

  it('creates one session when two requests with the same new name wait on the store at once', async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const { engine } = gateway(store);
    const ask = () => engine.decide({ partition: 'key-a', explicitId: 'parallel-run', conversation: conversationOf([user('go')]) });
    const [first, second] = await Promise.all([ask(), ask()]);
    expect([first.sessionId, second.sessionId]).toEqual(['parallel-run', 'parallel-run']);
    expect([first.isNew, second.isNew].sort()).toEqual([false, true]);
    expect(engine.metrics()).toMatchObject({ total_created: 1, ended: 0 });
  });

  it('keeps every sketch value through the store, even two that form a surrogate pair', () => {
    const indexOf = () => new SessionIndex({ maxSessions: 10, ttlMs: 60_000, repliesPerSession: 2, now: Date.now, onRemove() {} });
    const here = indexOf();
    const session = here.create('sess_a', 'first');
    session.sketch = String.fromCharCode(0x41, 0xd800, 0xdc00, 0x42); // sketch values are any 16-bit numbers
    const write = new FleetState(here, 2).write(session, null, [], [], { input: 0, output: 0, costUsd: 0 });
    expect(write.state.sketch).toEqual([0x41, 0xd800, 0xdc00, 0x42]);
    const there = indexOf();
    const rebuilt = new FleetState(there, 2).hydrate({ state: write.state, lastSeen: Date.now(), requests: 1, inputTokens: 0, outputTokens: 0, costUsd: 0 });
    expect(rebuilt.sketch).toBe(session.sketch);
  });

  it('ends a session for the whole fleet', async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const [a, b] = [gateway(store), gateway(store)];
    const client = new Client();
    const first = await client.send(a.engine, 'q1', 'a1');
    await settled();
    expect(b.engine.end(first.sessionId)).toBe(false); // b never saw it, but the store did
    await settled();
    expect((await client.send(a.engine, 'q2', 'a2')).sessionId).toBe(first.sessionId); // a's own copy is local
    expect(await store.get(first.sessionId, Date.now())).toMatchObject({ requests: 1 });
  });
});

describe('lineage shared by the fleet', () => {
  it("carries a sub-agent's parent to the other gateways through the store", async () => {
    const store = new MemoryStore({ maxSessions: 100, ttlMs: 60_000 });
    const a = gateway(store);
    const b = gateway(store);
    const task = 'Read every migration file of the payments schema and list the columns that were renamed, with the release that renamed each.';
    const parentHistory = [user('Audit the payments schema.')];
    const parent = await a.engine.decide({ partition: 'key-a', conversation: conversationOf(parentHistory) });
    a.engine.recordReply(parent, { replies: [new CanonicalBuilder().toolCall('call_1', 'Agent', { prompt: task }).build('assistant')] });
    const child = new Client();
    const first = await child.send(a.engine, task, 'Three columns were renamed: amount (v12), payee (v14), memo (v15).');
    expect(first.parent?.key).toBe(parent.sessionKey);
    await settled();
    // The sub-agent's next turn lands on the other gateway: it knows the session, and its parent.
    const next = await child.send(b.engine, 'Which release was the riskiest?', 'v14.');
    expect(next.sessionKey).toBe(first.sessionKey);
    expect(next.parent?.key).toBe(parent.sessionKey);
    expect(b.engine.get(first.sessionKey)?.parent_session_id).toBe(parent.sessionKey);
  });
});
