// Continuation through HTTP (a history that contains a reply the gateway returned continues its session): real SDK clients, both wire formats, JSON and streamed.
// Every request's X-Session-ID is checked against the conversation the script knows it belongs to.
import { afterEach, describe, expect, it } from 'vitest';
import { closeStacks, Conversation, MATRIX, metrics, stackPerTest, userMessage, type Echo } from './helpers.js';

afterEach(closeStacks);

const SESSION_ID = /^sess_[a-z2-7]{20}$/;

for (const { format, stream, label } of MATRIX) {
  describe(label, () => {
    const env = stackPerTest(format);

    it('starts a session on the first request and continues it for every later turn', async () => {
      const chat = new Conversation(env.client, { stream });
      const first = await chat.say('Plan a vegetable garden');
      expect(first).toMatchObject({ rule: 'first', isNew: true });
      expect(first.sessionId).toMatch(SESSION_ID);
      expect(first.reply.text).toBe('Reply to: Plan a vegetable garden');
      for (const question of ['Add tomatoes', 'And basil', 'How often should I water?']) await chat.say(question);
      expect(chat.lastReply.text).toBe('Reply to: How often should I water? (turn 4)');
      expect(chat.sessionIds).toEqual(Array(4).fill(first.sessionId));
      expect(chat.rules).toEqual(['first', 'continued', 'continued', 'continued']);
      expect(await metrics(env.stack)).toMatchObject({ active_count: 1, total_created: 1, requests_considered: 4, cache_hit_rate: 0.75, longest_session: 8 });
    });

    it.each<Echo>(['returned', 'plain', 'parts'])('keeps the session when the client echoes replies %s', async (echo) => {
      const chat = new Conversation(env.client, { stream, echo });
      const first = await chat.say('Explain TCP slow start');
      for (const question of ['And congestion avoidance?', 'What is fast retransmit?', 'Summarise in one line']) await chat.say(question);
      expect(chat.sessionIds).toEqual(Array(4).fill(first.sessionId));
      // What the provider saw is the shape the client chose.
      const echoed = (env.stack.sim.requests.at(-1)!.body as { messages: { role: string }[] }).messages.filter((m) => m.role === 'assistant');
      expect(echoed).toHaveLength(3);
      const text = 'Reply to: Explain TCP slow start';
      const shapes = {
        openai: {
          returned: { role: 'assistant', content: text, refusal: null, annotations: [] },
          plain: { role: 'assistant', content: text },
          parts: { role: 'assistant', content: [{ type: 'text', text }] },
        },
        anthropic: {
          returned: { role: 'assistant', content: [{ type: 'text', text }] },
          plain: { role: 'assistant', content: text },
          parts: { role: 'assistant', content: [{ type: 'text', text }] },
        },
      };
      expect(echoed[0]).toEqual(shapes[format][echo]);
    });

    it('keeps the session when the echo shape changes from turn to turn and ends gain whitespace', async () => {
      const chat = new Conversation(env.client, { stream, alter: (text) => `${text}\n\n` });
      const first = await chat.say('Compare TCP and UDP');
      for (const echo of ['plain', 'parts', 'returned'] as const) {
        chat.options.echo = echo;
        await chat.say(`Now as ${echo}`);
      }
      expect(chat.sessionIds).toEqual(Array(4).fill(first.sessionId));
      expect(chat.rules).toEqual(['first', 'continued', 'continued', 'continued']);
    });

    it('follows a tool loop over two rounds of calls and results', async () => {
      const chat = new Conversation(env.client, { stream, tools: true });
      const first = await chat.say('Weather in Paris?');
      expect(first.reply.toolCalls).toHaveLength(1);
      expect(JSON.parse(first.reply.toolCalls[0].args)).toEqual({ city: 'sim-city' });
      const answer = await chat.answerTools('{"temp_c": 21, "sky": "clear"}');
      expect(answer.reply.toolCalls).toHaveLength(0);
      const second = await chat.say('And in Rome?');
      expect(second.reply.toolCalls).toHaveLength(1);
      expect(second.reply.toolCalls[0].id).not.toBe(first.reply.toolCalls[0].id);
      await chat.answerTools('{"temp_c": 25, "sky": "sunny"}');
      await chat.say('Which city is warmer?');
      expect(chat.sessionIds).toEqual(Array(5).fill(first.sessionId));
      expect(chat.rules).toEqual(['first', 'continued', 'continued', 'continued', 'continued']);
      // The provider really received tool results.
      const last = env.stack.sim.requests.at(-1)!.body as { messages: { role: string; content: unknown }[] };
      const results =
        format === 'openai'
          ? last.messages.filter((m) => m.role === 'tool')
          : last.messages.filter((m) => Array.isArray(m.content) && (m.content as { type: string }[])[0]?.type === 'tool_result');
      expect(results).toHaveLength(2);
    });

    it('keeps the session for a retried request and for an edited last user message', async () => {
      const chat = new Conversation(env.client, { stream });
      const session = (await chat.say('Write a poem about the sea')).sessionId;
      await chat.say('Make it longer');
      // Retry: exactly the previous request again (network error, regenerate button).
      const retry = await chat.sendRaw(chat.history.slice(0, -1));
      expect(retry).toMatchObject({ sessionId: session, rule: 'retry', isNew: false });
      // Edit: the client drops the last exchange and sends a rewritten question instead.
      chat.replaceHistory(chat.history.slice(0, -2));
      const edited = await chat.say('Make it shorter and funnier');
      expect(edited).toMatchObject({ sessionId: session, isNew: false });
      expect(await chat.say('Now add a title')).toMatchObject({ sessionId: session, rule: 'continued' });
      expect(chat.sessionIds).toEqual(Array(4).fill(session));
    });

    it('keeps the session when the client trims its oldest messages (sliding window)', async () => {
      const chat = new Conversation(env.client, { stream });
      const session = (await chat.say('Turn one: list prime numbers')).sessionId;
      for (const n of ['two', 'three', 'four', 'five']) await chat.say(`Turn ${n}: continue`);
      chat.replaceHistory(chat.history.slice(-4)); // the last two exchanges only, latest reply kept
      expect(await chat.say('Turn six: continue')).toMatchObject({ sessionId: session, rule: 'continued' });
      chat.replaceHistory(chat.history.slice(-2)); // only the last exchange
      expect(await chat.say('Turn seven: continue')).toMatchObject({ sessionId: session, rule: 'continued' });
      expect((env.stack.sim.requests.at(-1)!.body as { messages: unknown[] }).messages).toHaveLength(3);
      expect(chat.sessionIds).toEqual(Array(7).fill(session));
    });

    it('keeps the session when the system prompt changes on every request', async () => {
      let nonce = 0;
      const system = () => `You are a helpful assistant. Current time: ${new Date(Date.now() + nonce * 1000).toISOString()}. Nonce: ${++nonce}.`;
      const chat = new Conversation(env.client, { stream, system });
      const session = (await chat.say('What should I read next?')).sessionId;
      for (const question of ['Something shorter', 'By a living author', 'Thanks']) await chat.say(question);
      expect(chat.sessionIds).toEqual(Array(4).fill(session));
      const systems = env.stack.sim.requests.map((r) => {
        const body = r.body as { system?: string; messages: { role: string; content: string }[] };
        return format === 'openai' ? body.messages[0].content : body.system;
      });
      expect(new Set(systems).size).toBe(4);
    });

    it('follows a history compacted into a summary the gateway returned', async () => {
      const chat = new Conversation(env.client, { stream });
      const session = (await chat.say("Let's design a database schema for a lending library")).sessionId;
      await chat.say('How should loans work?');
      const summary = [
        'Summary so far: we are designing a lending library database with tables for books, members and loans, and foreign keys from loans to books and to members.',
        'Decisions taken: every loan carries a due date and a returned_at timestamp, and members may borrow at most five books at the same time.',
        'Open question: should reservations be a separate table, or a status column on the loans table with a queue position?',
      ].join('\n\n');
      const summarised = await chat.say('Summarise our conversation so far, please.', { reply: summary });
      expect(summarised.reply.text).toBe(summary);
      // The client throws the old turns away and starts a fresh history that quotes the summary.
      chat.replaceHistory([
        userMessage(`This conversation continues an earlier one. Its summary:\n\n${summary}\n\nLet us continue: reservations as a separate table?`),
      ]);
      expect(await chat.exchange()).toMatchObject({ sessionId: session, rule: 'compaction', isNew: false });
      expect(await chat.say('Good. Write the CREATE TABLE statement.')).toMatchObject({ sessionId: session, rule: 'continued' });
      expect(chat.sessionIds).toEqual(Array(5).fill(session));
      expect((await metrics(env.stack)).total_created).toBe(1);
    });
  });
}
