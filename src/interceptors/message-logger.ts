import pino from 'pino';
import { z } from 'zod';
import { cappedJson } from '../capture/capped-json.js';
import type { ExchangeRecord } from '../capture/record.js';
import type { InterceptorFactory, RequestContext } from './types.js';

export const messageLoggerConfigSchema = z.strictObject({
  log_file: z.string().min(1).default('message_logs/messages.jsonl'),
  include_metadata: z.boolean().default(true),
  /** Bytes of each of a line's large fields (the new messages, the reply); longer ones are cut, saying so. */
  max_body_size: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
});

/** The messages a request added: everything after the last assistant turn (the new user turn, tool results). */
function newMessages(body: unknown): unknown[] {
  const request = body as { messages?: unknown; input?: unknown } | undefined;
  const list = Array.isArray(request?.messages)
    ? request.messages
    : Array.isArray(request?.input)
      ? request.input
      : typeof request?.input === 'string'
        ? [{ role: 'user', content: request.input }]
        : [];
  let last = list.length - 1;
  while (last >= 0 && (list[last] as { role?: unknown })?.role !== 'assistant') last--;
  return list.slice(last + 1);
}

/**
 * The reply as the line shows it: a streamed reply reassembled (holding only the start of long fields, and
 * saying so), or the JSON body; a body cut at capture is shown as the text kept. `bytes`: the body's size.
 */
function replyOf(record: ExchangeRecord): { value: unknown; truncated: boolean; bytes?: number } {
  const reply = record.response.reply;
  const bytes = reply?.bodyBytes;
  if (reply?.assembled !== undefined) return { value: reply.assembled, truncated: reply.truncated === true, bytes };
  const body = record.response.body;
  if (!body) return { value: null, truncated: false };
  const text = body.toString('utf8');
  if (record.response.truncated) return { value: text, truncated: true, bytes };
  try {
    return { value: JSON.parse(text), truncated: false, bytes: body.length };
  } catch {
    return { value: null, truncated: false };
  }
}

/**
 * A line within max_body_size for each of its two large fields (the new messages and the reply): a field
 * over it is written as the start of its JSON text, and the line says so (`messages_truncated`,
 * `reply_truncated`, with the full size in bytes when known).
 */
function renderLine(fields: Record<string, unknown>, messages: unknown, reply: ReturnType<typeof replyOf>, limit: number): string {
  const messagesJson = cappedJson(messages, limit);
  const replyJson = cappedJson(reply.value, limit);
  const notes: Record<string, unknown> = {};
  if (messagesJson.cut) Object.assign(notes, { messages_truncated: true, messages_bytes: messagesJson.bytes });
  if (replyJson.cut || reply.truncated) Object.assign(notes, { reply_truncated: true, reply_bytes: reply.bytes ?? replyJson.bytes });
  const head = JSON.stringify({ ...fields, ...notes });
  return `${head.slice(0, -1)},"messages":${messagesJson.json},"reply":${replyJson.json}}`;
}

/**
 * `message_logger`: one JSON line per exchange with its new messages, the reply, the session id and its
 * parent's. Lines go through pino's asynchronous file destination (SonicBoom): appended in order, flushed
 * on shutdown.
 */
export const createMessageLogger: InterceptorFactory = ({ config }) => {
  const options = messageLoggerConfigSchema.parse(config);
  const destination = pino.destination({ dest: options.log_file, sync: false, mkdir: true });
  let written = 0;
  const log = (ctx: RequestContext, record: ExchangeRecord) => {
    if (!ctx.operation) return; // only conversations have messages
    const fields: Record<string, unknown> = {
      timestamp: record.timestamp,
      session_id: record.sessionId,
      // A sub-agent's line names the session it worked for (null for a root), as trace files do.
      parent_session_id: record.parentSessionId ?? null,
      request_id: record.requestId,
    };
    if (options.include_metadata) {
      Object.assign(fields, {
        provider: record.provider,
        model: record.model,
        status: record.status,
        duration_ms: record.durationMs,
        usage: record.usage,
        cost_usd: record.costUsd ?? null,
        stream: record.stream,
      });
    }
    destination.write(`${renderLine(fields, newMessages(ctx.body()), replyOf(record), options.max_body_size)}\n`);
    written++;
  };
  return {
    type: 'message_logger',
    needsBodies: true,
    maxBodyBytes: options.max_body_size,
    onResponse: log,
    figures: () => ({ logs_written: written }),
    close: () =>
      new Promise<void>((resolve) => {
        destination.flush((err) => {
          void err;
          destination.end();
          resolve();
        });
      }),
  };
};
