import { join } from 'node:path';
import { z } from 'zod';
import { headerRedactor } from '../../telemetry/redact-headers.js';
import type { Interceptor, InterceptorFactory } from '../types.js';
import { buildTrace, renderTrace } from './trace-record.js';
import { TraceWriter } from './trace-writer.js';

export const traceConfigSchema = z.strictObject({
  directory: z.string().min(1).default('./traces'),
  file_prefix: z.string().min(1).default('trace'),
  include_headers: z.boolean().default(true),
  include_body: z.boolean().default(true),
  /** Bytes of each body kept in a trace; longer bodies are cut and the record says so. */
  max_body_size: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  include_raw_stream: z.boolean().default(false),
  /** Share of exchanges traced, 0–1. */
  sample_rate: z.coerce.number().min(0).max(1).default(1),
  /** Header names redacted besides the built-in secret ones. */
  redact_headers: z.array(z.string()).default([]),
  max_queue: z.coerce.number().int().positive().default(1000),
  max_queue_bytes: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
});

/** Trace file names sort by time and are unique per request: `<prefix>-<ISO time>-<request id>.json`. */
export function traceFileName(prefix: string, timestamp: string, requestId: string): string {
  return `${prefix}-${timestamp}-${requestId}.json`;
}

/**
 * `trace`: one JSON file per exchange, written through a bounded queue off the request path. When the
 * queue is full the trace is dropped and counted (`traces_dropped`): clients are never slowed down.
 */
export const createTrace: InterceptorFactory = ({ config, redactHeaders }) => {
  const options = traceConfigSchema.parse(config);
  const writer = new TraceWriter({ directory: options.directory, maxQueue: options.max_queue, maxQueueBytes: options.max_queue_bytes });
  const shape = {
    includeHeaders: options.include_headers,
    includeBody: options.include_body,
    maxBodySize: options.max_body_size,
    includeRawStream: options.include_raw_stream,
    redact: headerRedactor([...redactHeaders, ...options.redact_headers]),
  };
  let sampledOut = 0;
  const trace: Interceptor['onResponse'] = (_ctx, record) => {
    if (options.sample_rate < 1 && Math.random() >= options.sample_rate) {
      sampledOut++;
      return;
    }
    // What the queued trace holds: the bodies, and a streamed reply's reassembled form (up to the limit).
    const assembled = record.stream && record.response.reply ? Math.min(options.max_body_size, record.response.reply.bodyBytes ?? 0) : 0;
    const bytes = (record.request.body?.length ?? 0) + (record.response.body?.length ?? 0) + assembled;
    const name = traceFileName(options.file_prefix, record.timestamp, record.requestId);
    if (writer.enqueue(name, bytes, () => renderTrace(buildTrace(record, shape)))) return { traceFile: join(options.directory, name) };
    return undefined;
  };
  return {
    type: 'trace',
    needsBodies: options.include_body,
    maxBodyBytes: options.max_body_size,
    onResponse: trace,
    onError: trace,
    figures: () => ({
      traces_written: writer.written,
      traces_dropped: writer.dropped,
      traces_failed: writer.failed,
      traces_queued: writer.queued,
      traces_sampled_out: sampledOut,
    }),
    close: () => writer.flush(),
  };
};
