// The segments layout through HTTP: under concurrent JSON and SSE traffic every request's trace is a line on
// disk (none dropped), and the reference the sessions API holds for it reads back that request's line; a
// pretty-printed request body still makes one line; segments rotate by size and by age (injected clock);
// a directory that cannot be written counts failures while the gateway keeps answering.
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTraceText } from '../../src/interceptors/trace/trace-reference.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { readTraces } from '../helpers/traces.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function segmentStack(config: Record<string, unknown> = {}, now?: () => number): Promise<{ stack: Stack; directory: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-segments-http-'));
  stack = await startStack({ now, interceptors: [{ type: 'trace', config: { directory, ...config } }] });
  return { stack, directory };
}

/** One chat request, JSON or streamed, read to its end; its request id. */
async function chat(s: Stack, session: string, content: string, stream: boolean, raw?: string): Promise<string> {
  const response = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-session-id': session },
    body: raw ?? JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
  return response.headers.get('x-request-id')!;
}

/** Runs `count` tasks, `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const figures = (s: Stack) => s.gateway.interceptors.figures().trace as Record<string, number>;

describe('trace segments through HTTP', () => {
  it('writes every trace of concurrent JSON and SSE traffic as a line, and the sessions API reference reads it back', async () => {
    const { stack: s, directory } = await segmentStack();
    const sent = new Map<string, { session: string; stream: boolean }>();
    await pool(300, 50, async (i) => {
      const session = `load-${i % 10}`;
      const stream = i % 2 === 1;
      sent.set(await chat(s, session, `question ${i}`, stream), { session, stream });
    });
    // The references the sinks stored, read while the gateway still runs (flushed first).
    await s.gateway.interceptors.close(); // flushes the queue; the gateway keeps serving
    for (let k = 0; k < 10; k++) {
      const body = (await (await fetch(`${s.url}/sessions/load-${k}`)).json()) as { requests: { request_id: string; trace_file: string }[] };
      expect(body.requests).toHaveLength(30);
      for (const request of body.requests) {
        expect(request.trace_file).toMatch(/\.jsonl#\d+$/);
        const trace = JSON.parse(await readTraceText(request.trace_file));
        expect(trace).toMatchObject({ request_id: request.request_id, stream: sent.get(request.request_id)!.stream });
      }
    }
    expect(figures(s)).toMatchObject({ traces_written: 300, traces_dropped: 0, traces_failed: 0, traces_queued: 0 });
    const traces = await readTraces(directory); // strict: every line whole, with its newline
    expect(new Set(traces.map((trace) => trace.request_id))).toEqual(new Set(sent.keys()));
    expect(traces).toHaveLength(300);
    expect(new Set(traces.map((trace) => trace.file.split('#')[0])).size).toBe(figures(s).trace_segments);
    for (const trace of traces.filter((t) => t.stream)) expect(trace.response.body.choices[0].message.content).toMatch(/^Reply to: question/);
  }, 60_000); // 300 requests: seconds alone, longer beside the rest of the suite on two cores

  it('keeps a pretty-printed request body on one line, the same JSON value, short or agent-sized', async () => {
    const { stack: s, directory } = await segmentStack();
    // Multi-byte characters beside the line breaks: the body's bytes go in as they are, breaks made spaces.
    // The short body is spliced as text, the long one (past 8 KB) as bytes.
    const turns = [
      { role: 'user', content: 'line one\nline two — ünïcödé 🚀' },
      { role: 'assistant', content: '日本語\r\n' },
    ];
    const bodies = [
      { model: 'gpt-4o', messages: turns },
      { model: 'gpt-4o', messages: Array.from({ length: 200 }, (_, i) => turns[i % 2]) },
    ];
    const ids: string[] = [];
    for (const [i, body] of bodies.entries()) ids.push(await chat(s, `pretty-${i}`, '', false, JSON.stringify(body, null, 2).replace(/\n/g, '\r\n')));
    await s.close();
    stack = undefined;
    const traces = await readTraces(directory);
    expect(traces.map((trace) => trace.request_id).sort()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) expect(traces.find((trace) => trace.request_id === id)!.request.body).toEqual(bodies[i]);
  });

  it('writes a request body the gateway refused as malformed JSON as text, and the line stays valid JSON', async () => {
    const { stack: s, directory } = await segmentStack();
    const broken = '{"model": "gpt-4o", "messages": [{"role": "user", "content": "cut sh';
    const response = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: broken });
    expect(response.status).toBe(400);
    await response.text();
    await s.close();
    stack = undefined;
    const [trace, ...rest] = await readTraces(directory);
    expect(rest).toHaveLength(0);
    expect(trace.response.status).toBe(400);
    expect(trace.request.body).toBe(broken);
  });

  it('rotates segments by size and by age, every reference still exact', async () => {
    let now = Date.parse('2026-03-01T10:00:00.000Z');
    const { stack: s, directory } = await segmentStack({ segment_max_bytes: 6000, segment_max_age_seconds: 60 }, () => now);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await chat(s, 'rotating', `size ${i}`, false));
    now += 60_000;
    ids.push(await chat(s, 'rotating', 'after a minute', false));
    await s.close();
    stack = undefined;
    const names = (await readdir(directory)).sort();
    expect(names.length).toBeGreaterThan(2);
    expect(names.at(-1)).toMatch(/^trace-2026-03-01T10:01:00\.000Z-/);
    const traces = await readTraces(directory);
    expect(traces.map((trace) => trace.request_id)).toEqual(ids);
    for (const trace of traces) expect(JSON.parse(await readTraceText(join(directory, trace.file))).request_id).toBe(trace.request_id);
  });

  it('counts traces it cannot write and keeps answering (a directory that cannot be created)', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cylestio-segments-broken-'));
    await writeFile(join(parent, 'not-a-directory'), '');
    const { stack: s } = await segmentStack({ directory: join(parent, 'not-a-directory', 'traces') });
    await pool(20, 5, async (i) => {
      await chat(s, 'broken', `q${i}`, i % 2 === 0);
    });
    await s.gateway.interceptors.close(); // flushes the queue; the gateway keeps serving
    expect(figures(s)).toMatchObject({ traces_written: 0, traces_failed: 20, traces_queued: 0 });
    expect(await chat(s, 'broken', 'still here', false)).toBeTruthy();
    const warnings = s.logs.filter((line) => line.msg === 'trace segment write failed; traces are counted in traces_failed until writes succeed again');
    expect(warnings).toHaveLength(1);
  });
});
