// The Prometheus / OpenMetrics views of GatewayMetrics alone: the text goes through a strict parser, and
// the values are read back with prom-client's own Registry API (getMetricsAsJSON).
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_SECONDS } from '../../src/metrics/catalog.js';
import { GatewayMetrics, type MetricsSources } from '../../src/metrics/gateway-metrics.js';
import { parseExposition, type ParsedFamily } from './exposition-parser.js';
import { exchange, manualClock, sources } from './fixtures.js';

function setup() {
  const clock = manualClock();
  return new GatewayMetrics({ service: 'cylestio-gateway', version: '1.2.3', startedAt: new Date(clock.start), now: clock.now });
}

/** Values from prom-client's registry, keyed `sample_name{sorted labels}` for exact comparison. */
async function registryValues(metrics: GatewayMetrics, s: MetricsSources): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const family of await metrics.registry(s).getMetricsAsJSON()) {
    for (const v of family.values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>) {
      out.set(key(v.metricName ?? family.name, v.labels), v.value);
    }
  }
  return out;
}
const key = (name: string, labels: Record<string, string | number>) =>
  `${name}{${Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;
const parsedValues = (families: Map<string, ParsedFamily>) =>
  new Map([...families.values()].flatMap((f) => f.samples.map((s) => [key(s.name, s.labels), s.value] as const)));

/** The exposition grammar, line by line: `name{label="value",...} value`, or a `#` line, or empty. */
const SAMPLE_LINE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|[+-]Inf|NaN)$/;

function traffic(metrics: GatewayMetrics): void {
  metrics.observe(exchange({ durationMs: 3, ttfbMs: 2 }));
  metrics.observe(exchange({ durationMs: 5, ttfbMs: 5 })); // exactly on a bound: `le` is inclusive
  metrics.observe(exchange({ durationMs: 6, ttfbMs: 4, usage: { input_tokens: 100, output_tokens: 50, total_tokens: 150 } }));
  metrics.observe(exchange({ durationMs: 700, ttfbMs: 300, status: 429 }));
  metrics.observe(exchange({ durationMs: 1000, ttfbMs: null, status: 504, failure: 'timeout', usage: null }));
  metrics.observe(exchange({ durationMs: 150_000, ttfbMs: 900, stream: true }));
  metrics.observe(exchange({ provider: 'anthropic', operation: 'messages', path: '/v1/messages', durationMs: 2500, ttfbMs: 800, stream: true }));
  metrics.observe(exchange({ operation: null, path: '/v1/files', method: 'GET', durationMs: 20, ttfbMs: 15, usage: null }));
}

