// Synthetic trace files and segments for the `sessions` CLI tests, rendered by the trace interceptor's own
// code (buildTrace/renderTrace/renderTraceLine), so their layout is exactly what the gateway writes; only
// the figures are chosen, to assert on exact numbers.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExchangeRecord } from '../../src/capture/record.js';
import { traceFileName } from '../../src/interceptors/trace/index.js';
import { buildTrace, renderTrace, renderTraceLine, type TraceShape } from '../../src/interceptors/trace/trace-record.js';
import { headerRedactor } from '../../src/telemetry/redact-headers.js';

export type Wire = 'openai' | 'anthropic' | 'responses';

export interface TraceSpec {
  session: string | null;
  /** The tenant-scoped key of a client-named session (`name~tag`). */
  sessionKey?: string;
  /** The session this one is a sub-agent of, and its tenant-scoped key. */
  parent?: string;
  parentKey?: string;
  /** ISO time or epoch ms. */
  at: string | number;
  durationMs?: number;
  status?: number;
  failure?: string | null;
  input?: number;
  output?: number;
  model?: string;
  wire?: Wire;
  user?: string;
  reply?: string;
  stream?: boolean;
  /** Extra keys merged into the request body (decoys for the fast path). */
  requestExtra?: Record<string, unknown>;
  /** Replaces the response body entirely. */
  responseBody?: unknown;
  requestId?: string;
}

let counter = 0;

export const traceShape = (overrides: Partial<TraceShape> = {}): TraceShape => ({
  includeHeaders: true,
  includeBody: true,
  maxBodySize: 1024 * 1024,
  includeRawStream: false,
  redact: headerRedactor(),
  ...overrides,
});

function bodies(spec: TraceSpec): { request: unknown; response: unknown } {
  const wire = spec.wire ?? 'openai';
  const model = spec.model ?? (wire === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o');
  const user = spec.user ?? 'hello';
  const reply = spec.reply ?? `Reply to: ${user}`;
  const usage = { input_tokens: spec.input ?? 0, output_tokens: spec.output ?? 0 };
  if (wire === 'anthropic') {
    return {
      request: {
        model,
        max_tokens: 100,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'earlier' }] },
          { role: 'assistant', content: 'before' },
          { role: 'user', content: [{ type: 'text', text: user }] },
        ],
        ...spec.requestExtra,
      },
      response: { id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: reply }], stop_reason: 'end_turn', usage },
    };
  }
  if (wire === 'responses') {
    return {
      request: { model, input: [{ role: 'user', content: user }], ...spec.requestExtra },
      response: {
        id: 'resp_1',
        object: 'response',
        status: 'completed',
        model,
        output: [
          { type: 'reasoning', summary: [] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: reply }] },
        ],
        usage,
      },
    };
  }
  return {
    request: {
      model,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'earlier' },
        { role: 'assistant', content: 'before' },
        { role: 'user', content: user },
      ],
      ...spec.requestExtra,
    },
    response: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
      usage: { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens },
    },
  };
}

/** The exchange record the relay would hand to the trace interceptor for this spec. */
export function exchangeRecord(spec: TraceSpec): ExchangeRecord {
  const wire = spec.wire ?? 'openai';
  const at = typeof spec.at === 'number' ? spec.at : Date.parse(spec.at);
  const status = spec.status ?? 200;
  const failure = spec.failure ?? null;
  const { request, response } = bodies(spec);
  const requestBody = Buffer.from(JSON.stringify(request));
  const responseBody =
    spec.responseBody !== undefined ? spec.responseBody : status >= 400 ? { error: { message: `Simulated error ${status}.`, type: 'server_error' } } : response;
  const hasUsage = spec.input !== undefined || spec.output !== undefined;
  const usage = hasUsage ? { input_tokens: spec.input ?? 0, output_tokens: spec.output ?? 0, total_tokens: (spec.input ?? 0) + (spec.output ?? 0) } : null;
  const path = wire === 'anthropic' ? '/v1/messages' : wire === 'responses' ? '/v1/responses' : '/v1/chat/completions';
  return {
    requestId: spec.requestId ?? `req_${String(++counter).padStart(8, '0')}`,
    timestamp: new Date(at).toISOString(),
    method: 'POST',
    path,
    operation: path.slice(4),
    provider: wire === 'anthropic' ? 'anthropic' : 'openai',
    model: spec.model ?? (wire === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o'),
    stream: spec.stream ?? false,
    status,
    durationMs: spec.durationMs ?? 100,
    ttfbMs: failure ? null : 10,
    sessionId: spec.session,
    sessionKey: spec.sessionKey ?? spec.session,
    parentSessionId: spec.parent ?? null,
    parentSessionKey: spec.parentKey ?? spec.parent ?? null,
    isNewSession: spec.session === null ? null : false,
    sessionRule: spec.session === null ? null : 'continued',
    usage,
    sessionUsage: spec.session === null ? null : { requests: 1, input_tokens: 0, output_tokens: 0 },
    failure,
    request: { headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret' }, body: requestBody, json: true },
    response: {
      headers: { 'content-type': 'application/json' },
      body: failure && responseBody === null ? null : Buffer.from(JSON.stringify(responseBody)),
      truncated: false,
      reply: status < 400 && !failure ? { replies: [], usage, ...(spec.stream ? { assembled: responseBody } : {}) } : null,
    },
  };
}

/** File name and text of the trace file the gateway would write for this spec. */
export function traceFile(spec: TraceSpec, shape: TraceShape = traceShape()): { name: string; text: string } {
  const record = exchangeRecord(spec);
  return { name: traceFileName('trace', record.timestamp, record.requestId), text: renderTrace(buildTrace(record, shape)).toString() };
}

export async function writeTraces(directory: string, specs: TraceSpec[], shape?: TraceShape): Promise<string[]> {
  const names: string[] = [];
  for (const spec of specs) {
    const { name, text } = traceFile(spec, shape);
    await writeFile(join(directory, name), text);
    names.push(name);
  }
  return names;
}

/** The JSON lines of a segment the gateway would write for these specs, each ending with its newline. */
export function segmentText(specs: TraceSpec[], shape: TraceShape = traceShape()): string {
  return specs.map((spec) => renderTraceLine(buildTrace(exchangeRecord(spec), shape)).toString()).join('');
}

/** Writes a segment of these specs under `name` (`extra` appended after the lines: a torn line, say). */
export async function writeSegment(directory: string, name: string, specs: TraceSpec[], extra = '', shape?: TraceShape): Promise<void> {
  await writeFile(join(directory, name), segmentText(specs, shape) + extra);
}
