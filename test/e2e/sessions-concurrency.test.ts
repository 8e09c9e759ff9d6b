// Many conversations in flight at once through both wire formats: every request must land in the session
// its own conversation started, whatever the interleaving.
import { afterEach, describe, expect, it } from 'vitest';
import type { Stack } from '../helpers/stack.js';
import { closeStacks, Conversation, GatewayClient, metrics, openStack, type Echo, type Sent } from './helpers.js';

afterEach(closeStacks);

const PER_FORMAT = 16;
const TURNS = 4;
const ECHOES: Echo[] = ['returned', 'plain', 'parts'];

interface Scripted {
  name: string;
  stack: Stack;
  chat: Conversation;
  turn(round: number): Promise<Sent>;
}

/** Conversation `i`: stream/echo/system/tools vary with i; a third of them open with the very same words. */
function script(stack: Stack, i: number): Scripted {
  const format = stack.config.llm.type;
  const name = `${format}#${i}`;
  const tools = i % 5 === 4;
  const system = i % 4 === 1 ? () => `You are agent ${i % 2}. Time: ${process.hrtime.bigint()}` : undefined;
  const chat = new Conversation(new GatewayClient(stack), { stream: i % 2 === 1, echo: ECHOES[i % 3], tools, system });
  const sameWords = i % 3 === 0;
  const say = ['Hello', 'Tell me more', 'Go on', 'Thanks'];
  return {
    name,
    stack,
    chat,
    turn(round) {
      // Distinct scripted replies, sharing their opening words across conversations.
      const reply = `Hello! Happy to help. This is the answer for conversation ${name}, turn ${round + 1}.`;
      if (tools && round % 2 === 1) return chat.answerTools(`{"result": "${name}-${round}"}`, { reply });
      const text = sameWords ? say[round] : `Hello, I need help with project ${name}, step ${round + 1}`;
      return chat.say(text, { reply });
    },
  };
}

describe('concurrent conversations', () => {
  it(`keeps ${2 * PER_FORMAT} interleaved conversations (both formats, JSON and streamed) in their own sessions`, async () => {
    const stacks = [await openStack({ type: 'openai' }), await openStack({ type: 'anthropic' })];
    const all = stacks.flatMap((stack) => Array.from({ length: PER_FORMAT }, (_, i) => script(stack, i)));
    for (let round = 0; round < TURNS; round++) {
      // Every conversation's turn is in flight at the same time, formats and stream modes mixed.
      await Promise.all(all.map((c) => c.turn(round)));
    }
    for (const c of all) {
      const truth = c.chat.sessionIds[0];
      expect(truth, c.name).toMatch(/^sess_/);
      expect(c.chat.sessionIds, c.name).toEqual(Array(TURNS).fill(truth));
      expect(c.chat.rules, c.name).toEqual(['first', 'continued', 'continued', 'continued']);
    }
    expect(new Set(all.map((c) => c.chat.sessionIds[0])).size).toBe(all.length);
    // The tool conversations really went through tool calls.
    expect(all.filter((c) => c.chat.turns[0].reply.toolCalls.length > 0)).toHaveLength(2 * Math.floor(PER_FORMAT / 5));
    for (const stack of stacks) {
      expect(await metrics(stack)).toMatchObject({
        active_count: PER_FORMAT,
        total_created: PER_FORMAT,
        requests_considered: PER_FORMAT * TURNS,
        decisions: { first: PER_FORMAT, continued: PER_FORMAT * (TURNS - 1), retry: 0, fuzzy: 0 },
      });
    }
  });

  it('keeps a request and its concurrent duplicate (a client retry racing the original) in one session', async () => {
    const stack = await openStack({ type: 'openai' });
    const chats = Array.from({ length: 12 }, (_, i) => new Conversation(new GatewayClient(stack), { stream: i % 2 === 0 }));
    await Promise.all(chats.map((chat, i) => chat.say(`Hello from ${i}`)));
    await Promise.all(chats.map((chat, i) => chat.say(`Question ${i}`)));
    // The same third request twice at once, for every conversation.
    const pairs = await Promise.all(
      chats.map((chat, i) =>
        Promise.all([
          chat.sendRaw([...chat.history, { role: 'user', content: `Again ${i}` }]),
          chat.sendRaw([...chat.history, { role: 'user', content: `Again ${i}` }]),
        ]),
      ),
    );
    pairs.forEach(([a, b], i) => {
      expect([a.sessionId, b.sessionId]).toEqual([chats[i].sessionIds[0], chats[i].sessionIds[0]]);
      expect(a.isNew || b.isNew).toBe(false);
    });
    expect((await metrics(stack)).total_created).toBe(12);
  });
});
