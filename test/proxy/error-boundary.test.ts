// One error boundary for the whole request path: whatever a stage does (throw, reject, never settle), the
// client gets the standard answer, the failure is logged once with the request id and counted in /metrics.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A custom interceptor module with the given hooks' source, as users write them. */
async function interceptorModule(source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cylestio-hook-'));
  const path = join(dir, 'hook.mjs');
  await writeFile(path, source);
  return path;
}

const chat = (content = 'hello there') => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
});

async function startWith(source: string, server: Record<string, unknown> = {}): Promise<Stack> {
  const module = await interceptorModule(source);
  stack = await startStack({ interceptors: [{ type: 'custom', module }], server });
  return stack;
}

async function pipelineFigures(s: Stack) {
  return (
    (await (await fetch(`${s.url}/metrics`)).json()) as {
      pipeline: { gateway_errors: number; by_stage: Record<string, number>; deadlines_missed: number; sink_failures: number };
    }
  ).pipeline;
}

function expectGatewayError(body: Record<string, unknown>, stage: string) {
  expect(body).toMatchObject({
    error: { type: 'server_error', code: 'gateway_error', message: expect.any(String), details: { stage } },
    request_id: expect.any(String),
    timestamp: expect.any(String),
  });
}

describe('a failing request hook', () => {
  it('answers 500 gateway_error when onRequest throws synchronously, logs it once and counts it', async () => {
    const s = await startWith(`export default { type: 'custom', onRequest() { throw new Error('hook exploded'); } };`);
    const response = await fetch(`${s.url}/v1/chat/completions`, chat());
    expect(response.status).toBe(500);
    const body = await response.json();
    expectGatewayError(body, 'request_hooks');
    expect(response.headers.get('x-request-id')).toBe(body.request_id);
    expect(s.sim.requests).toHaveLength(0);
    const failures = s.logs.filter((line) => line.msg === 'the gateway failed to handle the request');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ request_id: body.request_id, stage: 'request_hooks' });
    expect(await pipelineFigures(s)).toMatchObject({ gateway_errors: 1, by_stage: { request_hooks: 1 } });
  });

  it('answers 500 gateway_error when onRequest rejects', async () => {
    const s = await startWith(`export default { type: 'custom', async onRequest() { throw new Error('async hook exploded'); } };`);
    const response = await fetch(`${s.url}/v1/chat/completions`, chat());
    expect(response.status).toBe(500);
    expectGatewayError(await response.json(), 'request_hooks');
  });

  it('answers 500 gateway_error when onRequest never settles, after server.timeouts.stage_seconds', async () => {
    const s = await startWith(`export default { type: 'custom', onRequest() { return new Promise(() => {}); } };`, { timeouts: { stage_seconds: 0.2 } });
    const response = await fetch(`${s.url}/v1/chat/completions`, chat());
    expect(response.status).toBe(500);
    expectGatewayError(await response.json(), 'request_hooks');
    expect(await pipelineFigures(s)).toMatchObject({ gateway_errors: 1, deadlines_missed: 1 });
  });

  it('keeps serving: the next request of a working hook goes through', async () => {
    const s = await startWith(`let n = 0; export default { type: 'custom', onRequest() { if (n++ === 0) throw new Error('first only'); } };`);
    expect((await fetch(`${s.url}/v1/chat/completions`, chat())).status).toBe(500);
    expect((await fetch(`${s.url}/v1/chat/completions`, chat())).status).toBe(200);
  });
});

describe('a failing response hook', () => {
  it("costs the client nothing: the answer is the provider's, the failure is logged", async () => {
    const s = await startWith(`export default { type: 'custom', onResponse() { throw new Error('sink exploded'); } };`);
    const response = await fetch(`${s.url}/v1/chat/completions`, {
      ...chat(),
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('[DONE]');
    expect(s.logs.some((line) => line.msg === 'interceptor failed')).toBe(true);
  });
});

describe('a failing session engine', () => {
  it('answers 500 gateway_error instead of leaving the client waiting', async () => {
    stack = await startStack();
    const s = stack;
    // The engine is the gateway's own code; a bug in it must still end in an answer.
    s.gateway.sessions!.decide = () => {
      throw new RangeError('Maximum call stack size exceeded');
    };
    const response = await fetch(`${s.url}/v1/chat/completions`, chat());
    expect(response.status).toBe(500);
    expectGatewayError(await response.json(), 'decide_session');
  });

  it('a reply that cannot be recorded still reaches the client', async () => {
    stack = await startStack();
    const s = stack;
    s.gateway.sessions!.recordReply = () => {
      throw new Error('index broken');
    };
    const response = await fetch(`${s.url}/v1/chat/completions`, chat());
    expect(response.status).toBe(200);
    expect((await response.json()).choices).toHaveLength(1);
    expect(s.logs.some((line) => String(line.msg).startsWith('recording the reply failed'))).toBe(true);
  });
});
