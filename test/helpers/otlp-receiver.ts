import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

/**
 * A real OTLP/HTTP receiver for tests: accepts `/v1/traces` and `/v1/metrics` in protobuf or JSON, decodes
 * them into one plain shape, and lets a test await what it expects. The protobuf schema is the subset of the
 * OTLP proto files the assertions read (field numbers as in opentelemetry-proto; unknown fields are skipped).
 */
const schema = `
syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Scope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; Status status = 15;
}
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message HistogramDataPoint { fixed64 count = 4; double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; repeated KeyValue attributes = 9; }
message Histogram { repeated HistogramDataPoint data_points = 1; }
message Metric { string name = 1; string description = 2; string unit = 3; Histogram histogram = 9; }
message ScopeMetrics { Scope scope = 1; repeated Metric metrics = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`;
const root = protobuf.parse(schema, { keepCase: false }).root;
const TraceRequest = root.lookupType('ExportTraceServiceRequest');
const MetricsRequest = root.lookupType('ExportMetricsServiceRequest');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 3 is CLIENT. */
  kind: number;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  resource: Record<string, unknown>;
  startNanos: bigint;
  endNanos: bigint;
}

export interface ReceivedHistogramPoint {
  metric: string;
  unit: string;
  count: number;
  sum: number;
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  points: ReceivedHistogramPoint[];
  /** Content types of the export requests received, by path. */
  contentTypes: string[];
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  waitForPoints(predicate: (points: ReceivedHistogramPoint[]) => boolean, timeoutMs?: number): Promise<ReceivedHistogramPoint[]>;
  close(): Promise<void>;
}

type Json = Record<string, any>;

const hex = (value: unknown): string => {
  if (typeof value === 'string') return value; // OTLP/JSON sends ids as hex already
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return '';
};

function anyValue(value: Json | undefined): unknown {
  if (!value) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return Number(value.doubleValue);
  if ('arrayValue' in value) return (value.arrayValue.values ?? []).map(anyValue);
  return undefined;
}

const attributes = (list: Json[] | undefined): Record<string, unknown> => Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Decodes either encoding into the OTLP/JSON shape (camelCase keys, ids as hex or bytes). */
function decode(type: protobuf.Type, contentType: string, body: Buffer): Json {
  if (contentType.includes('json')) return JSON.parse(body.toString('utf8'));
  return type.toObject(type.decode(body), { longs: String, defaults: false, oneofs: false }) as Json;
}

/**
 * Starts a receiver on a loopback port. `answer` lets a test play a collector that fails (status) or hangs
 * (`'hang'`: the request is never answered).
 */
export async function startOtlpReceiver(options: { answer?: number | 'hang' } = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const points: ReceivedHistogramPoint[] = [];
  const contentTypes: string[] = [];
  const waiters = new Set<() => void>();
  const hanging = new Set<IncomingMessage>();
  const server: Server = createServer(async (request, response) => {
    const contentType = String(request.headers['content-type'] ?? '');
    const body = await bodyOf(request);
    if (options.answer === 'hang') {
      hanging.add(request);
      return;
    }
    if (typeof options.answer === 'number') {
      response.writeHead(options.answer).end();
      return;
    }
    contentTypes.push(`${request.url} ${contentType}`);
    if (request.url === '/v1/traces') {
      const decoded = decode(TraceRequest, contentType, body);
      for (const rs of decoded.resourceSpans ?? []) {
        const resource = attributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? [])
          for (const span of ss.spans ?? [])
            spans.push({
              traceId: hex(span.traceId),
              spanId: hex(span.spanId),
              parentSpanId: hex(span.parentSpanId),
              name: span.name,
              kind: Number(span.kind ?? 0),
              attributes: attributes(span.attributes),
              status: { code: Number(span.status?.code ?? 0), message: span.status?.message ?? '' },
              resource,
              startNanos: BigInt(span.startTimeUnixNano ?? 0),
              endNanos: BigInt(span.endTimeUnixNano ?? 0),
            });
      }
    } else if (request.url === '/v1/metrics') {
      const decoded = decode(MetricsRequest, contentType, body);
      for (const rm of decoded.resourceMetrics ?? [])
        for (const sm of rm.scopeMetrics ?? [])
          for (const metric of sm.metrics ?? [])
            for (const point of metric.histogram?.dataPoints ?? [])
              points.push({
                metric: metric.name,
                unit: metric.unit ?? '',
                count: Number(point.count ?? 0),
                sum: Number(point.sum ?? 0),
                attributes: attributes(point.attributes),
              });
    }
    response.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' }).end();
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const waitFor = <T>(ready: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = ready();
        if (value === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`OTLP receiver: ${what} not received within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    points,
    contentTypes,
    waitForSpans: (count, timeoutMs = 10_000) => waitFor(() => (spans.length >= count ? spans : undefined), timeoutMs, `${count} spans`),
    waitForPoints: (predicate, timeoutMs = 10_000) => waitFor(() => (predicate(points) ? points : undefined), timeoutMs, 'the expected metric points'),
    async close() {
      for (const request of hanging) request.socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
