// The session engine alone (no HTTP): every detection rule (docs/sessions.md) on canonical conversations.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/sessions/engine.js';
import { ask, assistant, ScriptedChat, toolCall, toolResult, user } from '../helpers/conversation.js';

const engines: DetectionEngine[] = [];
function engine(session: Record<string, unknown> = {}, now?: () => number): DetectionEngine {
  const e = new DetectionEngine(configSchema.parse({ session }).session, { now });
  engines.push(e);
  return e;
}
afterEach(() => engines.splice(0).forEach((e) => e.close()));

describe('continuation', () => {
  it('starts on a first request and continues through appended turns', () => {
    const chat = new ScriptedChat(engine());
    const first = chat.send(user('Hello'), 'Hi there!');
    expect(first).toMatchObject({ isNew: true, rule: 'first' });
    expect(first.sessionId).toMatch(/^sess_[a-z2-7]{20}$/);
    expect(chat.send(user('How are you?'), 'Fine.')).toMatchObject({ sessionId: first.sessionId, isNew: false, rule: 'continued' });
    expect(chat.send(user('Bye'), 'Bye!').sessionId).toBe(first.sessionId);
  });

  it('follows tool loops, including parallel calls and re-serialised arguments', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const first = chat.send(user('Weather in Paris and Rome?'), toolCall('call_1', 'weather', '{"city": "Paris", "unit": "c"}'));
    const second = chat.send(toolResult('call_1', '21C'), toolCall('call_2', 'weather', { city: 'Rome' }));
    const third = chat.send(toolResult('call_2', '25C'), 'Paris 21C, Rome 25C.');
    expect([second.sessionId, third.sessionId]).toEqual([first.sessionId, first.sessionId]);
    // The app re-serialises the arguments with other spacing and key order: still the same message.
    const echoed = [
      user('Weather in Paris and Rome?'),
      toolCall('call_1', 'weather', '{ "unit":"c","city":"Paris" }'),
      toolResult('call_1', '21C'),
      toolCall('call_2', 'weather', '{"city":"Rome"}'),
      toolResult('call_2', '25C'),
      assistant('Paris 21C, Rome 25C.'),
      user('Thanks'),
    ];
    expect(ask(e, echoed)).toMatchObject({ sessionId: first.sessionId, rule: 'continued' });
  });

  it('treats an identical resend as a retry, and an edited last turn as the same session', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Write a poem'), 'Roses are red.').sessionId;
    chat.send(user('Make it longer'), 'Roses are red, violets are blue.');
    const retry = ask(e, [user('Write a poem'), assistant('Roses are red.'), user('Make it longer')]);
    expect(retry).toMatchObject({ sessionId: s, rule: 'retry' });
    const edit = ask(e, [user('Write a poem'), assistant('Roses are red.'), user('Make it shorter')]);
    expect(edit).toMatchObject({ sessionId: s, rule: 'continued' });
  });

  it('survives a client that trims its oldest messages (sliding window)', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('one'), 'r1').sessionId;
    for (const turn of ['two', 'three', 'four', 'five']) chat.send(user(turn), `r-${turn}`);
    const window = chat.history.slice(-3); // [user four, r-four? ...] the last reply kept, the rest dropped
    expect(ask(e, [...window, user('six')])).toMatchObject({ sessionId: s, rule: 'continued' });
    expect(ask(e, [assistant('r-five'), user('six')]).sessionId).toBe(s);
  });

  it('follows a history compacted into a summary the gateway returned', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Let us design a database schema for a library'), 'We need books and members.').sessionId;
    const summary =
      'Summary so far: we are designing a library database with tables for books, members and loans, with foreign keys from loans to both.\n\nOpen question: should reservations be a separate table or a status on loans?';
    chat.send(user('Summarise our conversation'), summary);
    const compacted = [
      user(`Here is the summary of the earlier conversation:\n\n${summary}\n\nContinue from there.`),
      assistant('Understood.'),
      user('Reservations: separate table?'),
    ];
    // The assistant message 'Understood.' was never returned by the gateway; the quoted summary was.
    expect(ask(e, compacted)).toMatchObject({ sessionId: s, rule: 'compaction' });
  });

  it('links previous_response_id to the session that produced the response', () => {
    const e = engine();
    const first = ask(e, [user('Tell me a story')]);
    e.recordReply(first, { replies: [assistant('Once upon a time.')], responseId: 'resp_123' });
    expect(ask(e, [user('Shorter')], { previousResponseId: 'resp_123' })).toMatchObject({ sessionId: first.sessionId, rule: 'continued' });
    expect(ask(e, [user('Shorter')], { previousResponseId: 'resp_unknown' }).rule).toBe('first');
  });
});

