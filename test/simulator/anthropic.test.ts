// The simulator must look exactly like api.anthropic.com to the official SDK, streamed and not.
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

let sim: Simulator;
let client: Anthropic;

beforeEach(async () => {
  sim = await startSimulator();
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: sim.url, maxRetries: 0 });
});
afterEach(async () => {
  await sim.close();
});

const model = 'claude-haiku-4-5';
const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
    required: ['city'],
  },
};
/** The error a request failed with (fails the test if it succeeded). */
async function rejection<E>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected the request to fail');
}

const question = [{ role: 'user' as const, content: 'How are you today?' }];

describe('messages', () => {
  it('answers non-streaming text with usage', async () => {
    const msg = await client.messages.create({ model, max_tokens: 100, system: 'Be nice.', messages: question });
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.content).toEqual([{ type: 'text', text: 'Reply to: How are you today?' }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage).toEqual({ input_tokens: Math.ceil(sim.requests[0].rawBody.length / 4), output_tokens: 6 });
    expect(sim.requests[0].headers['x-api-key']).toBe('sk-ant-test');
  });

  it('accepts system blocks and block content, and counts turns', async () => {
    const msg = await client.messages.create({
      model,
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be nice.' }],
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: [{ type: 'text', text: 'Reply to: first' }] },
        { role: 'user', content: [{ type: 'text', text: 'second question' }] },
      ],
    });
    expect(msg.content[0]).toEqual({ type: 'text', text: 'Reply to: second question (turn 2)' });
  });

  it('streams the same text through messages.stream', async () => {
    const plain = await client.messages.create({ model, max_tokens: 100, messages: question });
    const stream = client.messages.stream({ model, max_tokens: 100, messages: question });
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    expect(final.content).toEqual(plain.content);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(deltas.length).toBeGreaterThan(3);
  });

  it('emits the Anthropic event sequence', async () => {
    const stream = await client.messages.create({ model, max_tokens: 100, messages: question, stream: true });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(3);
  });

  it('uses the first tool, then answers a tool_result with text', async () => {
    const msg = await client.messages.create({ model, max_tokens: 100, messages: question, tools: [weatherTool] });
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content[0].type).toBe('text');
    const toolUse = msg.content[1];
    if (toolUse?.type !== 'tool_use') throw new Error('expected a tool_use block');
    expect(toolUse.id).toMatch(/^toolu_/);
    expect(toolUse.name).toBe('get_weather');
    expect(toolUse.input).toEqual({ city: 'sim-city', days: 1 });

    const followUp = await client.messages.create({
      model,
      max_tokens: 100,
      tools: [weatherTool],
      messages: [
        ...question,
        { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'sunny' }] },
      ],
    });
    expect(followUp.stop_reason).toBe('end_turn');
    expect(followUp.content).toEqual([{ type: 'text', text: 'Reply to: sunny (turn 2)' }]);
  });

  it('streams tool_use as input_json_delta pieces the SDK reassembles', async () => {
    const final = await client.messages.stream({ model, max_tokens: 100, messages: question, tools: [weatherTool] }).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    const toolUse = final.content.find((b) => b.type === 'tool_use');
    if (toolUse?.type !== 'tool_use') throw new Error('expected a tool_use block');
    expect(typeof toolUse.input).toBe('object');
    expect(toolUse.input).toEqual({ city: 'sim-city', days: 1 });
  });

  it('counts tokens', async () => {
    const res = await client.messages.countTokens({ model, messages: question });
    expect(res.input_tokens).toBe(Math.ceil(sim.requests[0].rawBody.length / 4));
  });

  it('lists models in the Anthropic shape', async () => {
    const page = await client.models.list();
    expect(page.data[0].type).toBe('model');
  });
});

describe('errors and controls', () => {
  it('surfaces simulated statuses as APIError with the Anthropic error shape', async () => {
    for (const [status, type] of [
      [429, 'rate_limit_error'],
      [529, 'overloaded_error'],
      [500, 'api_error'],
    ] as const) {
      const err = await rejection<InstanceType<typeof Anthropic.APIError>>(
        client.messages.create({ model, max_tokens: 10, messages: question }, { headers: { 'x-sim-status': String(status) } }),
      );
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(err.status).toBe(status);
      expect(err.error).toEqual({ type: 'error', error: { type, message: expect.any(String) } });
    }
  });

  it('requireApiKey rejects other keys with 401', async () => {
    const locked = await startSimulator({ requireApiKey: 'sk-ant-right' });
    try {
      const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: locked.url, maxRetries: 0 });
      const err = await wrong.messages.create({ model, max_tokens: 10, messages: question }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      const right = new Anthropic({ apiKey: 'sk-ant-right', baseURL: locked.url, maxRetries: 0 });
      expect((await right.messages.create({ model, max_tokens: 10, messages: question })).type).toBe('message');
    } finally {
      await locked.close();
    }
  });

  it('counts a client abort mid-stream', async () => {
    const stream = client.messages.stream(
      { model, max_tokens: 100, messages: [{ role: 'user', content: 'a b c d e f g h' }] },
      { headers: { 'x-sim-chunk-delay-ms': '50' } },
    );
    const outcome = stream.finalMessage().catch((e: unknown) => e);
    await new Promise<void>((resolve) => stream.once('text', () => resolve()));
    stream.abort();
    await sim.waitForAbort();
    expect(sim.abortedCount).toBe(1);
    expect(await outcome).toBeInstanceOf(Anthropic.APIUserAbortError);
  });
});