describe('GatewayMetrics.prometheus', () => {
  it('renders text a strict parser accepts, with the values prom-client holds', async () => {
    const metrics = setup();
    traffic(metrics);
    const text = await metrics.prometheus(sources());
    expect(metrics.prometheusContentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parseExposition(text, 'prometheus');
    expect(parsedValues(families)).toEqual(await registryValues(metrics, sources()));
    for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) expect(line).toMatch(SAMPLE_LINE);
    expect(families.get('cylestio_requests_total')?.type).toBe('counter');
    expect(families.get('cylestio_request_duration_seconds')?.type).toBe('histogram');
  });

  it('counts requests by provider, operation and status class, and tokens by direction', async () => {
    const metrics = setup();
    traffic(metrics);
    const v = await registryValues(metrics, sources());
    const requests = (provider: string, operation: string, status_class: string) =>
      v.get(key('cylestio_requests_total', { provider, operation, status_class }));
    expect(requests('openai', 'chat.completions', '2xx')).toBe(4);
    expect(requests('openai', 'chat.completions', '4xx')).toBe(1);
    expect(requests('openai', 'chat.completions', 'failed')).toBe(1);
    expect(requests('openai', 'chat.completions', '5xx')).toBeUndefined(); // the 504 was a failure
    expect(requests('anthropic', 'messages', '2xx')).toBe(1);
    expect(requests('openai', 'passthrough', '2xx')).toBe(1);
    expect(v.get(key('cylestio_tokens_total', { provider: 'openai', direction: 'input' }))).toBe(100 + 4 * 10);
    expect(v.get(key('cylestio_tokens_total', { provider: 'openai', direction: 'output' }))).toBe(50 + 4 * 5);
    expect(v.get(key('cylestio_tokens_total', { provider: 'anthropic', direction: 'input' }))).toBe(10);
    expect(v.get(key('cylestio_build_info', { version: '1.2.3' }))).toBe(1);
    expect(v.get(key('cylestio_start_time_seconds', {}))).toBe(1_700_000_000);
  });

  it('puts each duration in the right bucket, per stream flag, and skips a missing first byte', async () => {
    const metrics = setup();
    traffic(metrics);
    const v = await registryValues(metrics, sources());
    const series = { provider: 'openai', operation: 'chat.completions', stream: 'false' };
    const bucket = (name: string, le: number | string, labels = series) => v.get(key(`${name}_bucket`, { ...labels, le }));
    const d = 'cylestio_request_duration_seconds';
    // Non-streamed chat: 3 ms, 5 ms, 6 ms, 700 ms, 1000 ms.
    expect([0.005, 0.01, 0.5, 1, 120, '+Inf'].map((le) => bucket(d, le))).toEqual([2, 3, 3, 5, 5, 5]);
    expect(v.get(key(`${d}_count`, series))).toBe(5);
    expect(v.get(key(`${d}_sum`, series))).toBeCloseTo(1.714, 9);
    // The streamed 150 s exchange is beyond the last bound: only +Inf counts it.
    const streamed = { ...series, stream: 'true' };
    expect(bucket(d, 120, streamed)).toBe(0);
    expect(bucket(d, '+Inf', streamed)).toBe(1);
    expect(LATENCY_BUCKETS_SECONDS[0]).toBe(0.005);
    expect(LATENCY_BUCKETS_SECONDS.at(-1)).toBe(120);
    // TTFB: the timed-out exchange had no first byte, so 4 observations, not 5.
    const t = 'cylestio_time_to_first_byte_seconds';
    expect([0.005, 0.25, 0.5, '+Inf'].map((le) => bucket(t, le))).toEqual([3, 3, 4, 4]);
    expect(v.get(key(`${t}_count`, series))).toBe(4);
  });

  it('exposes the session figures, with times in seconds and resets by reason', async () => {
    const metrics = setup();
    const v = await registryValues(metrics, sources());
    expect(v.get(key('cylestio_sessions_active', {}))).toBe(4);
    expect(v.get(key('cylestio_sessions_created_total', {}))).toBe(9);
    expect(v.get(key('cylestio_sessions_evicted_total', {}))).toBe(1);
    expect(v.get(key('cylestio_sessions_expired_total', {}))).toBe(3);
    expect(v.get(key('cylestio_sessions_ended_total', {}))).toBe(1);
    expect(v.get(key('cylestio_session_resets_total', { reason: 'count_drop' }))).toBe(2);
    expect(v.get(key('cylestio_session_resets_total', { reason: 'context_break' }))).toBe(0);
    expect(v.get(key('cylestio_session_decisions_total', { rule: 'continued' }))).toBe(20);
    expect(v.get(key('cylestio_session_fuzzy_matches_total', {}))).toBe(2);
    expect(v.get(key('cylestio_session_cache_hit_ratio', {}))).toBe(0.75);
    expect(v.get(key('cylestio_session_average_length_messages', {}))).toBe(6.5);
    expect(v.get(key('cylestio_session_longest_messages', {}))).toBe(14);
    expect(v.get(key('cylestio_session_lookup_mean_seconds', {}))).toBe(0.00025);
    expect(v.get(key('cylestio_session_lookup_p99_seconds', {}))).toBe(0.0015);
    expect(v.get(key('cylestio_session_hash_mean_seconds', {}))).toBe(0.00005);
    expect(v.get(key('cylestio_session_hash_p99_seconds', {}))).toBe(0.0002);
    // Session tracking off: the families stay declared, with no samples.
    const off = parseExposition(await metrics.prometheus(sources({ sessions: null })), 'prometheus');
    expect(off.get('cylestio_sessions_active')?.samples).toEqual([]);
  });

  it('turns numeric interceptor figures into one family each, following what the sources report', async () => {
    const metrics = setup();
    let families = parseExposition(await metrics.prometheus(sources()), 'prometheus');
    expect(families.get('cylestio_interceptor_enabled')?.samples.map((s) => [s.labels.type, s.value])).toEqual([
      ['printer', 1],
      ['trace', 1],
      ['message_logger', 0],
    ]);
    expect(families.get('cylestio_interceptor_traces_written')?.samples).toEqual([
      { name: 'cylestio_interceptor_traces_written', labels: { type: 'trace' }, value: 7 },
    ]);
    expect(families.get('cylestio_interceptor_traces_dropped')?.samples[0].value).toBe(1);
    expect(families.get('cylestio_interceptor_logs_written')?.samples[0]).toMatchObject({ labels: { type: 'message_logger' }, value: 0 });

    // A figure no interceptor reports any more goes; names are made safe for both formats.
    families = parseExposition(await metrics.prometheus(sources({ interceptors: { trace: { enabled: true, 'bytes-total': 512 } } })), 'prometheus');
    expect(families.has('cylestio_interceptor_traces_written')).toBe(false);
    expect(families.get('cylestio_interceptor_bytes_total_value')?.samples[0].value).toBe(512);
  });

  it('never uses a per-request value as a label: series stay bounded whatever the traffic', async () => {
    const metrics = setup();
    for (let i = 0; i < 500; i++) {
      metrics.observe(
        exchange({
          provider: i % 7 === 0 ? `sess_${i}` : 'openai',
          operation: i % 5 === 0 ? `req_${i}` : i % 3 === 0 ? null : 'chat.completions',
          path: `/v1/x/${i}`,
          model: `model-${i}`,
          status: 100 + (i % 500),
          stream: i % 2 === 0,
        }),
      );
    }
    const families = parseExposition(await metrics.prometheus(sources()), 'prometheus');
    const values = new Set([...families.values()].flatMap((f) => f.samples.flatMap((s) => Object.values(s.labels))));
    for (const value of values) {
      expect(value).not.toContain('sess_');
      expect(value).not.toContain('req_');
      expect(value).not.toContain('model-');
    }
    const requestSeries = families.get('cylestio_requests_total')!.samples;
    // 2 providers (openai, other) × 3 operations (chat.completions, passthrough, other) × 6 classes at most.
    expect(requestSeries.length).toBeLessThanOrEqual(36);
    expect(new Set(requestSeries.map((s) => s.labels.operation))).toEqual(new Set(['chat.completions', 'passthrough', 'other']));
    expect(new Set(requestSeries.map((s) => s.labels.status_class))).toEqual(new Set(['1xx', '2xx', '3xx', '4xx', '5xx']));
  });
});