describe('explicit ids', () => {
  it('uses the name the client gives and skips detection', () => {
    const e = engine();
    expect(ask(e, [user('Hi')], { explicitId: 'my-session' })).toMatchObject({ sessionId: 'my-session', rule: 'explicit', isNew: true });
    expect(ask(e, [user('Completely different')], { explicitId: 'my-session' })).toMatchObject({ sessionId: 'my-session', isNew: false });
    expect(e.metrics().explicit).toBe(2);
  });

  it('keeps the same name given under two credentials as two sessions', () => {
    const e = engine();
    const a = ask(e, [user('Hi')], { explicitId: 'session-1', partition: 'key-a' });
    const b = ask(e, [user('Hi')], { explicitId: 'session-1', partition: 'key-b' });
    expect([a.sessionId, b.sessionId]).toEqual(['session-1', 'session-1']);
    expect([a.isNew, b.isNew]).toEqual([true, true]);
    expect(e.metrics()).toMatchObject({ total_created: 2, active_count: 2 });
    expect(ask(e, [user('again')], { explicitId: 'session-1', partition: 'key-a' }).isNew).toBe(false);
    // Each has its own admin identity: the name plus a tag of its partition, never the credential.
    expect(a.sessionKey).toMatch(/^session-1~[0-9a-f]{16}$/);
    expect(b.sessionKey).toMatch(/^session-1~[0-9a-f]{16}$/);
    expect(a.sessionKey).not.toBe(b.sessionKey);
    expect(`${a.sessionKey}${b.sessionKey}`).not.toContain('key-');
  });

  it('lets a sess_ name rejoin only the generated session of the same partition, and otherwise ignores it', () => {
    const e = engine();
    const own = ask(e, [user('Hi')], { partition: 'key-a' });
    expect(own.sessionKey).toBe(own.sessionId);
    expect(ask(e, [user('Something else')], { explicitId: own.sessionId, partition: 'key-a' })).toMatchObject({
      sessionId: own.sessionId,
      rule: 'explicit',
      isNew: false,
    });
    const other = ask(e, [user('Hi')], { explicitId: own.sessionId, partition: 'key-b' });
    expect(other).toMatchObject({ rule: 'first', isNew: true });
    expect(other.sessionId).not.toBe(own.sessionId);
    const madeUp = ask(e, [user('Hi')], { explicitId: 'sess_aaaaaaaaaaaaaaaaaaaa', partition: 'key-a' });
    expect(madeUp.sessionId).not.toBe('sess_aaaaaaaaaaaaaaaaaaaa');
    expect(e.metrics()).toMatchObject({ total_created: 3, explicit: 1 });
  });
});

