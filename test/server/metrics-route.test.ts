// /metrics through HTTP after real traffic from the official SDK: the numbers match what was sent, in the
// guide's JSON shape and in Prometheus / OpenMetrics text that a strict parser accepts.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition } from '../metrics/exposition-parser.js';
import { rejection, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
afterEach(async () => stack.close());

async function traffic() {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-metrics-'));
  stack = await startStack({ interceptors: [{ type: 'trace', config: { directory } }] });
  const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${stack.url}/v1`, maxRetries: 0 });
  const first = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one' }] });
  const stream = client.chat.completions.stream({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'one' }, first.choices[0].message, { role: 'user', content: 'two' }],
    stream_options: { include_usage: true },
  });
  await stream.finalChatCompletion();
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'other' }] });
  await rejection(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-sim-status': '500' } }));
  await stack.gateway.interceptors.close(); // traces on disk, so traces_written is final
}

describe('GET /metrics', () => {
  it('answers the guide JSON shape with figures that match the traffic', async () => {
    await traffic();
    const metrics = await (await fetch(`${stack.url}/metrics`)).json();
    expect(metrics.service).toMatchObject({
      name: 'cylestio-gateway',
      version: expect.any(String),
      uptime_seconds: expect.any(Number),
      start_time: expect.any(String),
    });
    expect(metrics.requests).toMatchObject({ total: 4, success: 3, errors: 1, rate_per_minute: 4 });
    expect(metrics.requests.average_duration_ms).toBeGreaterThan(0);
    expect(metrics.providers.openai).toMatchObject({ requests: 4, errors: 1 });
    expect(metrics.sessions).toMatchObject({ active_count: 3, total_created: 3, requests_considered: 4 });
    expect(metrics.sessions.cache_hit_rate).toBeCloseTo(0.25, 3);
    // The sessions API's in-memory timelines: every request kept, under the default row bound.
    expect(metrics.process.rss_bytes).toBeGreaterThan(metrics.process.heap_used_bytes);
    expect(metrics.process.heap_total_bytes).toBeGreaterThanOrEqual(metrics.process.heap_used_bytes);
    expect(metrics.timelines).toEqual({ sessions: 3, requests: 4, max_requests: 20_000, requests_dropped: 0, session_requests_dropped: 0 });
    expect(metrics.performance.session_lookup_ms).toBeGreaterThanOrEqual(0);
    expect(metrics.interceptors.trace).toMatchObject({ enabled: true, traces_written: 4, traces_dropped: 0 });
    expect(metrics.tokens.output).toBeGreaterThan(0);
  });

  it('answers Prometheus text to text/plain and OpenMetrics to scrapers asking for it; both parse', async () => {
    await traffic();
    const text = await fetch(`${stack.url}/metrics`, { headers: { accept: 'text/plain' } });
    expect(text.headers.get('content-type')).toContain('text/plain');
    const families = parseExposition(await text.text(), 'prometheus');
    const requests = families.get('cylestio_requests_total')!;
    const total = requests.samples.reduce((sum, sample) => sum + sample.value, 0);
    expect(total).toBe(4);
    expect(requests.samples.find((s) => s.labels.status_class === '5xx')?.value).toBe(1);
    expect(families.get('cylestio_sessions_active')!.samples[0].value).toBe(3);
    expect(families.get('cylestio_request_duration_seconds')).toBeDefined();
    // The standard process memory names, so existing dashboards find them.
    expect(families.get('process_resident_memory_bytes')!.samples[0].value).toBeGreaterThan(families.get('nodejs_heap_size_used_bytes')!.samples[0].value);
    expect(families.get('nodejs_heap_size_total_bytes')!.samples[0].value).toBeGreaterThan(0);
    const open = await fetch(`${stack.url}/metrics/prometheus`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(open.headers.get('content-type')).toContain('application/openmetrics-text');
    expect(parseExposition(await open.text(), 'openmetrics').size).toBeGreaterThan(5);
    const plain = await (await fetch(`${stack.url}/metrics/prometheus`)).text();
    expect(plain).not.toMatch(/sess_|req_[0-9a-f]/);
  });
});
