// Explicit session names (a client-given name wins over detection) through the SDKs: headers, vendor headers, body metadata,
// never per-request ids; and the OpenAI Responses API's previous_response_id chain.
import type OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { closeStacks, Conversation, decisionLogs, GatewayClient, MATRIX, metrics, openStack, stackPerTest } from './helpers.js';

afterEach(closeStacks);

for (const { format, stream, label } of MATRIX) {
  describe(label, () => {
    const env = stackPerTest(format);
    const chat = () => new Conversation(env.client, { stream });

    it('uses the x-session-id header as given, across unrelated content', async () => {
      const headers = { 'x-session-id': 'my-chat-1' };
      const a = await chat().say('Plan a garden', { headers });
      const b = await chat().say('Something completely different', { headers });
      expect(a).toMatchObject({ sessionId: 'my-chat-1', rule: 'explicit', isNew: true });
      expect(b).toMatchObject({ sessionId: 'my-chat-1', rule: 'explicit', isNew: false });
      // The header also wins over detection inside a conversation that would continue anyway.
      const c = chat();
      const detected = (await c.say('Hello')).sessionId;
      expect(await c.say('Go on', { headers: { 'x-session-id': 'renamed-7' } })).toMatchObject({ sessionId: 'renamed-7', rule: 'explicit' });
      expect(detected).toMatch(/^sess_/);
      expect((await metrics(env.stack)).explicit).toBe(3);
    });

    it("uses a vendor's x-<vendor>-session-id header and body metadata.session_id", async () => {
      const vendor = chat();
      await vendor.say('Refactor the parser', { headers: { 'x-claude-code-session-id': 'cc-7f3a9e' } });
      await vendor.say('Now the lexer', { headers: { 'x-claude-code-session-id': 'cc-7f3a9e' } });
      expect(vendor.sessionIds).toEqual(['cc-7f3a9e', 'cc-7f3a9e']);
      const meta = chat();
      await meta.say('Hi from the body', { metadata: { session_id: 'meta-42' } });
      expect(meta.turns[0]).toMatchObject({ sessionId: 'meta-42', rule: 'explicit' });
      expect((env.stack.sim.requests.at(-1)!.body as { metadata: unknown }).metadata).toEqual({ session_id: 'meta-42' });
    });

    it('sanitises and caps explicit names', async () => {
      const odd = await chat().say('Hi', { headers: { 'x-session-id': 'team a/run #1' } });
      expect(odd.sessionId).toBe('team_a_run__1');
      const long = await chat().say('Hi', { headers: { 'x-session-id': 'x'.repeat(300) } });
      expect(long.sessionId).toBe('x'.repeat(128));
    });

    it('joins two identical first requests only when an explicit id says so', async () => {
      const a = await chat().say('Hello', { headers: { 'x-session-id': 'joined' } });
      const b = await chat().say('Hello', { headers: { 'x-session-id': 'joined' } });
      expect([a.sessionId, b.sessionId]).toEqual(['joined', 'joined']);
      const c = await chat().say('Hello');
      const d = await chat().say('Hello');
      expect(c.sessionId).not.toBe(d.sessionId);
    });

    it('never takes x-request-id or x-client-request-id as a session id', async () => {
      const headers = { 'x-request-id': 'req-client-1', 'x-client-request-id': 'creq-1' };
      const one = chat();
      const two = chat();
      const a = await one.say('First conversation', { headers });
      const b = await two.say('Second conversation', { headers });
      expect(a.sessionId).toMatch(/^sess_/);
      expect(b.sessionId).toMatch(/^sess_/);
      expect(a.sessionId).not.toBe(b.sessionId);
      expect([a.rule, b.rule]).toEqual(['first', 'first']);
      expect(await one.say('Go on', { headers })).toMatchObject({ sessionId: a.sessionId, rule: 'continued' });
      expect((await metrics(env.stack)).explicit).toBe(0);
    });
  });
}

describe('OpenAI Responses API', () => {
  let stack: Stack;
  let responses: OpenAI['responses'];
  beforeEach(async () => {
    stack = await openStack({ type: 'openai' });
    responses = new GatewayClient(stack).responses;
  });
  const ruleOf = (response: Response) => decisionLogs(stack).find((l) => l.request_id === response.headers.get('x-request-id'))?.rule;

  /** One Responses call; returns the response id and the session header. */
  async function create(stream: boolean, input: string, previous?: string) {
    const params = { model: 'gpt-4o', input, ...(previous ? { previous_response_id: previous } : {}) };
    if (!stream) {
      const { data, response } = await responses.create(params).withResponse();
      return { id: data.id, session: response.headers.get('x-session-id'), rule: ruleOf(response), text: data.output_text };
    }
    const { data, response } = await responses.create({ ...params, stream: true }).withResponse();
    let id = '';
    let text = '';
    for await (const event of data) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') id = event.response.id;
    }
    return { id, session: response.headers.get('x-session-id'), rule: ruleOf(response), text };
  }

  for (const stream of [false, true]) {
    it(`continues the session named by previous_response_id (${stream ? 'streamed' : 'JSON'})`, async () => {
      const first = await create(stream, 'Tell me a story about a lighthouse');
      expect(first).toMatchObject({ rule: 'first', text: 'Reply to: Tell me a story about a lighthouse' });
      expect(first.id).toMatch(/^resp_/);
      const second = await create(stream, 'Make it shorter', first.id);
      const third = await create(stream, 'Now give it a title', second.id);
      expect([second.session, third.session]).toEqual([first.session, first.session]);
      expect([second.rule, third.rule]).toEqual(['continued', 'continued']);
      // Another story, and an id the gateway never returned: new sessions.
      const other = await create(stream, 'Tell me a story about a lighthouse');
      const unknown = await create(stream, 'Make it shorter', 'resp_never_returned_by_this_gateway');
      expect(new Set([first.session, other.session, unknown.session]).size).toBe(3);
      // Branching from an older response stays in the session too.
      expect((await create(stream, 'A different ending', first.id)).session).toBe(first.session);
    });
  }
});
