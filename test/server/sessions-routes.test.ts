// The sessions API and the admin token, through HTTP, after real SDK traffic.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeStacks, Conversation, GatewayClient, openStack } from '../e2e/helpers.js';
import type { Stack } from '../helpers/stack.js';
import { readTraceText } from '../../src/interceptors/trace/trace-reference.js';

afterEach(closeStacks);

async function get(stack: Stack, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.url}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

async function tracedStack(type: 'openai' | 'anthropic' = 'openai', server: Record<string, unknown> = {}, layout?: 'segments' | 'files'): Promise<Stack> {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-api-traces-'));
  return openStack({ type, server, interceptors: [{ type: 'trace', config: { directory, ...(layout ? { layout } : {}) } }] });
}

describe('GET /sessions', () => {
  it('lists live sessions with their counters, sorted, paged and filtered', async () => {
    const stack = await tracedStack();
    const client = new GatewayClient(stack);
    const busy = new Conversation(client, { stream: false });
    const quiet = new Conversation(client, { stream: true });
    for (let i = 0; i < 3; i++) await busy.say(`busy turn ${i}`, { reply: `busy reply ${i}` });
    await quiet.say('quiet turn', { reply: 'quiet reply' });
    const [busyId, quietId] = [busy.sessionIds[0]!, quiet.sessionIds[0]!];

    const all = await get(stack, '/sessions?sort=requests');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 2, limit: 50, offset: 0, source: 'memory' });
    expect(all.body.sessions.map((s: { id: string }) => s.id)).toEqual([busyId, quietId]);
    expect(all.body.sessions[0]).toMatchObject({ id: busyId, requests: 3, messages: 6, rule: 'first' });
    expect(all.body.sessions[0].output_tokens).toBeGreaterThan(0);
    expect(Date.parse(all.body.sessions[0].created_at)).toBeLessThanOrEqual(Date.parse(all.body.sessions[0].last_seen));

    expect((await get(stack, '/sessions?sort=requests&order=asc&limit=1')).body.sessions.map((s: { id: string }) => s.id)).toEqual([quietId]);
    expect((await get(stack, '/sessions?sort=requests&limit=1&offset=1')).body.sessions.map((s: { id: string }) => s.id)).toEqual([quietId]);
    expect((await get(stack, `/sessions?q=${busyId.slice(5, 15)}`)).body.sessions.map((s: { id: string }) => s.id)).toEqual([busyId]);
    expect((await get(stack, '/sessions?rule=explicit')).body.total).toBe(0);
    expect((await get(stack, '/sessions?active_within=3600')).body.total).toBe(2);
    const bad = await get(stack, '/sessions?limit=0&sort=nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_query' });
  });
});

