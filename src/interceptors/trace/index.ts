import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ExchangeRecord } from '../../capture/record.js';
import { headerRedactor } from '../../telemetry/redact-headers.js';
import type { Interceptor, InterceptorFactory } from '../types.js';
import { SegmentWriter } from './segment-writer.js';
import { buildTrace, renderTrace, renderTraceLine } from './trace-record.js';
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
  /**
   * `segments`: traces appended as JSON lines to a few segment files, one append per batch (the default:
   * it keeps up with thousands of requests a second). `files`: one JSON file per exchange.
   */
  layout: z.enum(['segments', 'files']).default('segments'),
  /** A segment takes no trace that would make it larger than this; the next one starts. */
  segment_max_bytes: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** A segment takes no trace once it is this old, so closed segments can be removed by age. */
  segment_max_age_seconds: z.coerce.number().positive().default(3600),
});

export type TraceConfig = z.infer<typeof traceConfigSchema>;

/** Trace file names sort by time and are unique per request: `<prefix>-<ISO time>-<request id>.json`. */
export function traceFileName(prefix: string, timestamp: string, requestId: string): string {
  return `${prefix}-${timestamp}-${requestId}.json`;
}

/** Where traces go: queues one and returns its reference, or undefined when it was dropped. */
interface TraceOutput {
  enqueue(record: ExchangeRecord, bytes: number, render: (line: boolean) => Buffer): string | undefined;
  figures(): Record<string, number>;
  close(): Promise<void>;
}

/** The `files` layout: one file per exchange, written under a temporary name and renamed. */
function filesOutput(options: TraceConfig): TraceOutput {
  const writer = new TraceWriter({ directory: options.directory, maxQueue: options.max_queue, maxQueueBytes: options.max_queue_bytes });
  return {
    enqueue(record, bytes, render) {
      const name = traceFileName(options.file_prefix, record.timestamp, record.requestId);
      return writer.enqueue(name, bytes, () => render(false)) ? join(options.directory, name) : undefined;
    },
    figures: () => ({ traces_written: writer.written, traces_dropped: writer.dropped, traces_failed: writer.failed, traces_queued: writer.queued }),
    close: () => writer.flush(),
  };
}

/** The `segments` layout: JSON lines appended in batches to segment files (segment-writer.ts). */
function segmentsOutput(options: TraceConfig, now: () => number, logger: Logger): TraceOutput {
  const writer = new SegmentWriter({
    directory: options.directory,
    prefix: options.file_prefix,
    maxQueue: options.max_queue,
    maxQueueBytes: options.max_queue_bytes,
    maxSegmentBytes: options.segment_max_bytes,
    maxSegmentAgeMs: options.segment_max_age_seconds * 1000,
    now,
    onFailure: (err, path) => logger.warn({ err, segment: path }, 'trace segment write failed; traces are counted in traces_failed until writes succeed again'),
  });
  return {
    enqueue: (_record, bytes, render) => writer.enqueue(bytes, () => render(true)),
    figures: () => ({
      traces_written: writer.written,
      traces_dropped: writer.dropped,
      traces_failed: writer.failed,
      traces_queued: writer.queued,
      trace_segments: writer.segments,
    }),
    close: () => writer.close(),
  };
}

/**
 * `trace`: every exchange's trace, written through a bounded queue off the request path. When the queue is
 * full the trace is dropped and counted (`traces_dropped`): clients are never slowed down. The reference
 * handed on (`traceFile`) is the trace's file, or `<segment>#<byte offset>` (trace-reference.ts).
 */
export const createTrace: InterceptorFactory = ({ config, redactHeaders, now, logger }) => {
  const options = traceConfigSchema.parse(config);
  const output = options.layout === 'files' ? filesOutput(options) : segmentsOutput(options, now, logger);
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
    const traceFile = output.enqueue(record, bytes, (line) => (line ? renderTraceLine : renderTrace)(buildTrace(record, shape)));
    return traceFile === undefined ? undefined : { traceFile };
  };
  return {
    type: 'trace',
    needsBodies: options.include_body,
    maxBodyBytes: options.max_body_size,
    onResponse: trace,
    onError: trace,
    figures: () => ({ ...output.figures(), traces_sampled_out: sampledOut }),
    close: () => output.close(),
  };
};
