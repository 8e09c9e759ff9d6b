import pino from 'pino';
import { z } from 'zod';
import type { ExchangeRecord } from '../capture/record.js';
import type { InterceptorFactory, RequestContext } from './types.js';

export const messageLoggerConfigSchema = z.strictObject({
  log_file: z.string().min(1).default('message_logs/messages.jsonl'),
  include_metadata: z.boolean().default(true),
  max_body_size: z.coerce.number().int().positive().default(1024 * 1024),
});

/** The messages a request added: everything after the last assistant turn (the new user turn, tool results). */
function newMessages(body: unknown): unknown[] {
  const request = body as { messages?: unknown; input?: unknown } | undefined;
  const list = Array.isArray(request?.messages) ? request.messages : Array.isArray(request?.input) ? request.input : typeof request?.input === 'string' ? [{ role: 'user', content: request.input }] : [];
  let last = list.length - 1;
  while (last >= 0 && (list[last] as { role?: unknown })?.role !== 'assistant') last--;
  return list.slice(last + 1);
}

function replyOf(record: ExchangeRecord): unknown {
  if (record.response.reply?.assembled !== undefined) return record.response.reply.assembled;
  if (!record.response.body || record.response.truncated) return null;
  try {
    return JSON.parse(record.response.body.toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * `message_logger`: one JSON line per exchange with its new messages, the reply and the session id. Lines
 * go through pino's asynchronous file destination (SonicBoom): appended in order, flushed on shutdown.
 */
export const createMessageLogger: InterceptorFactory = ({ config }) => {
  const options = messageLoggerConfigSchema.parse(config);
  const destination = pino.destination({ dest: options.log_file, sync: false, mkdir: true });
  let written = 0;
  const log = (ctx: RequestContext, record: ExchangeRecord) => {
    if (!ctx.operation) return; // only conversations have messages
    const line: Record<string, unknown> = {
      timestamp: record.timestamp,
      session_id: record.sessionId,
      request_id: record.requestId,
      messages: newMessages(ctx.body()),
      reply: replyOf(record),
    };
    if (options.include_metadata) {
      Object.assign(line, { provider: record.provider, model: record.model, status: record.status, duration_ms: record.durationMs, usage: record.usage, stream: record.stream });
    }
    destination.write(`${JSON.stringify(line)}\n`);
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
