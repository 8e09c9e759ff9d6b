// Reply decoding in bounded memory (src/providers/reply-budget.ts): long fields keep only their start for
// records and fold into the same canonical form the request side computes from the echoed reply, for every
// wire format, streamed or JSON, however the bytes are cut; hostile streams cannot make it hold more.
import { describe, expect, it } from 'vitest';
import { LONG_TEXT } from '../../src/conversation/long-text.js';
import { anthropicAdapter } from '../../src/providers/anthropic/index.js';
import { openAiAdapter } from '../../src/providers/openai/index.js';
import { KEEP_CHARS } from '../../src/providers/reply-budget.js';
import type { CapturedReply, Operation } from '../../src/providers/types.js';

const op = (adapter: typeof openAiAdapter, name: string): Operation => adapter.operations.find((o) => o.name === name)!;
const chat = op(openAiAdapter, 'chat.completions');
const responses = op(openAiAdapter, 'responses');
const messages = op(anthropicAdapter, 'messages');

function decode(operation: Operation, contentType: string, body: string | string[], pieceSize = 65_521): CapturedReply | null {
  const decoder = operation.decoder!(contentType);
  for (const part of Array.isArray(body) ? body : [body]) {
    const bytes = Buffer.from(part);
    for (let i = 0; i < bytes.length; i += pieceSize) decoder.onChunk(bytes.subarray(i, i + pieceSize));
  }
  return decoder.end();
}

const sse = (events: unknown[], named = false) =>
  events.map((event) => `${named ? `event: ${(event as { type: string }).type}\n` : ''}data: ${JSON.stringify(event)}\n\n`).join('');
/** The canonical form the request side gives the echoed assistant message. */
const echoed = (operation: Operation, body: unknown) => operation.parse!(body).conversation().message(0);

// 3 MB of text with whitespace at both ends (trimmed on both sides) and multi-byte characters.
const LONG = `\n  ${'Grüße, 👋 "quoted" \\ text. '.repeat(100_000)}  \n`;
const pieces = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('OpenAI chat', () => {
  const chunk = (delta: unknown) => ({ object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta }] });
  const echo = (content: string) => echoed(chat, { messages: [{ role: 'assistant', content }] });

  it('streams a 3 MB text: the canonical form is the long form the echo gives, records keep the start', () => {
    const reply = decode(
      chat,
      'text/event-stream',
      [sse([chunk({ role: 'assistant', content: '' }), ...pieces(LONG, 70).map((content) => chunk({ content }))]), 'data: [DONE]\n\n'],
      4099,
    )!;
    expect(reply.replies[0]).toEqual(echo(LONG));
    expect(reply.replies[0].text).toMatch(/^\u0002long:\d+:[0-9a-f]{64}$/);
    const content = (reply.assembled as any).choices[0].message.content as string;
    expect(content).toBe(LONG.slice(0, KEEP_CHARS));
    expect(reply.truncated).toBe(true);
    expect(reply.bodyBytes).toBeGreaterThan(LONG.length);
  });

  it('reads a 3 MB JSON completion incrementally to the same form', () => {
    const body = JSON.stringify({
      object: 'chat.completion',
      model: 'gpt-4o',
      choices: [{ index: 0, message: { role: 'assistant', content: LONG } }],
      usage: { prompt_tokens: 1, completion_tokens: 2 },
    });
    const reply = decode(chat, 'application/json', body)!;
    expect(reply.replies[0]).toEqual(echo(LONG));
    expect(reply.usage).toEqual({ input_tokens: 1, output_tokens: 2, total_tokens: 3 });
  });

  it('keeps short replies exactly as before, whole in records', () => {
    const reply = decode(
      chat,
      'text/event-stream',
      sse([chunk({ role: 'assistant', content: '' }), chunk({ content: ' Hi ' }), chunk({ content: 'there' })]),
      3,
    )!;
    expect(reply.replies[0]).toEqual(echo('Hi there'));
    expect((reply.assembled as any).choices[0].message.content).toBe(' Hi there');
    expect(reply.truncated).toBeUndefined();
  });

  it('folds long streamed arguments to the form of the arguments re-serialised by a client', () => {
    const args = { query: LONG.slice(0, 200_000), filters: { b: [1, 2.5, -0], a: 'x' } };
    const text = JSON.stringify(args, null, 2);
    const events = [
      chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'search', arguments: '' } }] }),
      ...pieces(text, 11).map((a) => chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] })),
    ];
    const reply = decode(chat, 'text/event-stream', sse(events))!;
    const client = JSON.stringify({ filters: { a: 'x', b: [1, 2.5, 0] }, query: args.query });
    expect(reply.replies[0]).toEqual(
      echoed(chat, {
        messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: client } }] }],
      }),
    );
    expect(reply.replies[0].text).toContain('json:');
  });

  it('ignores choice and tool-call indexes past 128 instead of allocating for them', () => {
    const reply = decode(
      chat,
      'text/event-stream',
      sse([
        { choices: [{ index: 1e9, delta: { content: 'x' } }] },
        { choices: [{ index: 0, delta: { content: 'ok', tool_calls: [{ index: 4e9, function: { arguments: '{}' } }] } }] },
      ]),
    )!;
    expect(reply.replies.map((r) => r.text)).toEqual(['ok']);
  });

  it('gives up linking (never crashing, never holding more) when a reply has too much to hold', () => {
    // 64 choices of 60 KB each: every one below the long-text threshold, 3.8 M characters held in all.
    const events = Array.from({ length: 64 }, (_, index) => ({ choices: [{ index, delta: { content: `${index} ${'y'.repeat(60_000)}` } }] }));
    const reply = decode(chat, 'text/event-stream', sse(events))!;
    expect(reply.replies).toHaveLength(64);
    expect(reply.replies[0]).toEqual(echo(`0 ${'y'.repeat(60_000)}`));
    expect(reply.replies[63].text).toMatch(/^\u0002lost:/);
  });
});

