import type { Logger } from 'pino';
import type { ExchangeRecord } from '../capture/record.js';
import type { InterceptorChain } from '../interceptors/chain.js';
import type { InterceptorOutput } from '../interceptors/types.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RequestRow } from '../sessions/store/postgres-records.js';
import { requestRow } from '../sessions/store/request-row.js';
import type { SessionTimelines } from '../sessions/timeline.js';
import type { SessionEngine } from '../sessions/types.js';
import type { OtlpTelemetry } from '../telemetry/otlp/telemetry.js';
import type { Exchange } from './exchange.js';
import { exchangeRecord } from './record.js';
import type { PipelineFigures } from './runner.js';

/**
 * A consumer of finished exchanges. Sinks only read: the record, the exchange, and what the interceptors
 * handed on. They run after the client has its last byte and must not block (queue slow work).
 */
export interface Sink {
  readonly name: string;
  write(record: ExchangeRecord, ex: Exchange, handed: InterceptorOutput): void;
}

/** One log line per request, with its session and outcome. */
export function requestLogSink(log: Logger): Sink {
  return {
    name: 'request_log',
    write(record, ex) {
      log.info(
        {
          request_id: record.requestId,
          method: record.method,
          path: record.path,
          status: record.status,
          duration_ms: record.durationMs,
          ttfb_ms: record.ttfbMs ?? undefined,
          session_id: record.sessionId ?? undefined,
          parent_session_id: record.parentSessionId ?? undefined,
          session_rule: record.sessionRule ?? undefined,
          note: ex.note,
        },
        'request',
      );
    },
  };
}

export function metricsSink(metrics: GatewayMetrics): Sink {
  return { name: 'metrics', write: (record) => metrics.observe(record) };
}

/** The durable record of a session's requests (Postgres), through its bounded queue. */
export function requestRowsSink(requestLog: { enqueue(row: RequestRow): void }): Sink {
  return {
    name: 'request_rows',
    write(record, _ex, handed) {
      const row = requestRow(record, handed.traceFile ?? null);
      if (row) requestLog.enqueue(row);
    },
  };
}

/** Recent requests per session in memory, for the sessions API when no durable record is kept. */
export function timelineSink(timelines: SessionTimelines): Sink {
  return { name: 'timeline', write: (record, _ex, handed) => timelines.add(record, handed.traceFile ?? null) };
}

/** The exchange's OpenTelemetry span, ended (or started and ended, for requests never forwarded), and its metrics. */
export function otlpSink(telemetry: OtlpTelemetry): Sink {
  return { name: 'otlp', write: (record, ex) => telemetry.finish(record, ex) };
}

/** What the sinks get when no interceptor handed anything on (shared: sinks only read it). */
const NOTHING_HANDED: InterceptorOutput = Object.freeze({});

/**
 * Finish: builds the record once and hands it to the interceptors' response hooks, then to every sink in
 * order. Each consumer is isolated: one that throws is logged and counted, and the others still run.
 */
export function finisher(
  interceptors: InterceptorChain,
  sinks: Sink[],
  sessions: SessionEngine | null,
  figures: PipelineFigures,
  log: Logger,
): (ex: Exchange) => void {
  const hooks = !interceptors.empty;
  return (ex) => {
    const record = exchangeRecord(ex, sessions);
    let handed: InterceptorOutput = NOTHING_HANDED;
    if (hooks) handed = interceptors.finished(ex, record);
    for (const sink of sinks) {
      try {
        sink.write(record, ex, handed);
      } catch (err) {
        figures.sinkFailures++;
        log.error({ err, request_id: ex.requestId, sink: sink.name }, 'a sink failed');
      }
    }
  };
}
