// Reading one trace file: the fast path (head and tail parsed, bodies skipped) must give exactly what a full
// JSON.parse gives, on every layout the trace interceptor writes and on bodies built to fool it; anything
// else falls back to the full parse or is rejected with a reason. Then the texts `show` prints.

import { describe, expect, it } from 'vitest';
import { skipJsonValue } from '../../src/cli/sessions/json-skip.js';
import { exchangeTexts } from '../../src/cli/sessions/messages.js';
import { fastSkeleton, summarizeTrace } from '../../src/cli/sessions/trace-summary.js';
import { traceFile, traceShape, type TraceSpec } from './sessions-fixtures.js';

const buf = (text: string) => Buffer.from(text);

/** Both paths agree, and the fast path really was taken (not a silent fallback). */
function bothPaths(text: string) {
  const fast = summarizeTrace('f.json', buf(text));
  const full = summarizeTrace('f.json', buf(text), true);
  expect(fastSkeleton(buf(text))).toBeDefined();
  expect(fast).toEqual(full);
  return fast.summary!;
}

const base: TraceSpec = { session: 'sess_a', at: '2025-03-01T10:00:00.000Z', durationMs: 123.45, input: 30, output: 7 };

describe('trace summary: fast path', () => {
  it('reads the small fields of every wire format, streamed or not', () => {
    for (const wire of ['openai', 'anthropic', 'responses'] as const) {
      for (const stream of [false, true]) {
        const summary = bothPaths(traceFile({ ...base, wire, stream }).text);
        expect(summary).toMatchObject({
          sessionId: 'sess_a',
          timestamp: Date.parse(base.at as string),
          status: 200,
          failure: null,
          durationMs: 123.45,
          inputTokens: 30,
          outputTokens: 7,
        });
      }
    }
  });

  it('keeps two tenants that named their sessions alike apart (session_key)', () => {
    const a = bothPaths(traceFile({ ...base, session: 'session-2', sessionKey: 'session-2~00000000000000aa' }).text);
    const b = bothPaths(traceFile({ ...base, session: 'session-2', sessionKey: 'session-2~00000000000000bb' }).text);
    expect([a.sessionId, b.sessionId]).toEqual(['session-2~00000000000000aa', 'session-2~00000000000000bb']);
    expect(bothPaths(traceFile({ ...base, session: 'sess_generated' }).text).sessionId).toBe('sess_generated');
  });

  it("reads a sub-agent's parent next to its session, by its tenant-scoped key when the trace has one", () => {
    const child = bothPaths(traceFile({ ...base, session: 'run:agent-1', parent: 'run', parentKey: 'run~00000000000000aa' }).text);
    expect(child).toMatchObject({ sessionId: 'run:agent-1', parentSessionId: 'run~00000000000000aa' });
    expect(bothPaths(traceFile({ ...base, parent: 'sess_parent' }).text).parentSessionId).toBe('sess_parent');
    expect(bothPaths(traceFile(base).text).parentSessionId).toBeNull();
  });

  it('reads failures, errors, no usage and no session', () => {
    expect(bothPaths(traceFile({ ...base, status: 502, failure: 'unreachable', responseBody: null, input: undefined, output: undefined }).text)).toMatchObject({
      status: 502,
      failure: 'unreachable',
      inputTokens: 0,
      outputTokens: 0,
    });
    expect(bothPaths(traceFile({ ...base, status: 429 }).text)).toMatchObject({ status: 429, failure: null });
    expect(bothPaths(traceFile({ ...base, session: null }).text).sessionId).toBeNull();
  });

  it('reads every trace shape: no headers, no bodies, raw stream kept, bodies truncated', () => {
    for (const shape of [
      traceShape({ includeHeaders: false }),
      traceShape({ includeBody: false }),
      traceShape({ includeRawStream: true }),
      traceShape({ maxBodySize: 40 }),
    ]) {
      expect(bothPaths(traceFile({ ...base, stream: true }, shape).text)).toMatchObject({ status: 200, durationMs: 123.45, inputTokens: 30 });
    }
  });

  it('is not fooled by bodies that contain the keys it looks for', () => {
    const text = traceFile({
      ...base,
      // Unescaped look-alikes: request metadata with a response/status object and a duration_ms key, and a
      // response body holding the same, plus strings with escaped quotes and trailing backslashes.
      requestExtra: { metadata: { a: 1, duration_ms: 1 }, response: { status: 999 }, note: 'quote " and \\', path: 'C:\\dir\\' },
      responseBody: {
        id: 'x',
        choices: [{ message: { role: 'assistant', content: '},"response":{"status":555,' } }],
        extra: { a: 1, duration_ms: 5, response: { status: 777, headers: {}, body: null } },
        usage: { prompt_tokens: 1 },
      },
    }).text;
    expect(text).toContain(',"response":{"status":999');
    expect(text).toContain(',"response":{"status":777');
    expect(bothPaths(text)).toMatchObject({ status: 200, durationMs: 123.45, inputTokens: 30, outputTokens: 7 });
  });

  it('decodes non-ASCII session ids and models as UTF-8', () => {
    const summary = bothPaths(traceFile({ ...base, session: 'sess_é😀', model: 'modèle-ü', user: 'héllo 😀' }).text);
    expect(summary).toMatchObject({ sessionId: 'sess_é😀', model: 'modèle-ü' });
  });

  it('falls back to the full parse for layouts it does not know, with the same result', () => {
    const compact = traceFile(base).text;
    const value = JSON.parse(compact);
    const pretty = JSON.stringify(value, null, 2);
    const reordered = JSON.stringify({ response: value.response, ...value });
    const extraField = compact.replace(/}$/, ',"added_later":1}');
    for (const text of [pretty, reordered, extraField]) {
      expect(fastSkeleton(buf(text))).toBeUndefined();
      expect(summarizeTrace('f.json', buf(text)).summary).toMatchObject({ sessionId: 'sess_a', status: 200, durationMs: 123.45, inputTokens: 30 });
    }
  });

  it('rejects what is not a trace, saying why', () => {
    const full = traceFile(base).text;
    expect(summarizeTrace('f', buf('')).reason).toBe('empty file');
    expect(summarizeTrace('f', buf(full.slice(0, full.length / 2))).reason).toBe('truncated JSON');
    expect(summarizeTrace('f', buf(full.slice(0, -1))).reason).toBe('truncated JSON');
    expect(summarizeTrace('f', buf('{not json}')).reason).toBe('invalid JSON');
    expect(summarizeTrace('f', buf(`${full}x`)).reason).toBe('invalid JSON');
    expect(summarizeTrace('f', buf('[1,2]')).reason).toBe('not a trace record (not a JSON object)');
    expect(summarizeTrace('f', buf('{"name":"package"}')).reason).toBe('not a trace record (no timestamp)');
    expect(summarizeTrace('f', buf('{"timestamp":"yesterday","response":{}}')).reason).toBe('not a trace record (no timestamp)');
    expect(summarizeTrace('f', buf('{"timestamp":"2025-01-01T00:00:00Z"}')).reason).toBe('not a trace record (no response)');
  });

  it('keeps optional fields optional: no session, usage or duration', () => {
    const summary = summarizeTrace('f', buf('{"timestamp":"2025-01-01T00:00:00Z","response":{"status":200}}')).summary;
    expect(summary).toEqual({
      file: 'f',
      sessionId: null,
      parentSessionId: null,
      timestamp: Date.parse('2025-01-01T00:00:00Z'),
      model: null,
      provider: null,
      status: 200,
      failure: null,
      durationMs: null,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: null,
    });
  });
});