describe('GatewayMetrics.openMetrics', () => {
  it('renders OpenMetrics 1.0 a strict parser accepts, with the same values', async () => {
    const metrics = setup();
    traffic(metrics);
    const text = await metrics.openMetrics(sources());
    expect(metrics.openMetricsContentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text.endsWith('# EOF\n')).toBe(true);
    const families = parseExposition(text, 'openmetrics');
    // Counter families drop `_total`; their samples carry it, so the series are the Prometheus ones.
    expect(families.get('cylestio_requests')?.type).toBe('counter');
    expect(families.has('cylestio_requests_total')).toBe(false);
    expect(parsedValues(families)).toEqual(parsedValues(parseExposition(await metrics.prometheus(sources()), 'prometheus')));
    for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) expect(line).toMatch(SAMPLE_LINE);
  });

  it('does not disturb the Prometheus rendering, even when both run at once', async () => {
    const metrics = setup();
    traffic(metrics);
    const [a, om, b] = await Promise.all([metrics.prometheus(sources()), metrics.openMetrics(sources()), metrics.prometheus(sources({ sessions: null }))]);
    expect(parseExposition(a, 'prometheus').get('cylestio_requests_total')?.samples.length).toBe(5);
    expect(parseExposition(om, 'openmetrics').get('cylestio_sessions_created')?.samples[0].value).toBe(9);
    expect(parseExposition(b, 'prometheus').get('cylestio_sessions_created_total')?.samples).toEqual([]);
    expect(await metrics.prometheus(sources())).toBe(a);
  });
});

describe('the test parser itself', () => {
  it.each([
    ['no TYPE', 'x 1\n'],
    ['unquoted label', '# TYPE x gauge\nx{a=b} 1\n'],
    ['bad escape', '# TYPE x gauge\nx{a="\\q"} 1\n'],
    ['two spaces', '# TYPE x gauge\nx  1\n'],
    ['bad value', '# TYPE x gauge\nx 0x10\n'],
    ['duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['sample of another family', '# TYPE x gauge\ny 1\n'],
    ['family split in two', '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# HELP x again\n'],
    ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['histogram counts dropping', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
  ])('rejects %s', (_, text) => {
    expect(() => parseExposition(text, 'prometheus')).toThrow();
  });

  it('reads escaped label values and rejects OpenMetrics without # EOF', () => {
    const families = parseExposition('# TYPE x gauge\nx{a="q\\"uote\\\\n",b="line\\nbreak",} 1.5e3\n', 'prometheus');
    expect(families.get('x')?.samples[0]).toEqual({ name: 'x', labels: { a: 'q"uote\\n', b: 'line\nbreak' }, value: 1500 });
    expect(() => parseExposition('# TYPE x gauge\nx 1\n', 'openmetrics')).toThrow(/EOF/);
  });
});
