// The gateway as an OpenAI user sees it: the official SDK pointed at the gateway's base URL.
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejection, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let client: OpenAI;

beforeEach(async () => {
  stack = await startStack({ type: 'openai' });
  // A client with its own key; the configured-key case uses a bare fetch without Authorization below.
  client = new OpenAI({ apiKey: 'sk-client-own-key', baseURL: `${stack.url}/v1`, maxRetries: 0 });
});
afterEach(async () => stack.close());

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('chat completions through the gateway', () => {
  it('answers JSON with the provider body, gateway headers and provider headers', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello gateway' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Reply to: Hello gateway');
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('x-provider')).toBe('openai');
    expect(response.headers.get('x-session-id')).toMatch(/^sess_[a-z2-7]{20}$/);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('10000');
    expect(response.headers.get('openai-processing-ms')).not.toBeNull();
    // The provider received the client's own bytes.
    expect(stack.sim.requests[0].body).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello gateway' }] });
  });

  it('keeps a multi-turn conversation in one session, JSON then streamed then JSON', async () => {
    const history: ChatCompletionMessageParam[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Plan a garden' },
    ];
    const first = await client.chat.completions.create({ model: 'gpt-4o', messages: history }).withResponse();
    const session = first.response.headers.get('x-session-id');
    history.push(first.data.choices[0].message, { role: 'user', content: 'Add tomatoes' });

    const stream = client.chat.completions.stream({ model: 'gpt-4o', messages: history });
    const streamed = await stream.finalChatCompletion();
    expect(streamed.choices[0].message.content).toBe('Reply to: Add tomatoes (turn 2)');
    history.push(streamed.choices[0].message, { role: 'user', content: 'And basil' });

    const third = await client.chat.completions.create({ model: 'gpt-4o', messages: history }).withResponse();
    expect(third.response.headers.get('x-session-id')).toBe(session);
    const other = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Unrelated' }] }).withResponse();
    expect(other.response.headers.get('x-session-id')).not.toBe(session);
  });

  it('streams deltas and usage to a for-await client and carries the session header on the stream', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Count to three please' }] })
      .withResponse();
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-session-id')).toMatch(/^sess_/);
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe('Reply to: Count to three please');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  for (const streamed of [false, true]) {
    it(`runs a tool loop in one session (${streamed ? 'streamed' : 'JSON'})`, async () => {
      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
      const ask = async () => {
        if (streamed) {
          const stream = client.chat.completions.stream({ model: 'gpt-4o', messages, tools: [weatherTool] });
          return { message: (await stream.finalChatCompletion()).choices[0].message };
        }
        return { message: (await client.chat.completions.create({ model: 'gpt-4o', messages, tools: [weatherTool] })).choices[0].message };
      };
      const first = await ask();
      const call = first.message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      expect(JSON.parse(call!.type === 'function' ? call!.function.arguments : '{}')).toHaveProperty('city');
      messages.push(first.message, { role: 'tool', tool_call_id: call!.id, content: '{"temp": 21}' });
      const second = await ask();
      expect(second.message.content).toContain('Reply to');
      // The SDK's stream helper hides response headers, so the gateway's decision log line is the witness.
      const decisions = stack.logs.filter((l) => l.msg === 'session decision');
      expect(decisions.map((d) => d.rule)).toEqual(['first', 'continued']);
      expect(decisions[0].session_id).toBe(decisions[1].session_id);
    });
  }
});

describe('credentials', () => {
  it("forwards the client's own key unchanged", async () => {
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(stack.sim.requests[0].headers.authorization).toBe('Bearer sk-client-own-key');
  });

  it('injects the configured key when the client sends none, and never logs it', async () => {
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(stack.sim.requests[0].headers.authorization).toBe('Bearer sk-configured-secret');
    expect(stack.logText()).not.toContain('sk-configured-secret');
    expect(stack.logText()).toContain('"session_id":"sess_');
  });
});

describe('other OpenAI routes', () => {
  it('proxies embeddings, models, completions and the Responses API', async () => {
    const embedding = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    expect(embedding.data[0].embedding).toHaveLength(8);
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    const completion = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
    expect(completion.choices[0].text).toBeTruthy();

    const { data: first, response } = await client.responses.create({ model: 'gpt-4o', input: 'Tell me a story' }).withResponse();
    const session = response.headers.get('x-session-id');
    expect(session).toMatch(/^sess_/);
    const { response: followUp } = await client.responses.create({ model: 'gpt-4o', input: 'Make it shorter', previous_response_id: first.id }).withResponse();
    expect(followUp.headers.get('x-session-id')).toBe(session);
  });

  it('passes provider errors through as the provider sent them', async () => {
    const error = await rejection<InstanceType<typeof OpenAI.APIError>>(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sim-status': '429' } }),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.headers?.get('retry-after')).toBe('1');
    expect((error.error as { type?: string }).type).toBeDefined();
  });
});
