// The simulator must look exactly like api.openai.com to the official SDK, streamed and not.
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

let sim: Simulator;
let client: OpenAI;

beforeEach(async () => {
  sim = await startSimulator();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: `${sim.url}/v1`, maxRetries: 0 });
});
afterEach(async () => {
  await sim.close();
});

/** The error a request failed with (fails the test if it succeeded). */
async function rejection<E>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected the request to fail');
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city'],
    },
  },
};

describe('chat completions', () => {
  const messages = [{ role: 'user' as const, content: 'What is the capital of France?' }];

  it('answers non-streaming text with usage', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.choices[0].message.content).toBe('Reply to: What is the capital of France?');
    expect(res.choices[0].finish_reason).toBe('stop');
    const bodyBytes = sim.requests[0].rawBody.length;
    expect(res.usage).toEqual({
      prompt_tokens: Math.ceil(bodyBytes / 4),
      completion_tokens: 8,
      total_tokens: Math.ceil(bodyBytes / 4) + 8,
    });
    expect(sim.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(sim.requests[0].body).toMatchObject({ model: 'gpt-4o-mini', messages });
  });

  it('adds a turn counter once the history holds assistant turns', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Reply to: hi' },
        { role: 'user', content: [{ type: 'text', text: 'and again' }] },
      ],
    });
    expect(res.choices[0].message.content).toBe('Reply to: and again (turn 2)');
  });

  it('streams the same text through the SDK stream helper', async () => {
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const stream = client.chat.completions.stream({ model: 'gpt-4o-mini', messages });
    const deltas: string[] = [];
    stream.on('content', (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].message.content).toBe(plain.choices[0].message.content);
    expect(deltas.length).toBeGreaterThan(3);
  });

  it('streams chunks with include_usage, ending with a usage-only chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let role: string | undefined;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      const choice = chunk.choices[0];
      if (choice) {
        role ??= choice.delta.role;
        text += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) {
        expect(chunk.choices).toEqual([]);
        usage = chunk.usage;
      }
    }
    expect(role).toBe('assistant');
    expect(text).toBe('Reply to: What is the capital of France?');
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(8);
    expect(chunks).toBeGreaterThan(5);
  });

  it('honours n', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, n: 3 });
    expect(res.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    const streamed = await client.chat.completions.stream({ model: 'gpt-4o-mini', messages, n: 2 }).finalChatCompletion();
    expect(streamed.choices.map((c) => c.message.content)).toEqual([res.choices[0].message.content, res.choices[0].message.content]);
  });

  it('calls the first tool, then answers the tool result with text', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [weatherTool] });
    const call = res.choices[0].message.tool_calls?.[0];
    expect(res.choices[0].finish_reason).toBe('tool_calls');
    expect(call?.id).toMatch(/^call_/);
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'sim-city', days: 1, unit: 'c' });

    const followUp = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      tools: [weatherTool],
      messages: [...messages, res.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' }],
    });
    expect(followUp.choices[0].finish_reason).toBe('stop');
    expect(followUp.choices[0].message.content).toBe('Reply to: What is the capital of France? (turn 2)');
  });

  it('streams tool calls as indexed deltas the SDK reassembles', async () => {
    const final = await client.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools: [weatherTool] }).finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.id).toMatch(/^call_/);
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'sim-city', days: 1, unit: 'c' });

    const raw = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [weatherTool], stream: true });
    const deltas = [];
    for await (const chunk of raw) deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
    expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.slice(1).every((d) => d.index === 0 && d.id === undefined)).toBe(true);
  });
});

describe('other OpenAI routes', () => {
  it('legacy completions, JSON and streamed', async () => {
    const res = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
    expect(res.object).toBe('text_completion');
    expect(res.choices[0].text).toBe('Reply to: Say this is a test');
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(res.choices[0].text);
  });

  it('embeddings: 8 deterministic floats per input, in float and base64 encodings', async () => {
    const res = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect(res.data).toHaveLength(2);
    expect(res.data[0].embedding).toHaveLength(8);
    expect(res.data[0].embedding).not.toEqual(res.data[1].embedding);
    const again = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'alpha', encoding_format: 'float' });
    expect(again.data[0].embedding).toEqual(res.data[0].embedding);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('responses API, JSON and streamed', async () => {
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'Tell me a joke' });
    expect(res.object).toBe('response');
    expect(res.id).toMatch(/^resp_/);
    expect(res.output_text).toBe('Reply to: Tell me a joke');
    expect(res.usage).toMatchObject({ output_tokens: 6 });
    expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + 6);

    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'Tell me a joke', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(text).toBe(res.output_text);

    const helper = await client.responses.stream({ model: 'gpt-4o-mini', input: [{ role: 'user', content: 'Tell me a joke' }] }).finalResponse();
    expect(helper.output_text).toBe(res.output_text);
  });

  it('lists models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
  });
});

describe('errors and controls', () => {
  it('surfaces simulated statuses as APIError with the OpenAI error shape', async () => {
    for (const status of [429, 500, 400]) {
      const err = await client.chat.completions
        .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-sim-status': String(status) } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
    }
    const limited = await rejection<InstanceType<typeof OpenAI.RateLimitError>>(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-sim-status': '429' } }),
    );
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.headers?.get('retry-after')).toBe('1');
    expect(limited.code).toBe('rate_limit_exceeded');
  });

  it('requireApiKey rejects other keys with 401', async () => {
    const locked = await startSimulator({ requireApiKey: 'sk-right' });
    try {
      const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${locked.url}/v1`, maxRetries: 0 });
      const err = await wrong.models.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({ apiKey: 'sk-right', baseURL: `${locked.url}/v1`, maxRetries: 0 });
      expect((await right.models.list()).data.length).toBeGreaterThan(0);
    } finally {
      await locked.close();
    }
  });

  it('x-sim-reply and x-sim-no-usage', async () => {
    const res = await client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-sim-reply': encodeURIComponent('Héllo, wörld & more'), 'x-sim-no-usage': '1' } },
    );
    expect(res.choices[0].message.content).toBe('Héllo, wörld & more');
    expect(res.usage).toBeUndefined();
  });

  it('counts a client abort mid-stream', async () => {
    const stream = await client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true },
      { headers: { 'x-sim-chunk-delay-ms': '50' } },
    );
    let seen = 0;
    for await (const _chunk of stream) {
      if (++seen === 2) break;
    }
    await sim.waitForAbort();
    expect(sim.abortedCount).toBe(1);
  });
});
