// Streamed replies honour `max_body_size` like JSON ones: a 20 MB SSE reply must not produce a 20 MB trace
// file or message-log line. The record keeps a bounded part and says it was cut (and how large it was).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { tracesIn } from '../helpers/traces.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const MB = 1024 * 1024;
const REPLY = 20 * MB;

/** Streams a 20 MB reply through the gateway and reads it all (the client discards it as it goes). */
async function streamLargeReply(s: Stack, type: 'openai' | 'anthropic'): Promise<number> {
  const path = type === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const body = {
    model: 'm',
    max_tokens: 10,
    stream: true,
    messages: [{ role: 'user', content: 'A very long answer please' }],
    stream_options: type === 'openai' ? { include_usage: true } : undefined,
  };
  const response = await fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sim-reply-bytes': String(REPLY), 'x-sim-delta-bytes': '16000' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  let received = 0;
  for await (const chunk of response.body!) received += (chunk as Uint8Array).length;
  return received;
}

describe.each(['openai', 'anthropic'] as const)('%s: a 20 MB streamed reply', (type) => {
  it('gives a trace of about max_body_size that says the body was truncated', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-trace-cap-'));
    stack = await startStack({ type, interceptors: [{ type: 'trace', enabled: true, config: { directory, max_body_size: MB } }] });
    const received = await streamLargeReply(stack, type);
    expect(received).toBeGreaterThan(REPLY);
    await stack.close();
    stack = undefined;

    const traces = await tracesIn(directory);
    expect(traces).toHaveLength(1);
    const [{ bytes: size, trace }] = traces;
    console.log(`${type}: trace of a ${REPLY / MB} MB streamed reply: ${size} bytes`);
    expect(size).toBeLessThan(1.1 * MB);
    expect(trace.response).toMatchObject({ status: 200, body_truncated: true });
    expect(trace.response.body_bytes).toBe(received);
    expect(trace.usage.output_tokens).toBeGreaterThan(0);
  });

  it('gives a message-log line of about max_body_size that says the reply was truncated', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-log-cap-'));
    const logFile = join(directory, 'messages.jsonl');
    stack = await startStack({ type, interceptors: [{ type: 'message_logger', enabled: true, config: { log_file: logFile, max_body_size: MB } }] });
    await streamLargeReply(stack, type);
    await stack.close();
    stack = undefined;

    const lines = (await readFile(logFile, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    console.log(`${type}: message-log line of a ${REPLY / MB} MB streamed reply: ${Buffer.byteLength(lines[0])} bytes`);
    expect(Buffer.byteLength(lines[0])).toBeLessThan(1.1 * MB);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ reply_truncated: true, status: 200 });
    expect(line.messages).toEqual([{ role: 'user', content: 'A very long answer please' }]);
  });
});