describe('no false merges', () => {
  it('keeps conversations that open with the same words apart', () => {
    const e = engine();
    const alice = new ScriptedChat(e);
    const bob = new ScriptedChat(e);
    const a = alice.send(user('Hello'), 'Hi Alice-flavoured reply');
    const b = bob.send(user('Hello'), 'Hi Bob-flavoured reply');
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(alice.send(user('Tell me about cats'), 'Cats purr.').sessionId).toBe(a.sessionId);
    expect(bob.send(user('Tell me about dogs'), 'Dogs bark.').sessionId).toBe(b.sessionId);
  });

  it('keeps identical openings with identical replies apart, one branch per conversation', () => {
    const e = engine();
    const chats = Array.from({ length: 5 }, () => new ScriptedChat(e));
    for (const chat of chats) chat.send(user('Hello'), 'Hello! How can I help you today?');
    for (const [i, chat] of chats.entries()) chat.send(user(`question ${i}`), `answer ${i}`);
    for (const [i, chat] of chats.entries()) chat.send(user(`follow-up ${i}`), `more ${i}`);
    const secondTurnSessions = chats.map((chat) => chat.sessionIds[1]);
    expect(new Set(secondTurnSessions).size).toBe(5);
    for (const chat of chats) expect(chat.sessionIds[2]).toBe(chat.sessionIds[1]);
  });

  it('keeps apart conversations that differ early but share a later exchange', () => {
    const e = engine();
    const a = new ScriptedChat(e);
    const b = new ScriptedChat(e);
    a.send(user('What is the capital of France?'), 'Paris.');
    b.send(user('How tall is Everest?'), '8849 m.');
    a.send(user('Thanks!'), "You're welcome!");
    b.send(user('Thanks!'), "You're welcome!");
    b.send(user('Bye'), 'Goodbye!'); // b first: its identical turn must not pass for a retry of a's
    a.send(user('Bye'), 'Goodbye!');
    expect(new Set(a.sessionIds).size).toBe(1);
    expect(new Set(b.sessionIds).size).toBe(1);
    expect(a.sessionIds[0]).not.toBe(b.sessionIds[0]);
  });

  it('stays fast and never merges when thousands of sessions got the very same reply', () => {
    const e = engine({ max_sessions: 5000 });
    const chats = Array.from({ length: 2000 }, () => new ScriptedChat(e));
    for (const chat of chats) chat.send(user('Hello'), 'Hello! How can I help you today?');
    for (const [i, chat] of chats.entries()) chat.send(user(`question ${i}`), `answer ${i}`);
    const owners = new Map<string, number>();
    for (const chat of chats) owners.set(chat.sessionIds[1], (owners.get(chat.sessionIds[1]) ?? 0) + 1);
    // The most recent sessions stay candidates for the shared reply; older ones split rather than merge.
    expect(Math.max(...owners.values())).toBe(1);
    for (const [i, chat] of chats.entries()) expect(chat.send(user(`more ${i}`), `done ${i}`).sessionId).toBe(chat.sessionIds[1]);
  });

  it('keeps agents with a long identical preamble apart, comparing full content', () => {
    const e = engine();
    const preamble = `You are a coding agent. Project layout:\n${'src/file.ts\n'.repeat(2000)}`;
    const one = new ScriptedChat(e);
    const two = new ScriptedChat(e);
    const a = one.send(user(`${preamble}\nTask: fix the login bug`), 'Looking at login.');
    const b = two.send(user(`${preamble}\nTask: add dark mode`), 'Looking at themes.');
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(one.send(user('go on'), 'done').sessionId).toBe(a.sessionId);
    expect(two.send(user('go on'), 'done').sessionId).toBe(b.sessionId);
  });

  it('does not let a new conversation quoting an older answer join that session', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const long = 'The capital of Australia is Canberra, which was chosen as a compromise between Sydney and Melbourne in 1908 by parliament.';
    const s = chat.send(user('Capital of Australia?'), long).sessionId;
    chat.send(user('And of Canada?'), 'Ottawa is the capital of Canada, chosen by Queen Victoria in 1857 over Toronto, Montreal, Kingston and Quebec City.');
    // Quoted as a paragraph of its own, exactly as a compaction would quote the latest reply.
    expect(ask(e, [user(`My friend said:\n\n${long}\n\nIs that right?`)]).sessionId).not.toBe(s);
  });

  it('never links across partitions', () => {
    const e = engine();
    const first = new ScriptedChat(e, { partition: 'key-a' }).send(user('Hello'), 'Hi');
    const other = ask(e, [user('Hello'), assistant('Hi'), user('x')], { partition: 'key-b' });
    expect(other).toMatchObject({ rule: 'first' });
    expect(other.sessionId).not.toBe(first.sessionId);
  });
});