describe('GET /sessions/:id', () => {
  for (const [type, layout] of [
    ['openai', 'segments'],
    ['anthropic', 'segments'],
    ['openai', 'files'],
  ] as const) {
    it(`gives the session, its request timeline and its conversation (${type}, streamed, traces in ${layout})`, async () => {
      const stack = await tracedStack(type, {}, layout);
      const chat = new Conversation(new GatewayClient(stack), { stream: true });
      await chat.say('What is the capital of France?', { reply: 'Paris.' });
      await chat.say('And of Italy?', { reply: 'Rome.' });
      // The trace writer's queue is asynchronous: the conversation shows once the latest file is on disk.
      await expect.poll(async () => (await get(stack, `/sessions/${chat.sessionIds[0]}`)).body.conversation?.length).toBe(4);
      const { status, body } = await get(stack, `/sessions/${chat.sessionIds[0]}`);
      expect(status).toBe(200);
      expect(body.session).toMatchObject({ id: chat.sessionIds[0], requests: 2, messages: 4 });
      expect(body.timeline_source).toBe('memory');
      expect(body.requests.map((r: { request_id: string }) => r.request_id)).toEqual(chat.turns.map((t) => t.requestId));
      for (const request of body.requests) {
        expect(request).toMatchObject({ status: 200, stream: true, method: 'POST', failure: null });
        expect(request.duration_ms).toBeGreaterThan(0);
        if (type === 'anthropic') expect(request.output_tokens).toBeGreaterThan(0); // OpenAI streams report usage only when asked
        // Where the trace is: its file, or `<segment>#<byte offset>`, which locates exactly this request's line.
        expect(request.trace_file).toMatch(layout === 'files' ? /\.json$/ : /\.jsonl#\d+$/);
        expect(JSON.parse(await readTraceText(request.trace_file)).request_id).toBe(request.request_id);
      }
      expect(body.requests.map((r: { rule: string }) => r.rule)).toEqual(['first', 'continued']);
      expect(body.conversation).toEqual([
        { role: 'user', text: 'What is the capital of France?' },
        { role: 'assistant', text: 'Paris.' },
        { role: 'user', text: 'And of Italy?' },
        { role: 'assistant', text: 'Rome.' },
      ]);
    });
  }

  it('reaches a session named with the longest name a client may give (128 characters), by name and by id', async () => {
    const stack = await tracedStack();
    const name = `run-${'x'.repeat(120)}@:.4`;
    expect(name).toHaveLength(128);
    const chat = new Conversation(new GatewayClient(stack), { stream: false });
    await chat.say('hello', { headers: { 'x-session-id': name } });
    const byName = await get(stack, `/sessions/${encodeURIComponent(name)}`);
    expect(byName.status).toBe(200);
    expect(byName.body.session.name).toBe(name);
    const byId = await get(stack, `/sessions/${encodeURIComponent(byName.body.session.id)}`);
    expect(byId.status).toBe(200);
    expect(byId.body.requests).toHaveLength(1);
  });

  it('answers 404 for a session it never saw', async () => {
    const stack = await tracedStack();
    const { status, body } = await get(stack, '/sessions/sess_unknown');
    expect(status).toBe(404);
    expect(body.error).toMatchObject({ code: 'not_found' });
  });
});

describe('DELETE /sessions/:id', () => {
  it('ends a session: it is gone, and the next request of that conversation starts a new one', async () => {
    const stack = await tracedStack();
    const chat = new Conversation(new GatewayClient(stack), { stream: false });
    await chat.say('hello', { reply: 'hi' });
    const id = chat.sessionIds[0]!;
    const deleted = await fetch(`${stack.url}/sessions/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect((await get(stack, `/sessions/${id}`)).status).toBe(404);
    expect((await fetch(`${stack.url}/sessions/${id}`, { method: 'DELETE' })).status).toBe(404);
    await chat.say('are you there?', { reply: 'yes' });
    expect(chat.sessionIds[1]).not.toBe(id);
    expect(chat.turns[1].isNew).toBe(true);
  });

  it('ends a client-named session by its name', async () => {
    const stack = await tracedStack();
    const chat = new Conversation(new GatewayClient(stack), { stream: false });
    await chat.say('hello', { headers: { 'x-session-id': 'named-run' } });
    expect((await get(stack, '/sessions/named-run')).body.session).toMatchObject({
      id: expect.stringMatching(/^named-run~[0-9a-f]{16}$/),
      name: 'named-run',
      rule: 'explicit',
    });
    expect((await fetch(`${stack.url}/sessions/named-run`, { method: 'DELETE' })).status).toBe(204);
    await chat.say('again', { headers: { 'x-session-id': 'named-run' } });
    expect(chat.turns[1]).toMatchObject({ sessionId: 'named-run', isNew: true });
  });
});

describe('server.admin_token', () => {
  const token = 'admin-secret-token';

  it('protects /config, /metrics, /sessions and /ui; leaves /health and the proxy alone', async () => {
    const stack = await tracedStack('openai', { admin_token: token });
    const chat = new Conversation(new GatewayClient(stack), { stream: false });
    await chat.say('proxy routes need no admin token'); // would throw on a 401
    for (const path of ['/config', '/metrics', '/metrics/prometheus', '/sessions', `/sessions/${chat.sessionIds[0]}`]) {
      const denied = await fetch(`${stack.url}${path}`);
      expect(denied.status, path).toBe(401);
      expect(denied.headers.get('www-authenticate')).toContain('Bearer');
      expect(((await denied.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
      expect((await fetch(`${stack.url}${path}`, { headers: { authorization: 'Bearer wrong-token' } })).status, path).toBe(401);
      expect((await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status, path).toBe(200);
    }
    expect((await fetch(`${stack.url}/sessions/x`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    // The config never shows the token itself.
    expect(JSON.stringify((await get(stack, '/config', { authorization: `Bearer ${token}` })).body)).not.toContain(token);
  });

  it('signs a browser in with the token: a sign-in page, then an HttpOnly cookie', async () => {
    const stack = await tracedStack('openai', { admin_token: token });
    const page = await fetch(`${stack.url}/ui`);
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Admin token');
    const login = (body: string) => fetch(`${stack.url}/ui/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await login(JSON.stringify({ token: 'wrong' }))).status).toBe(401);
    expect((await login('not json')).status).toBe(401);
    const ok = await login(JSON.stringify({ token }));
    expect(ok.status).toBe(204);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(token);
    const session = cookie.split(';')[0];
    expect((await fetch(`${stack.url}/sessions`, { headers: { cookie: session } })).status).toBe(200);
    expect((await fetch(`${stack.url}/sessions`, { headers: { cookie: 'cylestio_admin=forged' } })).status).toBe(401);
    // The admin cookie is the gateway's own: a proxied request never carries it to the provider.
    await fetch(`${stack.url}/v1/models`, { headers: { cookie: `theme=dark; ${session}; lang=en` } });
    await fetch(`${stack.url}/v1/models`, { headers: { cookie: session } });
    expect(stack.sim.requests.map((r) => r.headers.cookie)).toEqual(['theme=dark; lang=en', undefined]);
  });
});
