// The `/metrics` JSON view of GatewayMetrics alone (no HTTP): exact figures from synthetic exchanges.
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, metricsFormat } from '../../src/metrics/gateway-metrics.js';
import type { SessionMetrics } from '../../src/sessions/types.js';
import { exchange, interceptorFigures, manualClock, sessionFigures, sources } from './fixtures.js';

const withoutPerformance = ({ performance, ...rest }: SessionMetrics) => rest;

function setup() {
  const clock = manualClock();
  const metrics = new GatewayMetrics({ service: 'cylestio-gateway', version: '1.2.3', startedAt: new Date(clock.start), now: clock.now });
  // The JSON is a plain object; `any` keeps the assertions readable.
  const read = (s = sources()) => metrics.json(s) as any;
  return { clock, metrics, read };
}

describe('GatewayMetrics.json', () => {
  it('starts empty, with the service block and the sources passed through', () => {
    const { clock, read } = setup();
    clock.advance(90_400);
    expect(read()).toEqual({
      service: { name: 'cylestio-gateway', version: '1.2.3', uptime_seconds: 90, start_time: '2023-11-14T22:13:20.000Z' },
      requests: { total: 0, success: 0, errors: 0, rate_per_minute: 0, average_duration_ms: 0 },
      sessions: withoutPerformance(sessionFigures()),
      performance: { session_lookup_ms: 0.25, session_lookup_p99_ms: 1.5, hash_computation_ms: 0.05, hash_computation_p99_ms: 0.2 },
      providers: {},
      interceptors: interceptorFigures(),
      persistence: null,
      pipeline: null,
      otlp: null,
      timelines: null,
      admin: null,
      process: null,
      tokens: { input: 0, output: 0, total: 0 },
      cost: { total_usd: 0, unpriced_requests: 0, by_provider: {} },
    });
  });

  it('shows the process memory it is given, in bytes', () => {
    const { read } = setup();
    const memory = { rss: 5_000_000, heapUsed: 2_000_000, heapTotal: 3_000_000, external: 400_000, arrayBuffers: 100_000 };
    expect(read(sources({ memory })).process).toEqual({
      rss_bytes: 5_000_000,
      heap_used_bytes: 2_000_000,
      heap_total_bytes: 3_000_000,
      external_bytes: 400_000,
      array_buffers_bytes: 100_000,
    });
  });

  it('gives null sessions and performance when session tracking is off', () => {
    const { read } = setup();
    const body = read(sources({ sessions: null }));
    expect(body.sessions).toBeNull();
    expect(body.performance).toBeNull();
  });

  it('splits success and errors: status < 400 without a failure is a success, anything else an error', () => {
    const { metrics, read } = setup();
    metrics.observe(exchange({ status: 200 }));
    metrics.observe(exchange({ status: 304 }));
    metrics.observe(exchange({ status: 399 }));
    metrics.observe(exchange({ status: 400 }));
    metrics.observe(exchange({ status: 429 }));
    metrics.observe(exchange({ status: 502, failure: 'unreachable', ttfbMs: null, usage: null }));
    // Headers were sent (200) but the client left mid-stream: not a success.
    metrics.observe(exchange({ status: 200, stream: true, failure: 'client_closed' }));
    expect(read().requests).toMatchObject({ total: 7, success: 3, errors: 4 });
  });

  it('averages durations overall and per provider, rounded to 3 decimals', () => {
    const { metrics, read } = setup();
    metrics.observe(exchange({ durationMs: 10 }));
    metrics.observe(exchange({ durationMs: 20 }));
    metrics.observe(exchange({ durationMs: 25, status: 500 }));
    metrics.observe(exchange({ provider: 'anthropic', operation: 'messages', path: '/v1/messages', durationMs: 1000.5 }));
    metrics.observe(exchange({ provider: 'anthropic', operation: 'messages', path: '/v1/messages', durationMs: 2000, failure: 'timeout', status: 504 }));
    const body = read();
    expect(body.requests.average_duration_ms).toBe(611.1); // (10 + 20 + 25 + 1000.5 + 2000) / 5
    expect(body.providers).toEqual({
      openai: { requests: 3, errors: 1, average_duration_ms: 18.333 },
      anthropic: { requests: 2, errors: 1, average_duration_ms: 1500.25 },
    });
  });

  it('sums tokens from usage, skipping exchanges without usage and bad figures', () => {
    const { metrics, read } = setup();
    metrics.observe(exchange({ usage: { input_tokens: 120, output_tokens: 30, total_tokens: 150 } }));
    metrics.observe(exchange({ usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 } }));
    metrics.observe(exchange({ usage: null }));
    metrics.observe(exchange({ usage: { input_tokens: Number.NaN, output_tokens: -5, total_tokens: Number.POSITIVE_INFINITY } }));
    expect(read().tokens).toEqual({ input: 127, output: 33, total: 160 });
  });

  it('puts unknown providers under "other" rather than their raw name', () => {
    const { metrics, read } = setup();
    metrics.observe(exchange({ provider: 'sess_0123456789abcdef' }));
    expect(Object.keys(read().providers)).toEqual(['other']);
  });

  it('counts requests finished in the last 60 s, per second, as the window rolls', () => {
    const { clock, metrics, read } = setup();
    const t0 = clock.start;
    for (let i = 0; i < 3; i++) metrics.observe(exchange());
    clock.set(t0 + 30_500);
    metrics.observe(exchange());
    metrics.observe(exchange());
    clock.set(t0 + 59_999);
    expect(read().requests.rate_per_minute).toBe(5);
    clock.set(t0 + 60_000); // the second of t0 has left the window
    expect(read().requests.rate_per_minute).toBe(2);
    clock.set(t0 + 89_999);
    expect(read().requests.rate_per_minute).toBe(2);
    clock.set(t0 + 90_000); // second 30 leaves
    expect(read().requests.rate_per_minute).toBe(0);
    // Two laps of the ring later the old slot of t0 is reused: it starts again from zero.
    clock.set(t0 + 120_000);
    metrics.observe(exchange());
    expect(read().requests.rate_per_minute).toBe(1);
    expect(read().requests.total).toBe(6);
  });

  it('keeps an old lap out of the window even when nothing came since', () => {
    const { clock, metrics, read } = setup();
    metrics.observe(exchange());
    clock.advance(3_600_000);
    expect(read().requests.rate_per_minute).toBe(0);
  });
});

describe('metricsFormat (Accept negotiation)', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/json', 'json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ['application/json, text/plain, */*', 'json'],
    ['text/plain', 'prometheus'],
    ['text/plain;version=0.0.4;q=0.3,*/*;q=0.2', 'prometheus'],
    ['application/openmetrics-text', 'openmetrics'],
    [
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      'openmetrics',
    ],
    ['text/plain;q=0.9, application/openmetrics-text;q=0.5', 'prometheus'],
    ['application/openmetrics-text;q=0, text/plain', 'prometheus'],
    ['application/json;q=0.5, text/plain', 'prometheus'],
    [['text/plain', 'application/json'], 'json'],
  ])('%j → %s', (accept, expected) => {
    expect(metricsFormat(accept as string | string[] | undefined)).toBe(expected);
  });
});
