// What a client sees when something goes wrong: every gateway-made error has the standard shape.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const chatBody = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });

function post(url: string, body: string, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

function expectStandardError(json: any, type: string, code: string) {
  expect(json).toMatchObject({ error: { type, code, message: expect.any(String) }, request_id: expect.stringMatching(/^req_/) });
  expect(new Date(json.timestamp).toString()).not.toBe('Invalid Date');
  expect(json.error).toHaveProperty('details');
}

async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('upstream failures', () => {
  it('answers 502 after retrying a provider that refuses connections', async () => {
    stack = await startStack({ baseUrl: await closedPortUrl(), llm: { max_retries: 2 } });
    const response = await post(`${stack.url}/v1/chat/completions`, chatBody);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    const json = await response.json();
    expectStandardError(json, 'provider_error', 'bad_gateway');
    expect(json.error.details).toEqual({ reason: 'connection_failed', attempts: 3 });
    expect(JSON.stringify(json)).not.toContain('sk-configured-secret');
  });

  it('answers 504 when the provider is slower than llm.timeout', async () => {
    stack = await startStack({ llm: { timeout: 0.2 } });
    const response = await post(`${stack.url}/v1/chat/completions`, chatBody, { 'x-sim-delay-ms': '3000' });
    expect(response.status).toBe(504);
    expectStandardError(await response.json(), 'provider_error', 'gateway_timeout');
  });

  it('lets the official SDK see a 502 as an APIError, not a crash', async () => {
    stack = await startStack({ baseUrl: await closedPortUrl(), llm: { max_retries: 0 } });
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 502 });
    // The gateway is still serving.
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
  });
});

describe('bad input', () => {
  it('answers 400 to malformed JSON without calling the provider', async () => {
    stack = await startStack();
    const response = await post(`${stack.url}/v1/chat/completions`, '{"model": "gpt-4o", "messages": [');
    expect(response.status).toBe(400);
    expectStandardError(await response.json(), 'invalid_request_error', 'invalid_json');
    const notObject = await post(`${stack.url}/v1/chat/completions`, '[1, 2]');
    expect(notObject.status).toBe(400);
    expect(stack.sim.requests).toHaveLength(0);
  });

  it('answers 413 to a body over server.max_body_size without calling the provider', async () => {
    stack = await startStack({ server: { max_body_size: 1024 } });
    const big = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4096) }] });
    const response = await post(`${stack.url}/v1/chat/completions`, big);
    expect(response.status).toBe(413);
    expectStandardError(await response.json(), 'invalid_request_error', 'payload_too_large');
    expect(stack.sim.requests).toHaveLength(0);
  });

  it('forwards non-JSON bodies on pass-through paths untouched', async () => {
    stack = await startStack();
    const response = await fetch(`${stack.url}/echo/files?purpose=batch`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'not json {' });
    expect(response.status).toBe(200);
    const echo = await response.json();
    expect(echo).toMatchObject({ method: 'PUT', path: '/echo/files?purpose=batch', body: 'not json {' });
    expect(response.headers.get('x-session-id')).toBeNull();
  });
});

describe('streaming', () => {
  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    stack = await startStack();
    const response = await post(
      `${stack.url}/v1/chat/completions`,
      JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'a long story with many words in it' }] }),
      { 'x-sim-chunk-delay-ms': '100' },
    );
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel();
    await stack.sim.waitForAbort();
    expect(stack.sim.abortedCount).toBe(1);
  });

  it('delivers the first event before the provider has sent the rest (no buffering)', async () => {
    // An upstream that holds the rest of its stream until the test has seen the first event through the gateway.
    let releaseRest!: () => void;
    const rest = new Promise<void>((resolve) => (releaseRest = resolve));
    const upstream = http.createServer(async (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"first"}}]}\n\n');
      await rest;
      res.end(
        'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" second"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
      );
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      stack = await startStack({ baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
      const response = await post(
        `${stack.url}/v1/chat/completions`,
        JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      );
      const reader = response.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('"content":"first"');
      releaseRest();
      let restText = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) restText += new TextDecoder().decode(chunk.value);
      expect(restText).toContain('[DONE]');
    } finally {
      releaseRest();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
