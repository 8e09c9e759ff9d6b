import { z } from 'zod';
import type { ExchangeRecord } from '../capture/record.js';
import type { InterceptorFactory, RequestContext } from './types.js';

export const printerConfigSchema = z.strictObject({
  log_requests: z.boolean().default(true),
  log_responses: z.boolean().default(true),
  /** Adds a preview of request and response bodies (never headers, so never a credential). */
  log_body: z.boolean().default(false),
  max_body_length: z.coerce.number().int().positive().default(1000),
});

function preview(body: Buffer | null, max: number): string | undefined {
  if (!body || body.length === 0) return undefined;
  const text = body.subarray(0, max + 1).toString('utf8');
  return text.length > max ? `${text.slice(0, max)}… (${body.length} bytes)` : text;
}

/** `printer`: a readable log line per request and per response, through the gateway's logger. */
export const createPrinter: InterceptorFactory = ({ config, logger }) => {
  const options = printerConfigSchema.parse(config);
  const responseLine = (level: 'info' | 'warn', ctx: RequestContext, record: ExchangeRecord) => {
    logger[level](
      {
        request_id: record.requestId,
        status: record.status,
        duration_ms: record.durationMs,
        ttfb_ms: record.ttfbMs,
        session_id: record.sessionId,
        parent_session_id: record.parentSessionId ?? undefined,
        tokens: record.usage ?? undefined,
        failure: record.failure ?? undefined,
        body: options.log_body ? preview(record.response.body, options.max_body_length) : undefined,
      },
      `← ${record.status} ${ctx.method} ${ctx.path}`,
    );
  };
  return {
    type: 'printer',
    needsBodies: options.log_body,
    maxBodyBytes: options.max_body_length,
    onRequest: options.log_requests
      ? (ctx) => {
          logger.info(
            {
              request_id: ctx.requestId,
              model: ctx.model ?? undefined,
              stream: ctx.stream,
              session_id: ctx.sessionId ?? undefined,
              body: options.log_body ? preview(ctx.rawBody, options.max_body_length) : undefined,
            },
            `→ ${ctx.method} ${ctx.path}`,
          );
        }
      : undefined,
    onResponse: options.log_responses ? (ctx, record) => responseLine('info', ctx, record) : undefined,
    onError: options.log_responses ? (ctx, record) => responseLine('warn', ctx, record) : undefined,
  };
};
