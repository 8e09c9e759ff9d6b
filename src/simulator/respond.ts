// Per-request context plus the low-level writers (JSON, SSE, errors) every simulated route uses.
// Keeping header and framing logic here means the provider modules only build payloads.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { providerError, type Provider } from './errors.js';
import { randomId } from './replies.js';

/** Test controls read from `x-sim-*` request headers. */
export interface Controls {
  delayMs: number;
  chunkDelayMs: number;
  status?: number;
  reply?: string;
  noUsage: boolean;
  /** `x-sim-reply-bytes`: a reply (text, or a tool call's arguments) of this many characters; 0 for none. */
  replyBytes: number;
  /** `x-sim-delta-bytes`: characters per streamed delta of such a reply (default 1,000). */
  deltaBytes: number;
  /**
   * `x-sim-tool-calls`: URI-encoded JSON `[{name, arguments}]`: the reply is exactly these tool calls (parallel
   * when several), whatever tools the request offers (agent tests script their sub-agent delegations so).
   */
  toolCalls?: ScriptedToolCall[];
}

export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

function scriptedToolCalls(raw: string | undefined): ScriptedToolCall[] | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(raw));
    if (!Array.isArray(parsed)) return undefined;
    return parsed
      .filter((call): call is ScriptedToolCall => typeof call?.name === 'string' && call.arguments !== null && typeof call.arguments === 'object')
      .slice(0, 16);
  } catch {
    return undefined;
  }
}

export interface SimContext {
  req: IncomingMessage;
  res: ServerResponse;
  provider: Provider;
  /** Parsed JSON body (routes that need it only run after it parsed to an object). */
  body: Record<string, any>;
  rawBody: Buffer;
  controls: Controls;
  startedAt: number;
  /** Sequence number of this request, used to make the rate-limit "remaining" header move. */
  seq: number;
  /** Set by the server when the response's connection closes; writers stop once it is true. */
  closed: boolean;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function nonNegativeInt(value: string | undefined): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

export function readControls(req: IncomingMessage): Controls {
  const status = nonNegativeInt(header(req, 'x-sim-status'));
  const rawReply = header(req, 'x-sim-reply');
  let reply: string | undefined;
  if (rawReply !== undefined) {
    // Header values cannot carry arbitrary text, so tests URI-encode it; fall back to the raw value
    // rather than failing the request when it is not valid percent-encoding.
    try {
      reply = decodeURIComponent(rawReply);
    } catch {
      reply = rawReply;
    }
  }
  const noUsage = header(req, 'x-sim-no-usage');
  return {
    delayMs: nonNegativeInt(header(req, 'x-sim-delay-ms')),
    chunkDelayMs: nonNegativeInt(header(req, 'x-sim-chunk-delay-ms')),
    // Only error statuses are simulated; anything below 400 would not be an error and is ignored.
    status: status >= 400 && status <= 599 ? status : undefined,
    reply,
    noUsage: noUsage !== undefined && noUsage !== '0' && noUsage !== 'false',
    replyBytes: nonNegativeInt(header(req, 'x-sim-reply-bytes')),
    deltaBytes: nonNegativeInt(header(req, 'x-sim-delta-bytes')) || 1000,
    toolCalls: scriptedToolCalls(header(req, 'x-sim-tool-calls')),
  };
}

const OPENAI_RATE_LIMIT = 10_000;
const ANTHROPIC_RATE_LIMIT = 4_000;

/** The identification and rate-limit headers each real provider attaches to every response. */
export function providerHeaders(ctx: SimContext): Record<string, string> {
  if (ctx.provider === 'anthropic') {
    return {
      'request-id': `req_${randomId(24)}`,
      'anthropic-ratelimit-requests-limit': String(ANTHROPIC_RATE_LIMIT),
      'anthropic-ratelimit-requests-remaining': String(ANTHROPIC_RATE_LIMIT - 1 - (ctx.seq % ANTHROPIC_RATE_LIMIT)),
    };
  }
  return {
    'x-request-id': `req_${randomId(32)}`,
    'x-ratelimit-limit-requests': String(OPENAI_RATE_LIMIT),
    'x-ratelimit-remaining-requests': String(OPENAI_RATE_LIMIT - 1 - (ctx.seq % OPENAI_RATE_LIMIT)),
    'openai-processing-ms': String(Date.now() - ctx.startedAt),
  };
}

export function sendJson(ctx: SimContext, status: number, payload: unknown, extra?: Record<string, string>): void {
  if (ctx.closed) return;
  const buf = Buffer.from(JSON.stringify(payload));
  ctx.res.writeHead(status, {
    ...providerHeaders(ctx),
    ...extra,
    'content-type': 'application/json',
    'content-length': String(buf.length),
  });
  ctx.res.end(buf);
}

export function sendError(ctx: SimContext, status: number, message?: string): void {
  // Real providers ask clients to back off on 429; the gateway's retry logic reads this header.
  const extra = status === 429 ? { 'retry-after': '1' } : undefined;
  sendJson(ctx, status, providerError(ctx.provider, status, message), extra);
}

/** Resolves true after `ms`, or false as soon as the client goes away (the timer is cancelled then). */
export function waitUnlessClosed(ctx: SimContext, ms: number): Promise<boolean> {
  if (ctx.closed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      ctx.res.off('close', onClose);
      resolve(true);
    }, ms);
    ctx.res.once('close', onClose);
  });
}

/** `data:`-only SSE frame, as OpenAI Chat Completions and Completions stream. */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** Named SSE frame, as Anthropic Messages and the OpenAI Responses API stream. */
export function sseEvent(name: string, payload: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * Writes pre-rendered SSE frames one `res.write` each, so a proxy's streaming is observable, pausing
 * `x-sim-chunk-delay-ms` between frames. Stops quietly (without `end`) if the client disconnects,
 * which is what lets the server count the abort.
 */
export async function sendSse(ctx: SimContext, frames: string[]): Promise<void> {
  if (ctx.closed) return;
  ctx.res.writeHead(200, {
    ...providerHeaders(ctx),
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
  });
  const delay = ctx.controls.chunkDelayMs;
  for (let i = 0; i < frames.length; i++) {
    if (i > 0 && delay > 0 && !(await waitUnlessClosed(ctx, delay))) return;
    if (ctx.closed) return;
    ctx.res.write(frames[i]);
  }
  if (!ctx.closed) ctx.res.end();
}

/**
 * Writes SSE frames produced lazily (a reply of any size), waiting for `drain` whenever the socket's buffer
 * is full: a slow reader slows the producer instead of the frames piling up in memory. Stops quietly if
 * the client disconnects, like `sendSse`.
 */
export async function sendSseFrames(ctx: SimContext, frames: Iterable<string>): Promise<void> {
  if (ctx.closed) return;
  ctx.res.writeHead(200, { ...providerHeaders(ctx), 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const frame of frames) {
    if (ctx.closed) return;
    if (!ctx.res.write(frame) && !(await drained(ctx))) return;
  }
  if (!ctx.closed) ctx.res.end();
}

/** Resolves true at the response's next `drain`, false if it closes first. */
function drained(ctx: SimContext): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      ctx.res.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      ctx.res.off('drain', onDrain);
      resolve(false);
    };
    ctx.res.once('drain', onDrain);
    ctx.res.once('close', onClose);
  });
}

/** Unix seconds, the `created` unit both OpenAI objects use. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
