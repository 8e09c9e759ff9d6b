// Long replies still link the next turn (docs/interceptors.md, "Reply size"): the gateway keeps only a
// bounded part of a reply, so a text or tool-argument field above 64 KB is compared by length and SHA-256
// on both sides. A client that echoes a multi-megabyte reply must land in the same session, by the
// `continued` rule, for both wire formats, streamed and JSON.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const FIVE_MB = 5 * 1024 * 1024;
const large = (bytes: number) => ({ headers: { 'x-sim-reply-bytes': String(bytes), 'x-sim-delta-bytes': '4000' } });

/** The rule the gateway logged for a request (its `session decision` line). */
function ruleOf(s: Stack, requestId: string | null): unknown {
  return s.logs.find((line) => line.msg === 'session decision' && line.request_id === requestId)?.rule;
}

const weatherTool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: { data: { type: 'string' } } } } };

describe('OpenAI chat', () => {
  const client = (s: Stack) => new OpenAI({ apiKey: 'sk-long', baseURL: `${s.url}/v1`, maxRetries: 0 });

  it.each([true, false])('continues the session after a 5 MB reply (streamed: %s)', async (stream) => {
    stack = await startStack();
    const openai = client(stack);
    const question = { role: 'user' as const, content: `Write a lot (${stream})` };
    let text = '';
    let session: string | null;
    if (stream) {
      const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages: [question], stream: true }, large(FIVE_MB)).withResponse();
      for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
      session = response.headers.get('x-session-id');
    } else {
      const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages: [question] }, large(FIVE_MB)).withResponse();
      text = data.choices[0].message.content ?? '';
      session = response.headers.get('x-session-id');
    }
    expect(text.length).toBe(FIVE_MB);

    const next = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [question, { role: 'assistant', content: text }, { role: 'user', content: 'Shorter please' }] })
      .withResponse();
    expect(next.response.headers.get('x-session-id')).toBe(session);
    expect(ruleOf(stack, next.response.headers.get('x-request-id'))).toBe('continued');
  });

  it('continues the session after a streamed tool call with 300 KB of arguments', async () => {
    stack = await startStack();
    const openai = client(stack);
    const question = { role: 'user' as const, content: 'Call the tool with a lot' };
    const { data, response } = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [question], tools: [weatherTool], stream: true }, large(300_000))
      .withResponse();
    let id = '';
    let args = '';
    for await (const chunk of data) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      id ||= call?.id ?? '';
      args += call?.function?.arguments ?? '';
    }
    expect(args.length).toBeGreaterThan(290_000);
    // The client re-serialises the arguments (other spacing, other key order): still the same call.
    const reserialised = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(args)).reverse()), null, 1);
    const next = await openai.chat.completions
      .create({
        model: 'gpt-4o',
        messages: [
          question,
          { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'lookup', arguments: reserialised } }] },
          { role: 'tool', tool_call_id: id, content: 'done' },
        ],
      })
      .withResponse();
    expect(next.response.headers.get('x-session-id')).toBe(response.headers.get('x-session-id'));
    expect(ruleOf(stack, next.response.headers.get('x-request-id'))).toBe('continued');
  });
});

describe('Anthropic messages', () => {
  const client = (s: Stack) => new Anthropic({ apiKey: 'sk-ant-long', baseURL: s.url, maxRetries: 0 });

  it.each([true, false])('continues the session after a 5 MB reply (streamed: %s)', async (stream) => {
    stack = await startStack({ type: 'anthropic' });
    const anthropic = client(stack);
    const question = { role: 'user' as const, content: `Write a lot (${stream})` };
    let text = '';
    let session: string | null;
    if (stream) {
      const { data, response } = await anthropic.messages
        .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [question], stream: true }, large(FIVE_MB))
        .withResponse();
      for await (const event of data) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      session = response.headers.get('x-session-id');
    } else {
      const { data, response } = await anthropic.messages
        .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [question] }, large(FIVE_MB))
        .withResponse();
      text = data.content[0].type === 'text' ? data.content[0].text : '';
      session = response.headers.get('x-session-id');
    }
    expect(text.length).toBe(FIVE_MB);

    const next = await anthropic.messages
      .create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        messages: [question, { role: 'assistant', content: [{ type: 'text', text }] }, { role: 'user', content: 'Shorter please' }],
      })
      .withResponse();
    expect(next.response.headers.get('x-session-id')).toBe(session);
    expect(ruleOf(stack, next.response.headers.get('x-request-id'))).toBe('continued');
  });

  it('continues the session after a streamed tool_use with 300 KB of input', async () => {
    stack = await startStack({ type: 'anthropic' });
    const anthropic = client(stack);
    const question = { role: 'user' as const, content: 'Call the tool with a lot' };
    const tools = [{ name: 'lookup', input_schema: { type: 'object' as const, properties: { data: { type: 'string' } } } }];
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [question], tools }, large(300_000));
    const message = await stream.finalMessage();
    const session = (await stream.withResponse()).response.headers.get('x-session-id');
    const toolUse = message.content.find((block) => block.type === 'tool_use')!;
    expect(JSON.stringify(toolUse.input).length).toBeGreaterThan(290_000);
    // The SDK parsed the streamed JSON and sends it back re-serialised (no spaces, its own key order).
    const next = await anthropic.messages
      .create({
        model: 'claude-haiku-4-5',
        max_tokens: 10,
        tools,
        messages: [
          question,
          { role: 'assistant', content: message.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'done' }] },
        ],
      })
      .withResponse();
    expect(next.response.headers.get('x-session-id')).toBe(session);
    expect(ruleOf(stack, next.response.headers.get('x-request-id'))).toBe('continued');
  });
});
