// The relay's event-stream opening: the client sees the stream open (status and headers) before the
// provider's first event, even when that event is slow to come, and the events then arrive whole.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
let upstream: Server | undefined;
afterEach(async () => {
  await stack?.close();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream?.closeAllConnections();
});

/** A provider that opens an event stream at once and sends its events only when told to. */
async function slowFirstEventProvider(): Promise<{ url: string; release: () => void }> {
  let pending: ServerResponse | null = null;
  let released = false;
  const send = (res: ServerResponse) => {
    const chunk = { id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' } }] };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    res.end('data: [DONE]\n\n');
  };
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      if (released) send(res);
      else pending = res;
    });
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    release: () => {
      released = true;
      if (pending) send(pending);
    },
  };
}

describe('relaying an event stream', () => {
  it('opens the stream for the client before the provider sends its first event', async () => {
    const provider = await slowFirstEventProvider();
    stack = await startStack({ baseUrl: provider.url });
    // fetch resolves on the response headers: it would wait forever if the gateway held them for the first event.
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-session-id')).toBeTruthy();
    provider.release();
    const body = await response.text();
    expect(body).toContain('"content":"Hello"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
