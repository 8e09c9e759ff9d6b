// Reply reassembly: a streamed reply must give the same canonical message as the JSON one, however the
// bytes are split, and the echo of a reply in another shape must canonicalise to the same message.
import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../src/providers/anthropic/index.js';
import { plainTextDelta } from '../../src/providers/openai/chat-reply.js';
import { openAiAdapter } from '../../src/providers/openai/index.js';
import type { Operation } from '../../src/providers/types.js';

const op = (adapter: typeof openAiAdapter, name: string): Operation => adapter.operations.find((o) => o.name === name)!;

function decodeInPieces(operation: Operation, contentType: string, text: string, pieceSize: number) {
  const decoder = operation.decoder!(contentType);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += pieceSize) decoder.onChunk(bytes.subarray(i, i + pieceSize));
  return decoder.end();
}

const sse = (events: unknown[], named = false) =>
  events.map((event) => `${named ? `event: ${(event as { type: string }).type}\n` : ''}data: ${JSON.stringify(event)}\n\n`).join('') +
  (named ? '' : 'data: [DONE]\n\n');

describe('OpenAI chat', () => {
  const chat = op(openAiAdapter, 'chat.completions');
  const json = {
    id: 'c',
    object: 'chat.completion',
    model: 'gpt-4o',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: 'Héllo wörld 👋',
          refusal: null,
          annotations: [],
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        },
      },
    ],
    usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
  };
  const chunks = [
    { object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { role: 'assistant', content: 'Héllo ' } }] },
    { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'wörld 👋' } }] },
    {
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] } }],
    },
    { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] } }] },
    {
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] }, finish_reason: 'tool_calls' }],
    },
    { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } },
  ];

  it('reassembles the same reply from SSE split at every byte boundary as from JSON', () => {
    const fromJson = decodeInPieces(chat, 'application/json', JSON.stringify(json), 7);
    for (const size of [1, 3, 17, 1000]) {
      const fromSse = decodeInPieces(chat, 'text/event-stream', sse(chunks), size);
      expect(fromSse?.replies).toEqual(fromJson?.replies);
      expect(fromSse?.usage).toEqual({ input_tokens: 5, output_tokens: 3, total_tokens: 8 });
    }
  });

  it('canonicalises an echoed reply in another shape to the captured message', () => {
    const captured = decodeInPieces(chat, 'application/json', JSON.stringify(json), 100)!.replies[0];
    const echoed = chat.parse!({
      messages: [{ role: 'assistant', content: [{ type: 'text', text: '  Héllo wörld 👋\n' }], tool_calls: json.choices[0].message.tool_calls }],
    })
      .conversation()
      .message(0);
    expect(echoed).toEqual(captured);
  });

  it('reads plain text deltas without a full parse, exactly as JSON.parse would, and declines anything else', () => {
    const chunk = (delta: unknown, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], ...extra });
    for (const text of ['plain', ' with "quotes" and \\ backslash', 'unicode ✓ 👋 \u0000 \n new\nline', '"index":1 inside text', '']) {
      expect(plainTextDelta(chunk({ content: text }))).toBe(text);
    }
    expect(plainTextDelta(chunk({ content: 'x', refusal: null }))).toBeUndefined();
    expect(plainTextDelta(chunk({ role: 'assistant', content: 'x' }))).toBeUndefined();
    expect(plainTextDelta(chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }))).toBeUndefined();
    expect(plainTextDelta(chunk({ content: 'x' }, { usage: { prompt_tokens: 1 } }))).toBeUndefined();
    expect(plainTextDelta(JSON.stringify({ choices: [{ index: 1, delta: { content: 'second choice' } }] }))).toBeUndefined();
    expect(
      plainTextDelta(
        JSON.stringify({
          choices: [
            { index: 0, delta: { content: 'a' } },
            { index: 1, delta: { content: 'b' } },
          ],
        }),
      ),
    ).toBeUndefined();
  });

  it('reassembles n choices and tool calls from streams that mix fast and parsed chunks', () => {
    const events = [
      {
        choices: [
          { index: 0, delta: { role: 'assistant', content: '' } },
          { index: 1, delta: { role: 'assistant', content: '' } },
        ],
      },
      { choices: [{ index: 0, delta: { content: 'Red "and" ' } }] },
      { choices: [{ index: 1, delta: { content: 'Blue' } }] },
      { choices: [{ index: 0, delta: { content: 'more ✓' } }] },
    ];
    const reply = decodeInPieces(chat, 'text/event-stream', sse(events), 9)!;
    expect(reply.replies.map((r) => r.text)).toEqual(['Red "and" more ✓', 'Blue']);
  });

  it('leaves system and developer messages out of the conversation', () => {
    const conversation = chat.parse!({
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'system', content: 's' },
        { role: 'user', content: 'hi' },
      ],
    }).conversation();
    expect(conversation.length).toBe(1);
    expect(conversation.message(0)).toEqual({ role: 'user', text: 'hi' });
  });
});

describe('Anthropic messages', () => {
  const messages = op(anthropicAdapter, 'messages');
  const json = {
    type: 'message',
    role: 'assistant',
    model: 'claude',
    content: [
      { type: 'thinking', thinking: 'hmm', signature: 's' },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Rome', days: 2 } },
    ],
    usage: { input_tokens: 10, output_tokens: 4 },
  };
  const events = [
    { type: 'message_start', message: { type: 'message', model: 'claude', content: [], usage: { input_tokens: 10, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Let me ' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'check.' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'weather', input: {} } },
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city": "Ro' } },
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'me", "days": 2}' } },
    { type: 'content_block_stop', index: 2 },
    { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 4 } },
    { type: 'message_stop' },
  ];

  it('reassembles the same reply from events as from JSON, ignoring thinking blocks', () => {
    const fromJson = decodeInPieces(messages, 'application/json', JSON.stringify(json), 5);
    const fromSse = decodeInPieces(messages, 'text/event-stream; charset=utf-8', sse(events, true), 11);
    expect(fromSse?.replies).toEqual(fromJson?.replies);
    expect(fromSse?.usage).toEqual({ input_tokens: 10, output_tokens: 4, total_tokens: 14 });
    // The echo without the thinking block and with cache_control markers is the same message.
    const echoed = messages.parse!({
      messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Let me check.', cache_control: { type: 'ephemeral' } }, json.content[2]] }],
    })
      .conversation()
      .message(0);
    expect(echoed).toEqual(fromJson!.replies[0]);
  });

  it('reads string content and text blocks alike', () => {
    const a = messages.parse!({ messages: [{ role: 'user', content: 'Be kind.' }] }).conversation();
    const b = messages.parse!({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Be kind.', cache_control: { type: 'ephemeral' } }] }],
    }).conversation();
    expect(a.message(0)).toEqual(b.message(0));
  });
});
