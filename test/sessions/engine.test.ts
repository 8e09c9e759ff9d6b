// The first session engine alone: no HTTP, canonical histories in, decisions out.
import { describe, expect, it } from 'vitest';
import { CanonicalBuilder, type CanonicalMessage, type ConversationHistory } from '../../src/sessions/canonical.js';
import { ContinuationEngine } from '../../src/sessions/engine.js';
import type { SessionRequest } from '../../src/sessions/types.js';

const user = (text: string): CanonicalMessage => new CanonicalBuilder().text(text).build('user');
const assistant = (text: string): CanonicalMessage => new CanonicalBuilder().text(text).build('assistant');
const history = (...messages: CanonicalMessage[]): ConversationHistory => ({ system: [], messages });
const request = (h: ConversationHistory, extra: Partial<SessionRequest> = {}): SessionRequest => ({ partition: 'key-a', history: h, ...extra });

function engine(overrides: Partial<ConstructorParameters<typeof ContinuationEngine>[0]> = {}) {
  return new ContinuationEngine({ max_sessions: 100, session_ttl_seconds: 3600, ...overrides });
}

/** Runs one turn: decide, then record the given reply, as the proxy does. */
function turn(e: ContinuationEngine, h: ConversationHistory, reply: string, extra: Partial<SessionRequest> = {}) {
  const decision = e.decide(request(h, extra));
  e.recordReply(decision, { replies: [assistant(reply)] });
  return decision;
}

describe('ContinuationEngine', () => {
  it('starts a session on a first request and continues it when the reply comes back', () => {
    const e = engine();
    const first = turn(e, history(user('Hello')), 'Hi there!');
    expect(first).toMatchObject({ isNew: true, rule: 'first' });
    expect(first.sessionId).toMatch(/^sess_[a-z2-7]{20}$/);
    const second = turn(e, history(user('Hello'), assistant('Hi there!'), user('How are you?')), 'Fine.');
    expect(second).toMatchObject({ sessionId: first.sessionId, isNew: false, rule: 'continued' });
    const third = e.decide(request(history(user('Hello'), assistant('Hi there!'), user('How are you?'), assistant('Fine.'), user('Bye'))));
    expect(third.sessionId).toBe(first.sessionId);
  });

  it('ignores the system prompt, which clients rewrite every request', () => {
    const e = engine();
    const first = turn(e, { system: ['time: 10:00'], messages: [user('Hello')] }, 'Hi');
    const next = e.decide(request({ system: ['time: 10:01'], messages: [user('Hello'), assistant('Hi'), user('more')] }));
    expect(next.sessionId).toBe(first.sessionId);
  });

  it('keeps identical first requests apart', () => {
    const e = engine();
    const a = turn(e, history(user('Hello')), 'Hi A');
    const b = turn(e, history(user('Hello')), 'Hi B');
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(e.decide(request(history(user('Hello'), assistant('Hi A'), user('x')))).sessionId).toBe(a.sessionId);
    expect(e.decide(request(history(user('Hello'), assistant('Hi B'), user('x')))).sessionId).toBe(b.sessionId);
  });

  it('never links across partitions', () => {
    const e = engine();
    const a = turn(e, history(user('Hello')), 'Hi');
    const other = e.decide(request(history(user('Hello'), assistant('Hi'), user('x')), { partition: 'key-b' }));
    expect(other.sessionId).not.toBe(a.sessionId);
    expect(other.rule).toBe('first');
  });

  it('uses an explicit id as given, and links previous_response_id to its session', () => {
    const e = engine();
    const named = e.decide(request(history(user('Hi')), { explicitId: 'my-session' }));
    expect(named).toMatchObject({ sessionId: 'my-session', rule: 'explicit', isNew: true });
    expect(e.decide(request(history(user('Hi')), { explicitId: 'my-session' })).isNew).toBe(false);

    const first = e.decide(request(history(user('Story'))));
    e.recordReply(first, { replies: [assistant('Once...')], responseId: 'resp_1' });
    const next = e.decide(request(history(user('Shorter')), { previousResponseId: 'resp_1' }));
    expect(next).toMatchObject({ sessionId: first.sessionId, rule: 'previous_response' });
  });

  it('evicts the least recently used session and its index entries at max_sessions', () => {
    const e = engine({ max_sessions: 2 });
    const a = turn(e, history(user('A')), 'ra');
    turn(e, history(user('B')), 'rb');
    turn(e, history(user('C')), 'rc');
    expect(e.snapshot()).toMatchObject({ active_count: 2, total_created: 3 });
    const afterEviction = e.decide(request(history(user('A'), assistant('ra'), user('again'))));
    expect(afterEviction.sessionId).not.toBe(a.sessionId);
    expect(afterEviction.rule).toBe('first');
  });

  it('counts requests considered and continued', () => {
    const e = engine();
    turn(e, history(user('x')), 'y');
    turn(e, history(user('x'), assistant('y'), user('z')), 'w');
    expect(e.snapshot()).toMatchObject({ considered: 2, continued: 1, total_created: 1, active_count: 1 });
  });
});