describe('Anthropic messages', () => {
  const input = { path: '/tmp/x', content: LONG.slice(0, 300_000), lines: [1, 2, 3] };
  const events = [
    { type: 'message_start', message: { model: 'claude', usage: { input_tokens: 3, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...pieces(LONG, 4000).map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'write', input: {} } },
    ...pieces(JSON.stringify(input, null, 1), 333).map((partial_json) => ({
      type: 'content_block_delta',
      index: 1,
      delta: { type: 'input_json_delta', partial_json },
    })),
    { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
  ];
  // The SDK echoes the blocks it accumulated: the text as streamed, the input parsed and re-serialised.
  const echo = echoed(messages, {
    messages: [
      {
        role: 'assistant',
        content: [
          { type: 'text', text: LONG },
          { type: 'tool_use', id: 'toolu_1', name: 'write', input },
        ],
      },
    ],
  });

  it('streams a long text and a long tool input to the forms of their echo', () => {
    const reply = decode(messages, 'text/event-stream', sse(events, true), 8191)!;
    expect(reply.replies[0]).toEqual(echo);
    expect(reply.usage).toEqual({ input_tokens: 3, output_tokens: 9, total_tokens: 12 });
    const [text, tool] = (reply.assembled as any).content;
    expect(text.text.length).toBeLessThanOrEqual(KEEP_CHARS);
    expect(typeof tool.input).toBe('string'); // cut: its start, as text
    expect(reply.truncated).toBe(true);
  });

  it('reads the same reply from a large JSON message', () => {
    const body = JSON.stringify({
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [
        { type: 'text', text: LONG },
        { type: 'tool_use', id: 'toolu_1', name: 'write', input },
      ],
    });
    expect(decode(messages, 'application/json', body, 1000)!.replies[0]).toEqual(echo);
  });
});

describe('OpenAI Responses', () => {
  const response = {
    id: 'resp_1',
    object: 'response',
    model: 'gpt-4o',
    output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: LONG }] }],
    usage: { input_tokens: 1, output_tokens: 2 },
  };
  const echo = echoed(responses, { input: [{ role: 'assistant', content: [{ type: 'output_text', text: LONG }] }] });

  it('reads a final event far over the whole-parse limit incrementally, to the form of its echo', () => {
    const reply = decode(
      responses,
      'text/event-stream',
      sse(
        [
          { type: 'response.output_text.done', text: LONG },
          { type: 'response.completed', response },
        ],
        true,
      ),
    )!;
    expect(reply.replies[0]).toEqual(echo);
    expect(reply.responseId).toBe('resp_1');
    expect(reply.usage).toEqual({ input_tokens: 1, output_tokens: 2, total_tokens: 3 });
    expect((reply.assembled as any).output[0].content[0].text).toBe(LONG.slice(0, KEEP_CHARS));
    expect(reply.truncated).toBe(true);
  });

  it('reads a large JSON response to the same form', () => {
    expect(decode(responses, 'application/json', JSON.stringify(response))!.replies[0]).toEqual(echo);
  });
});

describe('hostile streams', () => {
  it('reads one 20 MB event with no line end without holding it, and refuses it as JSON when it is not', () => {
    const reply = decode(chat, 'text/event-stream', [`data: {"choices":[{"index":0,"delta":{"content":"${'z'.repeat(20 * 1024 * 1024)}`], 1 << 20);
    expect(reply!.replies).toEqual([]);
  });

  it('takes a single 2 MB delta (an event over the whole-parse limit): records keep its start, linking is given up', () => {
    const reply = decode(
      chat,
      'text/event-stream',
      sse([
        { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
        { choices: [{ index: 0, delta: { content: 'w'.repeat(2 * 1024 * 1024) } }] },
      ]),
    )!;
    expect((reply.assembled as any).choices[0].message.content).toHaveLength(KEEP_CHARS);
    expect(reply.replies[0].text).toMatch(/^\u0002lost:/);
  });

  it('stays under LONG_TEXT per field when text ends in a flood of whitespace', () => {
    const reply = decode(
      chat,
      'text/event-stream',
      sse([
        { choices: [{ index: 0, delta: { content: 'short answer' } }] },
        ...pieces(' \n'.repeat(LONG_TEXT * 4), 5000).map((content) => ({ choices: [{ index: 0, delta: { content } }] })),
      ]),
    )!;
    expect(reply.replies[0].text).toBe('short answer');
  });
});
