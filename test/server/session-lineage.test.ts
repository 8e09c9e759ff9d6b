// Session lineage where it shows, through HTTP: sub-agent sessions named by agent headers (Claude Code) and
// Helicone session paths, seen in the X-Parent-Session-ID header, the request log, trace files, message log
// lines, the sessions API (parent, children, tree totals, root_only), a shared Redis and the Postgres record.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { roundUsd } from '../../src/pricing/model-price.js';
import { TREE_MAX_DEPTH } from '../../src/sessions/tree.js';
import { closeStacks, Conversation, GatewayClient, openStack } from '../e2e/helpers.js';
import { startPostgres } from '../helpers/postgres-server.js';
import { startRedis } from '../helpers/redis-server.js';
import type { Stack } from '../helpers/stack.js';
import { readTraces } from '../helpers/traces.js';

afterEach(closeStacks);

async function get(stack: Stack, path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.url}${path}`);
  return { status: response.status, body: await response.json() };
}

/** A raw chat request (no SDK), so every response header can be read. */
async function chat(stack: Stack, headers: Record<string, string>, content: string, stream = false): Promise<Response> {
  const response = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-lineage-client', ...headers },
    body: JSON.stringify({ model: 'gpt-4o', stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content }] }),
  });
  await response.text();
  expect(response.status).toBe(200);
  return response;
}

const run = (id: string) => ({ 'x-claude-code-session-id': id });
const agent = (id: string, agentId: string) => ({ 'x-claude-code-session-id': id, 'x-claude-code-agent-id': agentId });
const helicone = (id: string, path: string) => ({ 'helicone-session-id': id, 'helicone-session-path': path });

const ids = (rows: { id: string }[]) => rows.map((row) => row.id);

/** What a session adds to its tree, as the sessions API lists it. */
function sum(views: { requests: number; input_tokens: number; output_tokens: number; cost_usd: number }[]) {
  return {
    sessions: views.length,
    requests: views.reduce((total, view) => total + view.requests, 0),
    input_tokens: views.reduce((total, view) => total + view.input_tokens, 0),
    output_tokens: views.reduce((total, view) => total + view.output_tokens, 0),
    cost_usd: roundUsd(views.reduce((total, view) => total + view.cost_usd, 0)),
  };
}

describe('a sub-agent session (Claude Code agent headers)', () => {
  it('names its parent in X-Parent-Session-ID, the log, trace files and message log lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cylestio-lineage-'));
    const traces = join(dir, 'traces');
    const messages = join(dir, 'messages.jsonl');
    const stack = await openStack({
      interceptors: [
        { type: 'trace', config: { directory: traces } },
        { type: 'message_logger', config: { log_file: messages } },
      ],
    });
    const parent = await chat(stack, run('run-1'), 'Plan the work');
    const child = await chat(stack, agent('run-1', 'a7'), 'Read the files', true);

    expect(parent.headers.get('x-session-id')).toBe('run-1');
    expect(parent.headers.has('x-parent-session-id')).toBe(false);
    expect(child.headers.get('x-session-id')).toBe('run-1:agent-a7');
    expect(child.headers.get('x-parent-session-id')).toBe('run-1');
    // A browser client may read it.
    expect(child.headers.get('access-control-expose-headers')).toContain('X-Parent-Session-ID');

    const childRequest = child.headers.get('x-request-id');
    const requestLine = (id: string | null) => stack.logs.find((line) => line.msg === 'request' && line.request_id === id);
    expect(requestLine(childRequest)).toMatchObject({ session_id: 'run-1:agent-a7', parent_session_id: 'run-1' });
    expect(requestLine(parent.headers.get('x-request-id'))).not.toHaveProperty('parent_session_id');
    const decision = stack.logs.find((line) => line.msg === 'session decision' && line.request_id === childRequest);
    expect(decision).toMatchObject({ session_id: 'run-1:agent-a7', parent_session_id: 'run-1' });

    await closeStacks(); // flushes the trace queue and the message log
    const written = await readTraces(traces);
    const childTrace = written.find((trace) => trace.session_id === 'run-1:agent-a7')!;
    const parentTrace = written.find((trace) => trace.session_id === 'run-1')!;
    expect(childTrace.parent_session_id).toBe('run-1');
    expect(childTrace.parent_session_key).toMatch(/^run-1~[0-9a-f]{16}$/);
    expect(childTrace.session_key).toMatch(/^run-1:agent-a7~[0-9a-f]{16}$/);
    expect(parentTrace.parent_session_id).toBeNull();
    expect(parentTrace).not.toHaveProperty('parent_session_key');
    // Next to session_id, ahead of the bodies (the sessions CLI reads the head of the file only).
    const keys = Object.keys(childTrace);
    expect(keys.indexOf('parent_session_id')).toBeLessThan(keys.indexOf('request'));

    const lines = (await readFile(messages, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.session_id, line.parent_session_id]).sort()).toEqual([
      ['run-1', null],
      ['run-1:agent-a7', 'run-1'],
    ]);
  });

  it('shows parent, children and tree totals in the sessions API; root_only lists the runs alone', async () => {
    const stack = await openStack();
    const client = new GatewayClient(stack);
    const lead = new Conversation(client, { stream: false });
    await lead.say('Plan the work', { headers: run('run-1') });
    await lead.say('Now delegate', { headers: run('run-1') });
    const reader = new Conversation(client, { stream: true });
    await reader.say('Read the files', { headers: agent('run-1', 'a7') });
    await reader.say('And the tests', { headers: agent('run-1', 'a7') });
    const writer = new Conversation(client, { stream: false });
    await writer.say('Write the summary', { headers: agent('run-1', 'a8') });
    const other = new Conversation(client, { stream: false });
    await other.say('An unrelated chat');

    const all = await get(stack, '/sessions?sort=created&order=asc');
    expect(all.body.total).toBe(4);
    const [root, a7, a8, unrelated] = all.body.sessions;
    expect([root.name, a7.name, a8.name]).toEqual(['run-1', 'run-1:agent-a7', 'run-1:agent-a8']);
    expect(root.parent_session_id).toBeNull();
    expect(a7.parent_session_id).toBe(root.id);
    expect(a8.parent_session_id).toBe(root.id);
    expect(unrelated.parent_session_id).toBeNull();

    const roots = await get(stack, '/sessions?sort=created&order=asc&root_only=true');
    expect(roots.body).toMatchObject({ total: 2 });
    expect(ids(roots.body.sessions)).toEqual([root.id, unrelated.id]);
    expect((await get(stack, '/sessions?root_only=false')).body.total).toBe(4);
    const bad = await get(stack, '/sessions?root_only=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_query' });
    expect(bad.body.error.message).toContain('root_only');

    // The run: no parent, its two sub-agents (oldest first), totals over the three sessions.
    const top = await get(stack, `/sessions/${encodeURIComponent(root.id)}`);
    expect(top.status).toBe(200);
    expect(top.body.parent_session_id).toBeNull();
    expect(top.body.children).toEqual([a7.id, a8.id]);
    expect(top.body.tree).toEqual({ ...sum([root, a7, a8]), truncated: false });
    expect(top.body.tree.requests).toBe(5);
    // A bare name reaches the run too.
    expect((await get(stack, '/sessions/run-1')).body.children).toEqual([a7.id, a8.id]);

    // A sub-agent: its parent, no children, a tree of one; its timeline rows name the parent.
    const sub = await get(stack, `/sessions/${encodeURIComponent(a7.id)}`);
    expect(sub.body.session.parent_session_id).toBe(root.id);
    expect(sub.body.parent_session_id).toBe(root.id);
    expect(sub.body.children).toEqual([]);
    expect(sub.body.tree).toEqual({ ...sum([a7]), truncated: false });
    expect(sub.body.requests.map((row: { parent_session_id: string }) => row.parent_session_id)).toEqual([root.id, root.id]);
    expect((await get(stack, `/sessions/${encodeURIComponent(root.id)}`)).body.requests[0].parent_session_id).toBeNull();

    const alone = await get(stack, `/sessions/${encodeURIComponent(unrelated.id)}`);
    expect(alone.body).toMatchObject({ parent_session_id: null, children: [], tree: { sessions: 1, requests: 1, truncated: false } });
  });
});

describe('Helicone session paths', () => {
  it('nest sessions by path: the tree of the root counts every level (Anthropic)', async () => {
    const stack = await openStack({ type: 'anthropic' });
    const client = new GatewayClient(stack);
    const turns: [string, string][] = [
      ['/', 'the root'],
      ['/a', 'level one'],
      ['/a/b', 'level two'],
      ['/c', 'another branch'],
    ];
    const sent = [];
    for (const [path, text] of turns) sent.push(await new Conversation(client, { stream: true }).say(text, { headers: helicone('h1', path) }));
    expect(sent.map((turn) => turn.sessionId)).toEqual(['h1', 'h1:a', 'h1:a:b', 'h1:c']);

    const listed = (await get(stack, '/sessions?sort=created&order=asc')).body.sessions;
    const byName = Object.fromEntries(listed.map((view: { name: string }) => [view.name, view]));
    expect(byName['h1:a:b'].parent_session_id).toBe(byName['h1:a'].id);
    const root = (await get(stack, `/sessions/${encodeURIComponent(byName.h1.id)}`)).body;
    expect(root.children).toEqual([byName['h1:a'].id, byName['h1:c'].id]);
    expect(root.tree).toEqual({ ...sum(listed), truncated: false });
    const middle = (await get(stack, `/sessions/${encodeURIComponent(byName['h1:a'].id)}`)).body;
    expect(middle).toMatchObject({ parent_session_id: byName.h1.id, children: [byName['h1:a:b'].id], tree: { sessions: 2, truncated: false } });
  });

  it(`walks at most ${TREE_MAX_DEPTH} levels below a session and says the totals were cut`, async () => {
    const stack = await openStack();
    const levels = TREE_MAX_DEPTH + 1; // below the root: one level too many
    const parts: string[] = [];
    await chat(stack, helicone('deep', '/'), 'level 0');
    for (let level = 1; level <= levels; level++) {
      parts.push(`l${level}`);
      const response = await chat(stack, helicone('deep', `/${parts.join('/')}`), `level ${level}`);
      expect(response.headers.get('x-parent-session-id')).toBe(['deep', ...parts.slice(0, -1)].join(':'));
    }
    const root = (await get(stack, '/sessions/deep')).body;
    expect(root.tree).toMatchObject({ sessions: TREE_MAX_DEPTH + 1, requests: TREE_MAX_DEPTH + 1, truncated: true });
    // From one level down the rest fits.
    const next = (await get(stack, `/sessions/${encodeURIComponent(root.children[0])}`)).body;
    expect(next.tree).toMatchObject({ sessions: levels, truncated: false });
  });
});

describe('with a shared store', () => {
  it('finds the sub-agents another gateway linked (Redis), and root_only reads the fleet', async () => {
    const { url } = await startRedis();
    const persistence = { enabled: true, backend: 'redis', connection: url, key_prefix: `lineage-${randomUUID()}:`, timeout_ms: 1000 };
    const a = await openStack({ session: { persistence } });
    const b = await openStack({ session: { persistence } });
    await chat(a, run('fleet-run'), 'Plan on gateway A');
    await chat(b, agent('fleet-run', 'x1'), 'Work on gateway B');
    await chat(b, agent('fleet-run', 'x2'), 'More work on gateway B');

    // Gateway A never saw the sub-agents: it reads them from the store, where B's writes land after the reply.
    await expect.poll(async () => (await get(a, '/sessions/fleet-run')).body.children.length).toBe(2);
    const top = (await get(a, '/sessions/fleet-run')).body;
    expect(top.children.map((id: string) => id.split('~')[0])).toEqual(['fleet-run:agent-x1', 'fleet-run:agent-x2']);
    expect(top.tree).toMatchObject({ sessions: 3, requests: 3, truncated: false });
    const roots = (await get(a, '/sessions?root_only=true')).body;
    expect(roots).toMatchObject({ total: 1, source: 'redis' });
    expect(roots.sessions[0].name).toBe('fleet-run');
    const child = (await get(a, `/sessions/${encodeURIComponent(top.children[0])}`)).body;
    expect(child.parent_session_id).toBe(top.session.id);
  });

  it('keeps the parent in the Postgres record: a column on sessions (indexed) and on every request row', async () => {
    const { url } = await startPostgres();
    const schema = `lineage_${randomUUID().replaceAll('-', '')}`;
    const stack = await openStack({ session: { persistence: { enabled: true, backend: 'postgres', connection: url, schema } } });
    await chat(stack, run('pg-run'), 'Plan');
    const child = await chat(stack, agent('pg-run', 'p1'), 'Sub-task');
    expect(child.headers.get('x-parent-session-id')).toBe('pg-run');

    const api = async () => (await get(stack, '/sessions/pg-run')).body;
    await expect.poll(async () => (await api()).children.length).toBe(1);
    const top = await api();
    expect(top.timeline_source).toBe('postgres');
    const sub = async () => (await get(stack, `/sessions/${encodeURIComponent(top.children[0])}`)).body;
    await expect.poll(async () => (await sub()).requests.length).toBe(1);
    expect((await sub()).requests[0].parent_session_id).toBe(top.session.id);
    await closeStacks(); // a clean stop flushes the record

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const sessions = await client.query(`SELECT key, parent_session_id FROM ${schema}.sessions ORDER BY created_at`);
      expect(sessions.rows).toEqual([
        { key: top.session.id, parent_session_id: null },
        { key: top.children[0], parent_session_id: top.session.id },
      ]);
      const children = await client.query(`SELECT key FROM ${schema}.sessions WHERE parent_session_id = $1`, [top.session.id]);
      expect(children.rows).toEqual([{ key: top.children[0] }]);
      const requests = await client.query(`SELECT session_id, parent_session_id FROM ${schema}.session_requests ORDER BY time`);
      expect(requests.rows).toEqual([
        { session_id: top.session.id, parent_session_id: null },
        { session_id: top.children[0], parent_session_id: top.session.id },
      ]);
      const index = await client.query('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', [schema, 'sessions_parent']);
      expect(index.rows[0].indexdef).toContain('(parent_session_id)');
    } finally {
      await client.end();
    }
  });
});
