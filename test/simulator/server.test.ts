// Wire-level behaviour the gateway's own tests depend on: routing, headers, recording and test controls.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator();
});
afterEach(async () => {
  await sim.close();
});

const chatBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'one two three four' }] });
const post = (path: string, body: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(sim.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal });

describe('routing and headers', () => {
  it('sends provider headers and a content-length on JSON', async () => {
    const res = await post('/v1/chat/completions', chatBody);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('10000');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
    expect(res.headers.get('openai-processing-ms')).toMatch(/^\d+$/);

    const msg = await post('/v1/messages', JSON.stringify({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }));
    expect(msg.headers.get('request-id')).toMatch(/^req_/);
    expect(msg.headers.get('anthropic-ratelimit-requests-limit')).toBe('4000');
    expect(msg.headers.get('anthropic-ratelimit-requests-remaining')).toMatch(/^\d+$/);
  });

  it('echoes any method, path with query, headers and raw body', async () => {
    const res = await fetch(`${sim.url}/echo/some/path?a=1&b=two`, {
      method: 'PUT',
      body: 'not json at all',
      headers: { 'x-custom': 'yes' },
    });
    expect(res.status).toBe(200);
    const echoed = await res.json();
    expect(echoed).toMatchObject({ method: 'PUT', path: '/echo/some/path?a=1&b=two', body: 'not json at all' });
    expect(echoed.headers['x-custom']).toBe('yes');
    expect(sim.requests[0]).toMatchObject({ method: 'PUT', path: '/echo/some/path?a=1&b=two', body: undefined });
    expect(sim.requests[0].rawBody.toString()).toBe('not json at all');
  });

  it('answers unknown routes with a 404 in the OpenAI shape', async () => {
    const res = await fetch(`${sim.url}/v2/nothing`);
    expect(res.status).toBe(404);
    const body = await res.json();
    expect(body).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'unknown_url' } });
  });

  it('answers bad JSON with a 400 in each provider shape', async () => {
    const openai = await post('/v1/chat/completions', '{nope');
    expect(openai.status).toBe(400);
    expect((await openai.json()).error.type).toBe('invalid_request_error');
    const anthropic = await post('/v1/messages', '{nope');
    expect(anthropic.status).toBe(400);
    expect(await anthropic.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } });
  });
});

describe('SSE framing', () => {
  it('writes events one by one with SSE headers', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ ...JSON.parse(chatBody), stream: true }), {
      'x-sim-chunk-delay-ms': '30',
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const first = decoder.decode((await reader.read()).value);
    // With a pause between events the first read holds only the first event, not the whole stream.
    expect(first.startsWith('data: {')).toBe(true);
    expect(first).not.toContain('[DONE]');
    let rest = first;
    let reads = 1;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += decoder.decode(r.value);
      reads++;
    }
    expect(reads).toBeGreaterThan(4);
    expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('names Responses API events', async () => {
    const res = await post('/v1/responses', JSON.stringify({ model: 'm', input: 'hi there', stream: true }));
    const text = await res.text();
    const names = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(names[0]).toBe('response.created');
    expect(names).toContain('response.output_text.delta');
    expect(names.at(-1)).toBe('response.completed');
  });

  it('omits usage from streams with x-sim-no-usage', async () => {
    const body = JSON.stringify({ ...JSON.parse(chatBody), stream: true, stream_options: { include_usage: true } });
    const text = await (await post('/v1/chat/completions', body, { 'x-sim-no-usage': '1' })).text();
    expect(text).not.toContain('"usage"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});

describe('controls and bookkeeping', () => {
  it('delays the headers by x-sim-delay-ms', async () => {
    const started = Date.now();
    const res = await post('/v1/chat/completions', chatBody, { 'x-sim-delay-ms': '150' });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('counts a client that gives up during the delay as an abort', async () => {
    const err = await post('/v1/chat/completions', chatBody, { 'x-sim-delay-ms': '5000' }, AbortSignal.timeout(50)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    await sim.waitForAbort();
    expect(sim.abortedCount).toBe(1);
    expect(sim.requests).toHaveLength(1);
  });

  it('waitForAbort resolves at once for an abort that already happened', async () => {
    await post('/v1/chat/completions', chatBody, { 'x-sim-delay-ms': '5000' }, AbortSignal.timeout(30)).catch(() => {});
    while (sim.abortedCount === 0) await new Promise((r) => setTimeout(r, 5));
    await sim.waitForAbort();
    // Consumed: the next call waits for a new abort.
    const next = sim.waitForAbort();
    const state = await Promise.race([next.then(() => 'resolved'), new Promise((r) => setTimeout(() => r('pending'), 50))]);
    expect(state).toBe('pending');
    await post('/v1/chat/completions', chatBody, { 'x-sim-delay-ms': '5000' }, AbortSignal.timeout(30)).catch(() => {});
    await next;
    expect(sim.abortedCount).toBe(2);
  });

  it('reset clears requests and counters', async () => {
    await post('/v1/chat/completions', chatBody, { 'x-sim-delay-ms': '5000' }, AbortSignal.timeout(30)).catch(() => {});
    await sim.waitForAbort();
    const requests = sim.requests;
    sim.reset();
    expect(sim.abortedCount).toBe(0);
    expect(requests).toHaveLength(0);
    expect(sim.requests).toHaveLength(0);
  });

  it('does not record when record is false', async () => {
    const quiet = await startSimulator({ record: false });
    try {
      const res = await fetch(`${quiet.url}/v1/models`);
      expect(res.status).toBe(200);
      expect(quiet.requests).toHaveLength(0);
    } finally {
      await quiet.close();
    }
  });

  it('accepts the key in x-api-key or a bearer token, and gives a 401 in the provider shape otherwise', async () => {
    const locked = await startSimulator({ requireApiKey: 'k1' });
    try {
      const msgBody = JSON.stringify({ model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
      const denied = await fetch(`${locked.url}/v1/messages`, { method: 'POST', body: msgBody, headers: { 'x-api-key': 'nope' } });
      expect(denied.status).toBe(401);
      expect((await denied.json()).error.type).toBe('authentication_error');
      const viaKey = await fetch(`${locked.url}/v1/messages`, { method: 'POST', body: msgBody, headers: { 'x-api-key': 'k1' } });
      expect(viaKey.status).toBe(200);
      const viaBearer = await fetch(`${locked.url}/v1/models`, { headers: { authorization: 'Bearer k1' } });
      expect(viaBearer.status).toBe(200);
      const openaiDenied = await fetch(`${locked.url}/v1/models`);
      expect((await openaiDenied.json()).error.code).toBe('invalid_api_key');
    } finally {
      await locked.close();
    }
  });

  it('close() finishes even with a request still waiting on its delay', async () => {
    const pending = post('/v1/chat/completions', chatBody, { 'x-sim-delay-ms': '10000' }).catch((e: unknown) => e);
    while (sim.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    sim = await startSimulator(); // afterEach closes this one
  });
});
