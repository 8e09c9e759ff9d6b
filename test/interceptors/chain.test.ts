// The interceptor chain through HTTP: config order, a custom module that answers requests itself,
// printer lines, message logs, and config errors with the key's path.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { ConfigError } from '../../src/config/errors.js';
import { validateInterceptors } from '../../src/interceptors/registry.js';
import { rejection, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const example = join(import.meta.dirname, '../../examples/block-words-interceptor.js');

describe('custom interceptors', () => {
  it('loads a module that answers a request itself; the provider is never called', async () => {
    stack = await startStack({ interceptors: [{ type: 'custom', module: example, config: { words: ['forbidden'] } }] });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    const error = await rejection<InstanceType<typeof OpenAI.APIError>>(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a FORBIDDEN topic' }] }),
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain('blocked word: forbidden');
    expect(error.headers?.get('x-request-id')).toMatch(/^req_/);
    expect(stack.sim.requests).toHaveLength(0);
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'fine topic' }] });
    expect(stack.sim.requests).toHaveLength(1);
    expect(stack.gateway.interceptors.figures().custom).toMatchObject({ enabled: true, blocked: 1, seen: 2 });
  });

  it('skips disabled interceptors but still lists them', async () => {
    stack = await startStack({ interceptors: [{ type: 'custom', enabled: false, module: example, config: { words: ['hi'] } }] });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(stack.gateway.interceptors.figures().custom).toEqual({ enabled: false, blocked: 0, seen: 0 });
  });
});

describe('printer', () => {
  it('logs a line per request and per response with the session, never a key', async () => {
    stack = await startStack({ interceptors: [{ type: 'printer', config: { log_body: true, max_body_length: 40 } }] });
    const client = new OpenAI({ apiKey: 'sk-printer-secret', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'print me' }] }).withResponse();
    const lines = stack.logs.filter((line) => String(line.msg).includes('/v1/chat/completions'));
    expect(lines.map((line) => line.msg)).toEqual(['→ POST /v1/chat/completions', '← 200 POST /v1/chat/completions']);
    expect(lines[1]).toMatchObject({ session_id: response.headers.get('x-session-id'), status: 200 });
    expect(String(lines[0].body)).toContain('…');
    expect(stack.logText()).not.toContain('sk-printer-secret');
  });
});

describe('message_logger', () => {
  it('appends one JSON line per exchange with the new messages, the reply and the session', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'cylestio-messages-')), 'logs', 'messages.jsonl');
    stack = await startStack({ interceptors: [{ type: 'message_logger', config: { log_file: file } }] });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    const first = await client.chat.completions
      .create({
        model: 'gpt-4o',
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: 'one' },
        ],
      })
      .withResponse();
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'one' }, first.data.choices[0].message, { role: 'user', content: 'two' }],
    });
    await stream.finalChatCompletion();
    await stack.close();
    stack = undefined;
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      session_id: first.response.headers.get('x-session-id'),
      messages: [{ role: 'system' }, { role: 'user', content: 'one' }],
      model: 'gpt-4o',
      status: 200,
    });
    expect(lines[0].reply.choices[0].message.content).toBe('Reply to: one');
    expect(lines[1]).toMatchObject({ session_id: lines[0].session_id, messages: [{ role: 'user', content: 'two' }], stream: true });
    expect(lines[1].reply.choices[0].message.content).toBe('Reply to: two (turn 2)');
  });
});

describe('configuration', () => {
  it('rejects unknown interceptor types and bad config keys with their path', () => {
    const config = configSchema.parse({ interceptors: [{ type: 'trace', config: { directroy: 'x' } }, { type: 'teleport' }] });
    const error = (() => {
      try {
        validateInterceptors(config);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems.map((p) => p.path)).toEqual(['interceptors[0].config.directroy', 'interceptors[1].type']);
  });
});
