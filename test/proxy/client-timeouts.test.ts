// Clients that stall or speak HTTP unusually: every connection is answered or closed in bounded time.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { rawRequest } from './raw-http.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('a client that stops sending', () => {
  it('has its stalled body closed after server.timeouts.request_seconds (408), never reaching the provider', async () => {
    stack = await startStack({ server: { timeouts: { request_seconds: 1 } } });
    const answer = await rawRequest(
      stack.url,
      'POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{',
    );
    expect(answer.status === null || answer.status === 408).toBe(true);
    expect(stack.sim.requests).toHaveLength(0);
  });

  it('has a trickle of headers closed after server.timeouts.headers_seconds', async () => {
    stack = await startStack({ server: { timeouts: { headers_seconds: 1, request_seconds: 1 } } });
    const answer = await rawRequest(stack.url, 'POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n');
    expect(answer.status === null || answer.status === 408).toBe(true);
  });

  it('does not cut a long streamed response (the limit is on receiving the request)', async () => {
    stack = await startStack({ server: { timeouts: { request_seconds: 1 } } });
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      // A reply of 40 words streamed 50 ms apart: the stream outlasts the 1 s request limit.
      headers: {
        'content-type': 'application/json',
        'x-sim-chunk-delay-ms': '50',
        'x-sim-reply': encodeURIComponent(Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ')),
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('[DONE]');
  });
});

describe('Expect: 100-continue', () => {
  it('is answered by the gateway and not forwarded (curl sends it for bodies over 1 MB)', async () => {
    stack = await startStack();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(1_200_000) }] });
    const { status, continued } = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request(`${stack!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      });
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('response', (res) => {
        res.resume().on('end', () => resolve({ status: res.statusCode!, continued }));
      });
      req.on('error', reject);
    });
    expect(continued).toBe(true);
    expect(status).toBe(200);
    expect(stack.sim.requests[0].headers.expect).toBeUndefined();
  });
});
