// Every exchange is priced where users look: its trace and /metrics (JSON and Prometheus).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { readTraces } from '../helpers/traces.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function tracedStack(type: 'openai' | 'anthropic', extra: Record<string, unknown> = {}): Promise<{ stack: Stack; traces: string }> {
  const traces = await mkdtemp(join(tmpdir(), 'cylestio-cost-'));
  stack = await startStack({ type, interceptors: [{ type: 'trace', config: { directory: traces } }], ...extra });
  return { stack, traces };
}

async function onlyTrace(directory: string): Promise<Record<string, any>> {
  await stack!.gateway.interceptors.close(); // flushes the trace queue
  const traces = await readTraces(directory);
  expect(traces).toHaveLength(1);
  return traces[0];
}

const request = {
  openai: (model: string, stream = false) => ({
    path: '/v1/chat/completions',
    body: { model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content: 'price me' }] },
  }),
  anthropic: (model: string, stream = false) => ({
    path: '/v1/messages',
    body: { model, stream, max_tokens: 64, messages: [{ role: 'user', content: 'price me' }] },
  }),
};

describe('cost_usd', () => {
  for (const [type, model] of [
    ['openai', 'gpt-4o-mini'],
    ['anthropic', 'claude-haiku-4-5'],
  ] as const) {
    for (const stream of [false, true]) {
      it(`prices a ${type} ${stream ? 'streamed' : 'JSON'} exchange in its trace and in /metrics as the catalog does`, async () => {
        const { stack: s, traces } = await tracedStack(type);
        const { path, body } = request[type](model, stream);
        const response = await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(response.status).toBe(200);
        await response.text();
        const trace = await onlyTrace(traces);
        expect(trace.usage.input_tokens).toBeGreaterThan(0);
        const expected = calcPrice({ input_tokens: trace.usage.input_tokens, output_tokens: trace.usage.output_tokens }, model, {
          providerId: type,
        })!.total_price;
        expect(trace.cost_usd).toBeCloseTo(expected, 12);
        // The session's timeline in the sessions API carries it per request.
        const timeline = await (await fetch(`${s.url}/sessions/${trace.session_id}`)).json();
        expect(timeline.requests[0].cost_usd).toBeCloseTo(expected, 12);
        const metrics = await (await fetch(`${s.url}/metrics`)).json();
        expect(metrics.cost.total_usd).toBeCloseTo(expected, 8);
        expect(metrics.cost.by_provider[type]).toBeCloseTo(expected, 8);
        const prometheus = await (await fetch(`${s.url}/metrics`, { headers: { accept: 'text/plain' } })).text();
        const sample = new RegExp(`^cylestio_cost_usd_total\\{provider="${type}"\\} (\\S+)$`, 'm').exec(prometheus);
        expect(Number(sample?.[1])).toBeCloseTo(expected, 8);
      });
    }
  }

  it('is null for a model nobody prices, and the exchange is counted as unpriced', async () => {
    const { stack: s, traces } = await tracedStack('openai');
    const { path, body } = request.openai('ft:gpt-4o-mini:acme::private');
    await (await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();
    expect((await onlyTrace(traces)).cost_usd).toBeNull();
    const metrics = await (await fetch(`${s.url}/metrics`)).json();
    expect(metrics.cost).toMatchObject({ total_usd: 0, unpriced_requests: 1 });
  });

  it('uses pricing.overrides for private models', async () => {
    const { stack: s, traces } = await tracedStack('openai', { pricing: { overrides: { 'ft:gpt-4o-mini:acme::private': { input: 3, output: 12 } } } });
    const { path, body } = request.openai('ft:gpt-4o-mini:acme::private');
    await (await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).text();
    const trace = await onlyTrace(traces);
    expect(trace.cost_usd).toBeCloseTo((trace.usage.input_tokens * 3 + trace.usage.output_tokens * 12) / 1e6, 12);
  });

  it('adds up per session: GET /sessions/:id and GET /sessions show the total, sortable by cost', async () => {
    const { stack: s, traces } = await tracedStack('openai');
    const send = async (model: string, messages: unknown[], session: string) => {
      const response = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-id': session },
        body: JSON.stringify({ model, messages }),
      });
      return response.json();
    };
    await send('gpt-4o-mini', [{ role: 'user', content: 'cheap one' }], 'cheap');
    await send('gpt-4o', [{ role: 'user', content: 'dear one' }], 'dear');
    await send('gpt-4o', [{ role: 'user', content: 'dear two' }], 'dear');
    await s.gateway.interceptors.close();
    const costs: Record<string, number> = {};
    for (const trace of await readTraces(traces)) {
      costs[trace.session_id] = (costs[trace.session_id] ?? 0) + trace.cost_usd;
    }
    const dear = await (await fetch(`${s.url}/sessions/dear`)).json();
    expect(dear.session.cost_usd).toBeCloseTo(costs.dear, 8);
    expect(dear.requests.map((r: { cost_usd: number }) => r.cost_usd).reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(costs.dear, 8);
    const list = await (await fetch(`${s.url}/sessions?sort=cost&order=desc`)).json();
    expect(list.sessions.map((v: { name: string }) => v.name)).toEqual(['dear', 'cheap']);
    expect(list.sessions[1].cost_usd).toBeCloseTo(costs.cheap, 8);
  });
});
