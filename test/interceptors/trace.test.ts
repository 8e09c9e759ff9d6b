// Traces through HTTP with the official SDKs, in both layouts (segments: a line per exchange; files: a file
// per exchange): session fields at the top, secrets redacted, sampling, truncation, a full queue that drops
// instead of blocking.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { readTraces } from '../helpers/traces.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

type Layout = 'segments' | 'files';

async function traceStack(layout: Layout, config: Record<string, unknown> = {}, type: 'openai' | 'anthropic' = 'openai') {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-traces-'));
  stack = await startStack({ type, interceptors: [{ type: 'trace', enabled: true, config: { directory, layout, ...config } }] });
  return { stack, directory };
}

/** Every trace, parsed (with its `file` reference), after the gateway flushed its queue (close waits for it). */
async function tracesAfterClose(directory: string): Promise<Record<string, any>[]> {
  await stack!.close();
  stack = undefined;
  return readTraces(directory);
}

/** How each layout names a trace: its own file, or a line of a segment of this process. */
const traceName: Record<Layout, (trace: Record<string, any>) => RegExp> = {
  files: (trace) => new RegExp(`^trace-\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z-${trace.request_id}\\.json$`),
  segments: () => new RegExp(`^trace-\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z-${process.pid}-[0-9a-f]{6}-\\d+\\.jsonl#\\d+$`),
};

describe.each(['segments', 'files'] as const)('trace interceptor (layout: %s)', (layout) => {
  it('writes a trace per exchange with the session fields, for JSON and streamed chats', async () => {
    const { stack: s, directory } = await traceStack(layout);
    const client = new OpenAI({ apiKey: 'sk-client-secret-123', baseURL: `${s.url}/v1`, maxRetries: 0 });
    const first = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello traces' }] }).withResponse();
    const session = first.response.headers.get('x-session-id');
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hello traces' }, first.data.choices[0].message, { role: 'user', content: 'Stream now' }],
      stream_options: { include_usage: true },
    });
    await stream.finalChatCompletion();

    const traces = await tracesAfterClose(directory);
    expect(traces).toHaveLength(2);
    for (const trace of traces) {
      expect(trace.file).toMatch(traceName[layout](trace));
      expect(trace).toMatchObject({ session_id: session, provider: 'openai', model: 'gpt-4o' });
      expect(trace.response.status).toBe(200);
      expect(trace.response.duration_ms).toBeGreaterThan(0);
      expect(trace.response.time_to_first_byte_ms).toBeGreaterThan(0);
      expect(trace.usage.output_tokens).toBeGreaterThan(0);
      expect(trace.request.headers.authorization).toBe('[REDACTED]');
    }
    const [json, streamed] = traces.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    expect(json).toMatchObject({ is_new_session: true, session_rule: 'first' });
    expect(json.response.body.choices[0].message.content).toBe('Reply to: Hello traces');
    expect(streamed).toMatchObject({ is_new_session: false, session_rule: 'continued', stream: true });
    // The streamed reply is reassembled as if it had been a JSON response.
    expect(streamed.response.body.choices[0].message).toMatchObject({ role: 'assistant', content: 'Reply to: Stream now (turn 2)' });
    expect(streamed.session_usage).toMatchObject({ requests: 2 });
    expect(streamed.session_usage.output_tokens).toBeGreaterThan(json.usage.output_tokens);
    const text = JSON.stringify(traces);
    expect(text).not.toContain('sk-client-secret-123');
  });

  it('reassembles Anthropic streams, keeps raw events on request, and redacts x-api-key and extra headers', async () => {
    const { stack: s, directory } = await traceStack(layout, { include_raw_stream: true, redact_headers: ['x-team-token'] }, 'anthropic');
    const client = new Anthropic({
      apiKey: 'sk-ant-very-secret',
      baseURL: s.url,
      maxRetries: 0,
      defaultHeaders: { 'x-team-token': 'team-secret', cookie: 'a=b' },
    });
    await client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Stream please' }] }).finalMessage();
    const [trace] = await tracesAfterClose(directory);
    expect(trace.response.body).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Reply to: Stream please' }] });
    expect(trace.response.raw_stream).toContain('event: message_start');
    expect(trace.request.headers).toMatchObject({ 'x-api-key': '[REDACTED]', 'x-team-token': '[REDACTED]', cookie: '[REDACTED]' });
    expect(JSON.stringify(trace)).not.toMatch(/sk-ant-very-secret|team-secret/);
  });

  it('truncates bodies over max_body_size and says so', async () => {
    const { stack: s, directory } = await traceStack(layout, { max_body_size: 200 });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'long '.repeat(200) }] });
    const [trace] = await tracesAfterClose(directory);
    expect(trace.request).toMatchObject({ body_truncated: true, body_bytes: expect.any(Number) });
    expect(trace.request.body).toHaveLength(200);
    expect(trace.response.body_truncated).toBe(true);
  });

  it('honours sample_rate (0 writes nothing, counted) and include_headers/include_body false', async () => {
    const sampled = await traceStack(layout, { sample_rate: 0 });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${sampled.stack.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(sampled.stack.gateway.interceptors.figures().trace).toMatchObject({ traces_sampled_out: 1, traces_written: 0 });
    expect(await tracesAfterClose(sampled.directory)).toHaveLength(0);

    const bare = await traceStack(layout, { include_headers: false, include_body: false });
    const client2 = new OpenAI({ apiKey: 'sk-x', baseURL: `${bare.stack.url}/v1`, maxRetries: 0 });
    await client2.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const [trace] = await tracesAfterClose(bare.directory);
    expect(trace.request).not.toHaveProperty('headers');
    expect(trace.request).not.toHaveProperty('body');
    expect(trace.session_id).toMatch(/^sess_/);
  });

  it('drops and counts traces when the queue is full, without slowing clients', async () => {
    const { stack: s, directory } = await traceStack(layout, { max_queue: 1 });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    // Many exchanges finishing together: the single queue slot overflows.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `q${i}` }] })),
    );
    const traces = await tracesAfterClose(directory);
    const figures = s.gateway.interceptors.figures().trace as Record<string, number>; // after the flush
    // Whether any overflowed depends on disk speed; every exchange is either on disk or counted.
    expect(traces.length + figures.traces_dropped).toBe(30);
    expect(figures.traces_written).toBe(traces.length);
  });

  it("makes the guide's jq and grep recipes work on the traces", async () => {
    const { stack: s, directory } = await traceStack(layout);
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${s.url}/v1`, maxRetries: 0 });
    const a = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'A' }] }).withResponse();
    await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'A' }, a.data.choices[0].message, { role: 'user', content: 'A2' }],
    });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'B' }] });
    const traces = await tracesAfterClose(directory);
    const perSession = new Map<string, number>();
    for (const trace of traces) perSession.set(trace.session_id, (perSession.get(trace.session_id) ?? 0) + 1);
    expect(perSession.get(a.response.headers.get('x-session-id')!)).toBe(2);
    expect([...perSession.values()].sort()).toEqual([1, 2]);
    for (const trace of traces) expect(typeof trace.response.duration_ms).toBe('number');
  });
});
