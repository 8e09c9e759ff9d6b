// Two tenants (two credentials) that name their sessions alike must stay apart everywhere, not only in
// detection: in the sessions API (list, get, timeline, end) and against a name that copies another
// tenant's generated id. Through HTTP, with the admin API open (no admin token), as an attacker would.
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

interface Turn {
  sessionId: string | null;
  requestId: string | null;
}

/** One chat request as a tenant (its own key), optionally naming its session. */
async function chat(tenant: string, text: string, name?: string): Promise<Turn> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer sk-tenant-${tenant}` };
  if (name) headers['x-session-id'] = name;
  const response = await fetch(`${stack!.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
  return { sessionId: response.headers.get('x-session-id'), requestId: response.headers.get('x-request-id') };
}

async function admin(path: string, method = 'GET'): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack!.url}${path}`, { method });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The sessions API's id of the session that served this request (an admin finds it by the request id). */
async function adminIdOf(turn: Turn): Promise<string> {
  const { body } = await admin('/sessions');
  for (const session of body.sessions as { id: string }[]) {
    const detail = await admin(`/sessions/${encodeURIComponent(session.id)}`);
    if (detail.body.requests.some((r: { request_id: string }) => r.request_id === turn.requestId)) return session.id;
  }
  throw new Error(`no session served ${turn.requestId}`);
}

describe('two tenants naming their sessions alike', () => {
  it('keeps them apart in the sessions API: own ids, own timelines; a bare name shared by both is ambiguous (409) and ends nothing', async () => {
    stack = await startStack();
    const a1 = await chat('a', 'A: plan my garden', 'session-2');
    const b1 = await chat('b', 'B: audit my invoices', 'session-2');
    expect([a1.sessionId, b1.sessionId]).toEqual(['session-2', 'session-2']); // each client sees its own name

    const list = await admin('/sessions');
    expect(list.body.total).toBe(2);
    const ids = list.body.sessions.map((s: { id: string }) => s.id);
    expect(new Set(ids).size).toBe(2);
    for (const session of list.body.sessions) expect(session).toMatchObject({ name: 'session-2', rule: 'explicit' });
    for (const id of ids) expect(id).toMatch(/^session-2~[0-9a-f]+$/);

    const aId = await adminIdOf(a1);
    const bId = await adminIdOf(b1);
    expect(aId).not.toBe(bId);
    const aView = await admin(`/sessions/${encodeURIComponent(aId)}`);
    expect(aView.body.session).toMatchObject({ id: aId, name: 'session-2', requests: 1 });
    expect(aView.body.requests.map((r: { request_id: string }) => r.request_id)).toEqual([a1.requestId]);

    const ambiguous = await admin('/sessions/session-2');
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error).toMatchObject({ code: 'ambiguous_session' });
    expect(ambiguous.body.error.details.candidates.sort()).toEqual([aId, bId].sort());
    expect((await admin('/sessions/session-2', 'DELETE')).status).toBe(409);
    expect((await admin('/sessions')).body.total).toBe(2);

    // A's session ends by its own id; B's goes on as it was.
    expect((await admin(`/sessions/${encodeURIComponent(aId)}`, 'DELETE')).status).toBe(204);
    const remaining = await admin('/sessions');
    expect(remaining.body.sessions.map((s: { id: string }) => s.id)).toEqual([bId]);
    const b2 = await chat('b', 'B: and the receipts', 'session-2');
    expect((await admin(`/sessions/${encodeURIComponent(bId)}`)).body.requests.map((r: { request_id: string }) => r.request_id)).toEqual([
      b1.requestId,
      b2.requestId,
    ]);
    // With one live session left under the name, the bare name finds it.
    expect((await admin('/sessions/session-2')).body.session).toMatchObject({ id: bId, requests: 2 });
  });

  it("does not let a tenant join, see or end another tenant's generated session by naming it", async () => {
    stack = await startStack();
    const b1 = await chat('b', 'B: draft the quarterly report');
    const bId = b1.sessionId!;
    expect(bId).toMatch(/^sess_/);

    const a1 = await chat('a', 'A: hello', bId);
    expect(a1.sessionId).not.toBe(bId); // not honoured as a name: detection ran and gave A a session of its own
    expect(a1.sessionId).toMatch(/^sess_/);
    const bView = await admin(`/sessions/${bId}`);
    expect(bView.body.session).toMatchObject({ id: bId, requests: 1 });
    expect(bView.body.requests.map((r: { request_id: string }) => r.request_id)).toEqual([b1.requestId]);
    expect((await admin('/sessions')).body.total).toBe(2);

    // B itself may name its own generated session (clients echo X-Session-ID back): that joins it.
    const b2 = await chat('b', 'B: something else entirely', bId);
    expect(b2.sessionId).toBe(bId);
    expect((await admin(`/sessions/${bId}`)).body.session).toMatchObject({ requests: 2 });
  });
});