describe('skipJsonValue', () => {
  it('finds the end of strings, objects, arrays, numbers and literals', () => {
    const cases: [string, number][] = [
      ['"a\\"b",', 6],
      ['"a\\\\",', 5],
      ['{"a":[1,{"b":"}"}]},', 19],
      ['[1, "]", [2]] ', 13],
      ['-12.5e3,', 7],
      ['null}', 4],
      ['  true', 6],
    ];
    for (const [text, end] of cases) expect(skipJsonValue(text, 0)).toBe(end);
  });

  it('returns -1 on a value cut short', () => {
    for (const text of ['"abc', '{"a":[1,2', '[', '', '   ', '"a\\"']) expect(skipJsonValue(text, 0)).toBe(-1);
  });
});

describe('user message and reply', () => {
  const exchange = (provider: string, path: string, requestBody: unknown, responseBody: unknown = { choices: [] }) =>
    exchangeTexts({ provider, request: { path, body: requestBody }, response: { body: responseBody } });
  const chat = (body: unknown, reply: unknown = {}) => exchange('openai', '/v1/chat/completions', body, reply);
  const messages = (body: unknown, reply: unknown = {}) => exchange('anthropic', '/v1/messages', body, reply);
  const responses = (body: unknown, reply: unknown = {}) => exchange('openai', '/v1/responses', body, reply);

  it("takes the last user message of each request format, through the provider's own parser", () => {
    expect(
      chat({
        messages: [
          { role: 'user', content: 'one' },
          { role: 'assistant', content: 'r' },
          { role: 'user', content: 'two' },
        ],
      }).user,
    ).toBe('two');
    expect(
      chat({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image_url', image_url: { url: 'x' } },
            ],
          },
        ],
      }).user,
    ).toBe('look\n[image]');
    expect(
      messages({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: '42' }] },
              { type: 'text', text: 'and?' },
            ],
          },
        ],
      }).user,
    ).toBe('[tool result] 42\nand?');
    expect(responses({ input: 'just text' }).user).toBe('just text');
    expect(
      responses({
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          { type: 'function_call_output', call_id: 'c', output: 'x' },
        ],
      }).user,
    ).toBe('hi');
    expect(chat({ messages: [{ role: 'system', content: 's' }] }).user).toBe('-');
    expect(exchange('openai', '/v1/embeddings', { input: 'not a conversation' }, {}).user).toBe('-');
  });

  it('reads the reply of each response format, naming tool calls and errors', () => {
    expect(
      chat(
        { messages: [] },
        {
          choices: [
            { message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] } },
          ],
        },
      ).reply,
    ).toBe('[tool call: lookup({})]');
    expect(chat({ messages: [] }, { choices: [{ message: { role: 'assistant', content: 'Hi' } }] }).reply).toBe('Hi');
    expect(
      messages(
        { messages: [] },
        {
          type: 'message',
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm' },
            { type: 'text', text: 'Answer' },
            { type: 'tool_use', id: 't1', name: 'calc', input: {} },
          ],
        },
      ).reply,
    ).toBe('Answer\n[tool call: calc({})]');
    expect(
      responses(
        { input: 'x' },
        {
          object: 'response',
          output: [
            { type: 'reasoning', summary: [] },
            { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done' }] },
          ],
        },
      ).reply,
    ).toBe('Done');
    expect(chat({ messages: [] }, { error: { message: 'Rate limit reached', type: 'requests' } }).reply).toBe('[error] Rate limit reached');
    expect(messages({ messages: [] }, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }).reply).toBe('[error] Overloaded');
    expect(exchange('openai', '/v1/embeddings', {}, { data: [] }).reply).toBe('-');
  });

  it('says what a trace could not give: truncated, untraced or failed bodies', () => {
    const failed = JSON.parse(traceFile({ ...base, status: 502, failure: 'unreachable', responseBody: null }).text);
    expect(exchangeTexts(failed)).toEqual({ user: 'hello', reply: '[failed: unreachable]' });
    const truncated = JSON.parse(traceFile({ ...base, user: 'x'.repeat(500) }, traceShape({ maxBodySize: 100 })).text);
    expect(exchangeTexts(truncated).user).toMatch(/^\[request body truncated \(\d+ bytes\)\]$/);
    expect(exchangeTexts(truncated).reply).toBe('[response body truncated]');
    const untraced = JSON.parse(traceFile(base, traceShape({ includeBody: false })).text);
    expect(exchangeTexts(untraced)).toEqual({ user: '[body not traced]', reply: '[body not traced]' });
    const streamed = JSON.parse(traceFile({ ...base, wire: 'anthropic', stream: true, user: 'q', reply: 'a' }).text);
    expect(exchangeTexts(streamed)).toEqual({ user: 'q', reply: 'a' });
  });
});
