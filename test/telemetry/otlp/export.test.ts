// OpenTelemetry export through the public interface: a real OTLP/HTTP receiver (protobuf and JSON) gets one
// GenAI span per model call, joined to the client's W3C trace and handed on to the provider, plus the
// conventions' client metrics; a collector that is down or hangs costs requests nothing and its drops are
// counted; export is off unless asked for.
import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp-receiver.js';
import { startStack, type Stack, type StackOptions } from '../../helpers/stack.js';

let stack: Stack | undefined;
let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await stack?.close();
  await receiver?.close();
  stack = receiver = undefined;
});

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';
const traceparent = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

/** Export on, flushed quickly: spans every 50 ms, metrics every 200 ms. */
const fast = { schedule_delay_ms: 50, metric_export_interval_ms: 200 };

async function exportingStack(options: StackOptions & { otlp?: Record<string, unknown> } = {}): Promise<Stack> {
  receiver ??= await startOtlpReceiver();
  stack = await startStack({ ...options, telemetry: { otlp: { endpoint: receiver.url, ...fast, ...options.otlp } } });
  return stack;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(`${stack!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await response.text();
  return response;
}

const chat = (stream: boolean, content = 'Hello there') => ({
  model: 'gpt-4o-mini',
  stream,
  ...(stream ? { stream_options: { include_usage: true } } : {}),
  messages: [{ role: 'user', content }],
});
const anthropicMessage = (stream: boolean) => ({ model: 'claude-haiku-4-5', stream, max_tokens: 64, messages: [{ role: 'user', content: 'Hello there' }] });

const onlySpan = async (): Promise<ReceivedSpan> => (await receiver!.waitForSpans(1))[0];

describe('OpenTelemetry spans', () => {
  it('exports a streamed chat as a CLIENT span in the GenAI conventions (protobuf), child of the client trace, parent of the upstream call', async () => {
    receiver = await startOtlpReceiver();
    // Configured the standard way: the variables alone turn export on.
    stack = await startStack({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SEMCONV_STABILITY_OPT_IN: 'gen_ai_latest_experimental',
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_SERVICE_NAME: 'gateway-under-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
      },
    });
    const response = await post('/v1/chat/completions', chat(true), { traceparent, tracestate: 'vendor=kept' });
    expect(response.status).toBe(200);
    const span = await onlySpan();
    expect(receiver.contentTypes).toContain('/v1/traces application/x-protobuf');
    expect(span.name).toBe('chat gpt-4o-mini');
    expect(span.kind).toBe(3); // CLIENT
    expect(span.traceId).toBe(CLIENT_TRACE);
    expect(span.parentSpanId).toBe(CLIENT_SPAN);
    expect(span.resource['service.name']).toBe('gateway-under-test');
    expect(span.resource['deployment.environment.name']).toBe('test');
    const a = span.attributes;
    expect(a['gen_ai.operation.name']).toBe('chat');
    expect(a['gen_ai.provider.name']).toBe('openai');
    expect(a['gen_ai.system']).toBeUndefined();
    expect(a['gen_ai.request.model']).toBe('gpt-4o-mini');
    expect(a['gen_ai.response.model']).toEqual(expect.stringContaining('gpt-4o-mini'));
    expect(a['gen_ai.response.id']).toEqual(expect.stringMatching(/^chatcmpl-/));
    expect(a['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(a['gen_ai.request.stream']).toBe(true);
    expect(a['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(a['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(a['gen_ai.response.time_to_first_chunk']).toBeGreaterThan(0);
    expect(a['gen_ai.response.time_to_first_chunk']).toBeLessThan(10);
    expect(a['server.address']).toBe('127.0.0.1');
    expect(a['server.port']).toBe(stack.sim.port);
    expect(a['cylestio.cost_usd']).toBeGreaterThan(0);
    // The gateway's session on every span; a generated id is never a conversation id.
    expect(a['session.id']).toBe(response.headers.get('x-session-id'));
    expect(a['cylestio.session.rule']).toBe('first');
    expect(a['gen_ai.conversation.id']).toBeUndefined();
    expect(a['gen_ai.input.messages']).toBeUndefined(); // content is opt-in
    expect(a['error.type']).toBeUndefined();
    expect(span.status.code).toBe(0);
    // The provider sees the gateway's span as the parent, in the client's trace.
    const upstream = stack.sim.requests[0].headers;
    expect(upstream.traceparent).toBe(`00-${CLIENT_TRACE}-${span.spanId}-01`);
    expect(upstream.tracestate).toBe('vendor=kept');
  });

  it('exports OTLP/JSON for Anthropic; a session the client named is the conversation id; older names without the opt-in', async () => {
    await exportingStack({ type: 'anthropic', otlp: { protocol: 'http/json' } });
    const response = await post('/v1/messages', anthropicMessage(false), { 'x-session-id': 'ticket-4711' });
    expect(response.status).toBe(200);
    const span = await onlySpan();
    expect(receiver!.contentTypes).toContain('/v1/traces application/json'); // metrics may come first
    expect(span.name).toBe('chat claude-haiku-4-5');
    // No client trace: the gateway's span is a root.
    expect(span.parentSpanId).toBe('');
    const a = span.attributes;
    expect(a['gen_ai.system']).toBe('anthropic'); // semantic conventions v1.36 unless opted in
    expect(a['gen_ai.provider.name']).toBeUndefined();
    expect(a['gen_ai.response.id']).toEqual(expect.stringMatching(/^msg_/));
    expect(a['gen_ai.response.finish_reasons']).toEqual(['end_turn']);
    expect(a['gen_ai.request.stream']).toBeUndefined(); // set only for streams
    expect(a['session.id']).toBe('ticket-4711');
    expect(a['gen_ai.conversation.id']).toBe('ticket-4711');
    expect(a['cylestio.session.rule']).toBe('explicit');
  });

  it('names a sub-agent session’s parent (explicit lineage headers) on its span, and no parent on the run’s', async () => {
    await exportingStack();
    await post('/v1/chat/completions', chat(false, 'Plan the work'), { 'x-claude-code-session-id': 'run-9' });
    const child = await post('/v1/chat/completions', chat(false, 'Read the files'), { 'x-claude-code-session-id': 'run-9', 'x-claude-code-agent-id': 'a1' });
    expect(child.headers.get('x-parent-session-id')).toBe('run-9');
    const spans = await receiver!.waitForSpans(2);
    const bySession = Object.fromEntries(spans.map((span) => [span.attributes['session.id'], span.attributes]));
    expect(bySession['run-9:agent-a1']['cylestio.session.parent_id']).toBe('run-9');
    expect(bySession['run-9:agent-a1']['gen_ai.conversation.id']).toBe('run-9:agent-a1');
    expect(bySession['run-9']['cylestio.session.parent_id']).toBeUndefined();
  });

  it('marks failures with error.type: a provider error, and a request refused before it left the gateway', async () => {
    await exportingStack({ interceptors: [{ type: 'rate_limit', config: { per_client: { requests_per_minute: 1 } } }] });
    expect((await post('/v1/chat/completions', chat(false), { 'x-sim-status': '503' })).status).toBe(503);
    expect((await post('/v1/chat/completions', chat(false))).status).toBe(429);
    const spans = await receiver!.waitForSpans(2);
    // Spans arrive in the order they ended, not necessarily the order sent: tell them apart by status.
    const failed = spans.find((s) => s.attributes['http.response.status_code'] === 503)!;
    const refused = spans.find((s) => s.attributes['http.response.status_code'] === 429)!;
    expect(failed.attributes['error.type']).toBe('503');
    expect(failed.status.code).toBe(2); // ERROR
    expect(refused.attributes['error.type']).toBe('429');
    expect(refused.name).toBe('chat gpt-4o-mini');
    expect(stack!.sim.requests).toHaveLength(1); // the refused one never reached the provider
  });

  it('puts prompts and replies in the conventions’ message attributes only when asked to', async () => {
    await exportingStack({ otlp: { capture_content: true, semconv_stability_opt_in: 'gen_ai_latest_experimental' } });
    await post('/v1/chat/completions', {
      ...chat(false, 'What is the capital of France?'),
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    });
    await post('/v1/chat/completions', chat(true, 'Stream it'));
    const [json, streamed] = await receiver!.waitForSpans(2);
    expect(JSON.parse(String(json.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'What is the capital of France?' }] },
    ]);
    const output = JSON.parse(String(json.attributes['gen_ai.output.messages']));
    expect(output[0].role).toBe('assistant');
    expect(output[0].parts[0].type).toBe('text');
    expect(output[0].parts[0].content.length).toBeGreaterThan(0);
    expect(JSON.parse(String(streamed.attributes['gen_ai.output.messages']))[0].parts[0].type).toBe('text');
  });

  it('gives other routes a cheap span without GenAI attributes', async () => {
    await exportingStack();
    const response = await fetch(`${stack!.url}/v1/models`);
    await response.text();
    const span = await onlySpan();
    expect(span.name).toBe('GET models');
    expect(span.attributes['http.request.method']).toBe('GET');
    expect(span.attributes['http.response.status_code']).toBe(200);
    expect(span.attributes['gen_ai.operation.name']).toBeUndefined();
  });

  it('leaves spans and headers alone when export is off', async () => {
    stack = await startStack({ env: {} });
    await post('/v1/chat/completions', chat(false), { traceparent });
    expect(stack.sim.requests[0].headers.traceparent).toBe(traceparent); // passed through untouched
    const metrics = await (await fetch(`${stack.url}/metrics`)).json();
    expect(metrics.otlp).toBeNull();
  });

  it('flushes queued spans on shutdown', async () => {
    await exportingStack({ otlp: { schedule_delay_ms: 600_000 } });
    await post('/v1/chat/completions', chat(false));
    expect(receiver!.spans).toHaveLength(0);
    await stack!.close();
    stack = undefined;
    expect(receiver!.spans).toHaveLength(1);
  });

  it('shows export settings in /config with the export headers redacted', async () => {
    await exportingStack({ otlp: { headers: { 'x-honeycomb-team': 'ingest-secret-123' } } });
    const config = await (await fetch(`${stack!.url}/config`)).text();
    expect(config).not.toContain('ingest-secret-123');
    expect(JSON.parse(config).telemetry.otlp.headers['x-honeycomb-team']).toBe('[REDACTED]');
  });
});

describe('OpenTelemetry metrics', () => {
  it('exports token usage, operation duration and time to first chunk in the conventions’ names, without session ids', async () => {
    await exportingStack({ otlp: { semconv_stability_opt_in: 'gen_ai_latest_experimental' } });
    await post('/v1/chat/completions', chat(false));
    await post('/v1/chat/completions', chat(true));
    const points = await receiver!.waitForPoints(
      (all) => all.some((p) => p.metric === 'gen_ai.client.operation.time_to_first_chunk') && all.some((p) => p.metric === 'gen_ai.client.token.usage'),
    );
    const latest = (metric: string) => points.filter((p) => p.metric === metric);
    const tokens = latest('gen_ai.client.token.usage');
    expect(tokens[0].unit).toBe('{token}');
    expect(new Set(tokens.map((p) => p.attributes['gen_ai.token.type']))).toEqual(new Set(['input', 'output']));
    expect(tokens[0].attributes['gen_ai.provider.name']).toBe('openai');
    expect(tokens[0].attributes['gen_ai.operation.name']).toBe('chat');
    const duration = latest('gen_ai.client.operation.duration');
    expect(duration[0].unit).toBe('s');
    expect(duration.reduce((n, p) => Math.max(n, p.count), 0)).toBe(2);
    expect(latest('gen_ai.client.operation.time_to_first_chunk')[0].count).toBe(1);
    // The histograms hold what the spans say: input tokens summed over both calls.
    const spans = await receiver!.waitForSpans(2);
    const inputSum = spans.reduce((sum, span) => sum + Number(span.attributes['gen_ai.usage.input_tokens']), 0);
    const inputPoints = tokens.filter((p) => p.attributes['gen_ai.token.type'] === 'input');
    expect(inputPoints.at(-1)!.sum).toBe(inputSum);
    for (const point of points) expect(Object.keys(point.attributes).some((key) => key.startsWith('session') || key.includes('conversation'))).toBe(false);
  });
});

describe('a collector that is down or slow', () => {
  it('never holds a request: with a hanging collector every request is answered and queue drops are counted', async () => {
    receiver = await startOtlpReceiver({ answer: 'hang' });
    await exportingStack({ otlp: { max_queue_size: 4, max_export_batch_size: 2, schedule_delay_ms: 10, export_timeout_seconds: 1 } });
    const answers = await Promise.all(Array.from({ length: 40 }, () => post('/v1/chat/completions', chat(false))));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const metrics = await (await fetch(`${stack!.url}/metrics`)).json();
    expect(metrics.otlp.spans_started).toBe(40);
    expect(metrics.otlp.spans_dropped).toBeGreaterThan(0);
    const prometheus = await (await fetch(`${stack!.url}/metrics/prometheus`)).text();
    expect(prometheus).toMatch(/^cylestio_otlp_spans_dropped_total [1-9]/m);
  });

  it('answers every request when the collector refuses exports, and counts the failures', async () => {
    receiver = await startOtlpReceiver({ answer: 400 });
    await exportingStack({ otlp: { schedule_delay_ms: 10 } });
    const answers = await Promise.all(Array.from({ length: 5 }, () => post('/v1/chat/completions', chat(false))));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    await stack!.close(); // flushes: the failed export is counted by then
    expect(stack!.gateway.telemetry!.toJSON().spans_failed).toBe(5);
    stack = undefined;
  });
});