describe('new sessions', () => {
  it('resets on a reset phrase, even with the old history attached, and later turns follow the new session', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const old = chat.send(user('Plan a trip to Rome'), 'Rome: day 1...').sessionId;
    const reset = chat.send(user("Let's START OVER. What's the weather?"), 'Sunny.');
    expect(reset).toMatchObject({ rule: 'reset_phrase', isNew: true });
    expect(reset.sessionId).not.toBe(old);
    expect(chat.send(user('And tomorrow?'), 'Rain.')).toMatchObject({ sessionId: reset.sessionId, rule: 'continued' });
    // Word boundaries: "restart overall" is not "start over".
    expect(new ScriptedChat(e).send(user('Hello'), 'x1').rule).toBe('first');
    const c2 = new ScriptedChat(e);
    c2.send(user('Q'), 'A');
    expect(c2.send(user('Please restart overall planning'), 'ok').rule).toBe('continued');
  });

  it('uses configured reset phrases and ignores tool results that contain one', () => {
    const e = engine({ reset_phrases: ['begin again'] });
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Search the logs'), toolCall('c1', 'grep', { q: 'error' }));
    expect(chat.send(toolResult('c1', 'line 3: user typed begin again'), 'Found it.').sessionId).toBe(s.sessionId);
    expect(chat.send(user('Begin again: new topic'), 'ok').rule).toBe('reset_phrase');
  });

  it('starts anew when the history drops by min_messages_for_new_session (count drop)', () => {
    const e = engine({ min_messages_for_new_session: 3 });
    const chat = new ScriptedChat(e);
    const s = chat.send(user('q1'), 'a1').sessionId;
    chat.send(user('q2'), 'a2');
    chat.send(user('q3'), 'a3');
    // Back to just after a1 with a new question: 4 messages fewer than the session has after a1.
    const dropped = ask(e, [user('q1'), assistant('a1'), user('q2 changed')]);
    expect(dropped).toMatchObject({ rule: 'count_drop', isNew: true });
    expect(dropped.sessionId).not.toBe(s);
    expect(e.metrics().resets.count_drop).toBe(1);
  });

  it('recognises a count drop however far back the history is cut', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('q1'), 'a1').sessionId;
    for (let turn = 2; turn <= 12; turn++) chat.send(user(`q${turn}`), `a${turn}`);
    const dropped = ask(e, [user('q1'), assistant('a1'), user('something else')]);
    expect(dropped).toMatchObject({ rule: 'count_drop', isNew: true });
    expect(dropped.sessionId).not.toBe(s);
  });

  it('honours a larger min_messages_for_new_session for the same drop', () => {
    const e = engine({ min_messages_for_new_session: 6 });
    const chat = new ScriptedChat(e);
    const s = chat.send(user('q1'), 'a1').sessionId;
    chat.send(user('q2'), 'a2');
    chat.send(user('q3'), 'a3');
    expect(ask(e, [user('q1'), assistant('a1'), user('q2 changed')]).sessionId).toBe(s);
  });

  it('splits on a change of subject only when context_break is enabled', () => {
    const text = 'Explain photosynthesis chlorophyll sunlight glucose plants leaves carbon dioxide oxygen';
    for (const enabled of [false, true]) {
      const e = engine({ context_break: { enabled, threshold: 0.2 } });
      const chat = new ScriptedChat(e);
      const s = chat.send(user(text), 'Plants convert sunlight into glucose.').sessionId;
      const next = chat.send(user('Recommend thriller novels about submarines, spies, espionage'), 'Try The Hunt for Red October.');
      if (enabled) expect(next).toMatchObject({ rule: 'context_break', isNew: true });
      else expect(next.sessionId).toBe(s);
    }
  });
});

