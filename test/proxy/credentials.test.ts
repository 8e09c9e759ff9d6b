// The configured key is the gateway's to spend: a web page on another origin must not get it added.
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const chat = (headers: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] }),
});

describe('cross-origin requests and the configured key', () => {
  it('refuses a cross-origin request without its own credential (401), never calling the provider', async () => {
    stack = await startStack();
    const response = await fetch(`${stack.url}/v1/chat/completions`, chat({ origin: 'https://evil.example' }));
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.error).toMatchObject({ type: 'authentication_error', code: 'credential_required' });
    expect(JSON.stringify(body)).not.toContain('sk-configured-secret');
    expect(stack.sim.requests).toHaveLength(0);
  });

  it('refuses the opaque origin "null" (sandboxed frames, files) too', async () => {
    stack = await startStack();
    expect((await fetch(`${stack.url}/v1/models`, { headers: { origin: 'null' } })).status).toBe(401);
  });

  it('forwards a cross-origin request that brings its own key, with that key', async () => {
    stack = await startStack();
    const response = await fetch(`${stack.url}/v1/chat/completions`, chat({ origin: 'https://app.example', authorization: 'Bearer sk-browser-own' }));
    expect(response.status).toBe(200);
    expect(stack.sim.requests[0].headers.authorization).toBe('Bearer sk-browser-own');
  });

  it('adds the configured key for an origin listed in server.cors.allow_origins', async () => {
    stack = await startStack({ server: { cors: { allow_origins: ['https://app.example'] } } });
    expect((await fetch(`${stack.url}/v1/chat/completions`, chat({ origin: 'https://app.example' }))).status).toBe(200);
    expect((await fetch(`${stack.url}/v1/chat/completions`, chat({ origin: 'https://other.example' }))).status).toBe(401);
    expect(stack.sim.requests).toHaveLength(1);
    expect(stack.sim.requests[0].headers.authorization).toBe('Bearer sk-configured-secret');
  });

  it('leaves SDKs (no Origin) and same-origin pages unchanged', async () => {
    stack = await startStack();
    expect((await fetch(`${stack.url}/v1/chat/completions`, chat({}))).status).toBe(200);
    expect((await fetch(`${stack.url}/v1/chat/completions`, chat({ origin: stack.url }))).status).toBe(200);
    expect(stack.sim.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-configured-secret', 'Bearer sk-configured-secret']);
  });

  it('applies to the Anthropic wire format (x-api-key) alike', async () => {
    stack = await startStack({ type: 'anthropic' });
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const refused = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body,
    });
    expect(refused.status).toBe(401);
    const own = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'x-api-key': 'sk-ant-own' },
      body,
    });
    expect(own.status).toBe(200);
    expect(stack.sim.requests.map((r) => r.headers['x-api-key'])).toEqual(['sk-ant-own']);
  });
});
