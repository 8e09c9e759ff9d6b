// The gateway as an Anthropic user sees it: the official SDK pointed at the gateway.
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejection, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let client: Anthropic;
const model = 'claude-haiku-4-5';

beforeEach(async () => {
  stack = await startStack({ type: 'anthropic' });
  client = new Anthropic({ apiKey: 'sk-ant-client-key', baseURL: stack.url, maxRetries: 0 });
});
afterEach(async () => stack.close());

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('messages through the gateway', () => {
  it('answers JSON with gateway and provider headers', async () => {
    const { data, response } = await client.messages
      .create({ model, max_tokens: 100, system: 'Be kind.', messages: [{ role: 'user', content: 'Hello there' }] })
      .withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'Reply to: Hello there' });
    expect(response.headers.get('x-provider')).toBe('anthropic');
    expect(response.headers.get('x-session-id')).toMatch(/^sess_/);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('4000');
    expect(stack.sim.requests[0].headers['x-api-key']).toBe('sk-ant-client-key');
  });

  it('keeps a conversation in one session across JSON and streamed turns', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Plan a trip' }];
    const first = await client.messages.create({ model, max_tokens: 100, messages }).withResponse();
    const session = first.response.headers.get('x-session-id');
    messages.push({ role: 'assistant', content: first.data.content }, { role: 'user', content: 'Three days' });

    const stream = client.messages.stream({ model, max_tokens: 100, messages });
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const streamed = await stream.finalMessage();
    expect(texts.length).toBeGreaterThan(2);
    expect(streamed.content[0]).toMatchObject({ type: 'text', text: 'Reply to: Three days (turn 2)' });
    // Echo the streamed reply as plain text this time: a different shape, the same canonical message.
    messages.push({ role: 'assistant', content: (streamed.content[0] as Anthropic.TextBlock).text }, { role: 'user', content: 'Cheaper' });

    const third = await client.messages.create({ model, max_tokens: 100, messages }).withResponse();
    expect(third.response.headers.get('x-session-id')).toBe(session);
  });

  for (const streamed of [false, true]) {
    it(`runs a tool_use loop in one session (${streamed ? 'streamed' : 'JSON'})`, async () => {
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Rome?' }];
      const ask = async () => {
        if (streamed) return client.messages.stream({ model, max_tokens: 100, messages, tools: [weatherTool] }).finalMessage();
        return client.messages.create({ model, max_tokens: 100, messages, tools: [weatherTool] });
      };
      const first = await ask();
      const toolUse = first.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
      expect(toolUse?.input).toHaveProperty('city');
      messages.push(
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: toolUse!.id, content: 'sunny, 24C' }],
        },
      );
      const second = await ask();
      expect(second.content[0]).toMatchObject({ type: 'text' });
      const decisions = stack.logs.filter((l) => l.msg === 'session decision');
      expect(decisions.map((d) => d.rule)).toEqual(['first', 'continued']);
      expect(decisions[0].session_id).toBe(decisions[1].session_id);
    });
  }

  it('injects the configured key as x-api-key when the client sends none', async () => {
    const response = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(stack.sim.requests[0].headers['x-api-key']).toBe('sk-configured-secret');
    expect(stack.sim.requests[0].headers.authorization).toBeUndefined();
  });

  it('proxies count_tokens and passes provider errors through', async () => {
    const count = await client.messages.countTokens({ model, messages: [{ role: 'user', content: 'count me' }] });
    expect(count.input_tokens).toBeGreaterThan(0);
    const error = await rejection<InstanceType<typeof Anthropic.APIError>>(
      client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sim-status': '529' } }),
    );
    expect(error.status).toBe(529);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });
});