describe('fuzzy matching', () => {
  function alteredEcho(session: Record<string, unknown>) {
    const e = engine(session);
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Explain recursion'), 'Recursion is when a function calls itself until a base case stops it.').sessionId;
    chat.send(user('Give an example'), 'Factorial is the classic example: n! = n * (n-1)!.');
    // The app keeps only the first words of each reply and reflows them.
    const altered = [
      user('Explain recursion'),
      assistant('**Recursion is when**...'),
      user('Give an example'),
      assistant('Factorial is the'),
      user('Another one?'),
    ];
    return { e, s, decision: ask(e, altered) };
  }

  it('continues a session whose replies came back shortened and reformatted', () => {
    const { e, s, decision } = alteredEcho({ fuzzy_matching: true, fuzzy_threshold: 0.8 });
    expect(decision).toMatchObject({ sessionId: s, rule: 'fuzzy' });
    expect(e.metrics().fuzzy_matches).toBe(1);
  });

  it('does not match fuzzily when fuzzy matching is off or the threshold is not met', () => {
    expect(alteredEcho({ fuzzy_matching: false }).decision.rule).toBe('first');
    const e = engine({ fuzzy_threshold: 0.9 });
    const chat = new ScriptedChat(e);
    chat.send(user('Explain recursion'), 'Recursion is when a function calls itself.');
    // Same opening words of the reply, but the user's own turn differs: 1 of 2 messages match (50%).
    expect(ask(e, [user('Explain iteration'), assistant('Recursion is when...'), user('more')]).rule).toBe('first');
  });

  it('respects fuzzy_max_diff on message counts', () => {
    const e = engine({ fuzzy_max_diff: 0, fuzzy_threshold: 0.5 });
    const chat = new ScriptedChat(e);
    chat.send(user('Explain recursion'), 'Recursion is when a function calls itself.');
    expect(ask(e, [user('Extra'), assistant('x'), user('Explain recursion'), assistant('Recursion is when...'), user('more')]).rule).toBe('first');
  });

  it('keeps any one of several n choices', () => {
    const e = engine();
    const first = ask(e, [user('Name a colour')]);
    e.recordReply(first, { replies: [assistant('Red'), assistant('Blue'), assistant('Green')] });
    expect(ask(e, [user('Name a colour'), assistant('Blue'), user('Why?')])).toMatchObject({ sessionId: first.sessionId, rule: 'continued' });
  });
});

describe('bounds', () => {
  it('evicts the least recently used session with every index entry at max_sessions', () => {
    const e = engine({ max_sessions: 2 });
    const a = new ScriptedChat(e);
    const b = new ScriptedChat(e);
    const c = new ScriptedChat(e);
    const sa = a.send(user('A'), `${'long reply A '.repeat(20)}\n\n${'second paragraph of A '.repeat(10)}`).sessionId;
    b.send(user('B'), 'rb');
    c.send(user('C'), 'rc');
    expect(e.metrics()).toMatchObject({ active_count: 2, total_created: 3, evicted: 1 });
    expect(a.send(user('again'), 'x')).toMatchObject({ rule: 'first' });
    expect(a.sessionIds[1]).not.toBe(sa);
    // Only the two live sessions own index entries; the evicted one's paragraphs are gone with it.
    const sizes = e.indexSizes();
    expect(sizes.sessions).toBe(2);
    expect(sizes.paragraphs).toBe(0);
    expect(sizes.replies).toBe(2);
  });

  it('expires idle sessions after session_ttl_seconds with an injected clock', () => {
    let now = 1_000_000;
    const e = engine({ session_ttl_seconds: 60 }, () => now);
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Hi'), 'Hello').sessionId;
    now += 30_000;
    expect(chat.send(user('still here'), 'yes').sessionId).toBe(s); // activity renews the TTL
    now += 61_000;
    expect(chat.send(user('back after lunch'), 'welcome').sessionId).not.toBe(s);
    expect(e.metrics().expired).toBe(1);
    expect(e.indexSizes()).toMatchObject({ sessions: 1 });
  });

  it('keeps memory per session flat however long the conversation', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    for (let i = 0; i < 200; i++) chat.send(user(`turn ${i}`), `reply ${i}`);
    expect(new Set(chat.sessionIds).size).toBe(1);
    expect(e.indexSizes().replies).toBeLessThanOrEqual(8);
  });

  it('removes a session and its entries when it is ended', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Hi'), 'Hello').sessionId;
    expect(e.end(s)).toBe(true);
    expect(chat.send(user('again'), 'x').sessionId).not.toBe(s);
    expect(e.metrics().ended).toBe(1);
  });
});

describe('metrics', () => {
  it('reports counts, hit rate, lengths and timings', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    chat.send(user('x'), 'y');
    chat.send(user('z'), 'w');
    chat.send(user('v'), 'u');
    const m = e.metrics();
    expect(m).toMatchObject({
      active_count: 1,
      total_created: 1,
      requests_considered: 3,
      cache_hit_rate: 0.667,
      average_session_length: 6,
      longest_session: 6,
    });
    expect(m.decisions).toMatchObject({ first: 1, continued: 2 });
    expect(m.performance.session_lookup_ms).toBeGreaterThanOrEqual(0);
    expect(m.performance.hash_computation_p99_ms).toBeGreaterThan(0);
  });
});
