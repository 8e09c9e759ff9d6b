// Nesting that JSON.parse accepts must not overflow the stack when a request or a reply is canonicalised:
// a throw there left the request unanswered. Depth 10,000 is past where recursion (and JSON.stringify) fail.
import { afterEach, describe, expect, it } from 'vitest';
import { jsonText, stableJson } from '../../src/conversation/json-text.js';
import { argumentsForm } from '../../src/conversation/long-json.js';
import { anthropicAdapter } from '../../src/providers/anthropic/index.js';
import { openAiAdapter } from '../../src/providers/openai/index.js';
import type { Operation } from '../../src/providers/types.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DEPTH = 10_000;
const deepText = `${'{"a":['.repeat(DEPTH)}1${']}'.repeat(DEPTH)}`;
const deep = (): unknown => JSON.parse(deepText);
// As tool-call arguments the value is over 64 KB: it compares by its long form (length and digest).
const deepArgs = argumentsForm(deepText);
const op = (adapter: typeof openAiAdapter, name: string): Operation => adapter.operations.find((o) => o.name === name)!;

/** Every message of a request's conversation, canonicalised. */
function canonicalTexts(operation: Operation, body: unknown): string[] {
  const conversation = operation.parse!(body).conversation();
  return Array.from({ length: conversation.length }, (_, i) => conversation.message(i).text);
}

describe('JSON text of any depth', () => {
  it('writes what JSON.stringify writes, and sorted keys for stableJson', () => {
    const samples = ['{"b":1,"a":[true,null,"x\\u0000\\"y",-0,1e21,{"z":{}}],"c":"é👋"}', '[]', '"s"', '3.5', 'null', '[[],[{}]]'];
    for (const sample of samples) expect(jsonText(JSON.parse(sample))).toBe(JSON.stringify(JSON.parse(sample)));
    expect(stableJson(JSON.parse('{"b":{"y":1,"x":[{"d":0,"c":0}]},"a":2}'))).toBe('{"a":2,"b":{"x":[{"c":0,"d":0}],"y":1}}');
    expect(stableJson(undefined)).toBe('null');
  });

  it(`writes a value ${DEPTH} levels deep`, () => {
    expect(jsonText(deep())).toBe(deepText);
    expect(stableJson(deep())).toBe(deepText);
  });
});

describe(`requests nested ${DEPTH} levels deep canonicalise`, () => {
  it('OpenAI chat: a tool result given as structured content', () => {
    const body = {
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'tool', tool_call_id: 'c1', content: deep() },
      ],
    };
    expect(canonicalTexts(op(openAiAdapter, 'chat.completions'), body)[1]).toContain(deepText);
  });

  it('OpenAI chat: tool-call arguments given as an object', () => {
    const body = {
      model: 'm',
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: deep() } }] }],
    };
    expect(canonicalTexts(op(openAiAdapter, 'chat.completions'), body)[0]).toContain(deepArgs);
  });

  it('OpenAI Responses: function_call_output given as structured output', () => {
    const body = {
      model: 'm',
      input: [
        { role: 'user', content: 'hi' },
        { type: 'function_call_output', call_id: 'c1', output: deep() },
      ],
    };
    expect(canonicalTexts(op(openAiAdapter, 'responses'), body)[1]).toContain(deepText);
  });

  it('Anthropic: tool_use input', () => {
    const body = { model: 'm', max_tokens: 1, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: deep() }] }] };
    expect(canonicalTexts(op(anthropicAdapter, 'messages'), body)[0]).toContain(deepArgs);
  });
});

describe(`replies nested ${DEPTH} levels deep canonicalise`, () => {
  const decode = (operation: Operation, contentType: string, text: string) => {
    const decoder = operation.decoder!(contentType);
    decoder.onChunk(Buffer.from(text));
    return decoder.end()!.replies[0].text;
  };

  it('OpenAI chat: tool-call arguments', () => {
    const body = `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":${JSON.stringify(deepText)}}}]}}]}`;
    expect(decode(op(openAiAdapter, 'chat.completions'), 'application/json', body)).toContain(deepArgs);
  });

  it('Anthropic: tool_use input, as JSON and streamed', () => {
    const json = `{"type":"message","role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":${deepText}}]}`;
    expect(decode(op(anthropicAdapter, 'messages'), 'application/json', json)).toContain(deepArgs);
    const events = [
      { type: 'message_start', message: { model: 'm', usage: { input_tokens: 1, output_tokens: 0 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't1', name: 'f', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: deepText } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_stop' },
    ];
    const sse = events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('');
    expect(decode(op(anthropicAdapter, 'messages'), 'text/event-stream', sse)).toContain(deepArgs);
  });
});

describe('through the gateway', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it(`answers a chat request whose tool result is nested ${DEPTH} levels deep, with a session`, async () => {
    stack = await startStack();
    const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"c1","content":${deepText}}]}`;
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-session-id')).toMatch(/^sess_/);
  });
});
