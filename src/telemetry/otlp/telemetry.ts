import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import type { ExchangeRecord } from '../../capture/record.js';
import type { OtlpFiguresView } from '../../metrics/exposition.js';
import type { Exchange } from '../../proxy/exchange.js';
import { version } from '../../version.js';
import { ExportFigures } from './export-figures.js';
import { metricExporter, traceExporter } from './exporters.js';
import { replyContent, requestContent } from './gen-ai-content.js';
import { GenAiMetrics } from './gen-ai-metrics.js';
import { ATTR, LATEST, OPERATION_NAMES, V1_36, type GenAiNames } from './semconv.js';
import type { OtlpSettings } from './settings.js';

type Headers = Record<string, string | string[] | undefined>;

const headerGetter = {
  get: (carrier: Headers, key: string) => carrier[key],
  keys: (carrier: Headers) => Object.keys(carrier),
};

function samplerOf(settings: OtlpSettings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerArg);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The epoch time of `performance.now()`'s zero, read once (the getter is not free). */
const TIME_ORIGIN = performance.timeOrigin;

/** Characters of each prompt or reply text kept in content attributes. */
const CONTENT_CHARS = 16_384;

/** Milliseconds as the conventions' seconds. */
const seconds = (ms: number) => ms / 1000;

/**
 * OpenTelemetry export of the gateway's model calls: one CLIENT span per proxied request in the GenAI
 * conventions (joining the client's W3C trace when it sent one, and handing its own context to the
 * provider), and the conventions' client metrics. Spans and metrics go through the SDK's bounded batch
 * processor and periodic reader: a collector that is down or slow costs a dropped span (counted), never a
 * request's time.
 */
export class OtlpTelemetry {
  private readonly tracer: Tracer | null;
  private readonly tracerProvider: TracerProvider | null;
  private readonly meterProvider: MeterProvider | null;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly names: GenAiNames;
  private readonly server: Attributes;
  private readonly metrics: GenAiMetrics | null;
  private readonly startAttributes = new Map<string, Attributes>();
  readonly figures = new ExportFigures();
  /** Bytes of reply body the relay must keep for `gen_ai.output.messages` (0: content is off). */
  readonly contentBytes: number;

  constructor(
    readonly settings: OtlpSettings,
    upstreamUrl: string,
    private readonly log: Logger,
  ) {
    this.names = settings.latestGenAi ? LATEST : V1_36;
    const upstream = new URL(upstreamUrl);
    this.server = {
      [ATTR.serverAddress]: upstream.hostname,
      [ATTR.serverPort]: Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80)),
    };
    this.contentBytes = settings.captureContent ? 1024 * 1024 : 0;
    const resource = resourceFromAttributes({
      'service.name': 'cylestio-gateway',
      'service.version': version,
      ...settings.resourceAttributes,
      ...(settings.serviceName ? { 'service.name': settings.serviceName } : {}),
    });
    if (settings.tracesUrl) {
      const processor = new BatchSpanProcessor({
        exporter: traceExporter(settings, settings.tracesUrl),
        maxQueueSize: settings.maxQueueSize,
        maxExportBatchSize: Math.min(settings.maxExportBatchSize, settings.maxQueueSize),
        scheduledDelayMillis: settings.scheduleDelayMs,
        exportTimeoutMillis: settings.exportTimeoutMs,
        selfObsMeterProvider: this.figures.processorMeterProvider(),
      });
      this.tracerProvider = new TracerProvider({ resource, sampler: samplerOf(settings), spanProcessors: [processor] });
      this.tracer = this.tracerProvider.getTracer('cylestio-gateway', version);
    } else {
      this.tracerProvider = null;
      this.tracer = null;
    }
    if (settings.metricsUrl) {
      this.metrics = new GenAiMetrics(this.names, this.server);
      const reader = new PeriodicExportingMetricReader({
        exporter: this.figures.countMetricExports(metricExporter(settings, settings.metricsUrl)),
        metricProducers: [this.metrics],
        exportIntervalMillis: settings.metricIntervalMs,
        exportTimeoutMillis: Math.min(settings.exportTimeoutMs, settings.metricIntervalMs),
      });
      this.meterProvider = new MeterProvider({ resource, readers: [reader] });
    } else {
      this.meterProvider = null;
      this.metrics = null;
    }
  }

  /**
   * Starts the exchange's span (once), as a child of the client's `traceparent` when it sent one, and
   * returns the headers that carry the span's context upstream (they replace the client's).
   */
  begin(ex: Exchange): Record<string, string> | null {
    const span = this.spanOf(ex);
    if (!span) return null;
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, { set: (c, key, value) => (c[key] = value) });
    return carrier;
  }

  /** Ends the exchange's span with what the exchange came to, and records the metrics. */
  finish(record: ExchangeRecord, ex: Exchange): void {
    const operation = record.operation ? OPERATION_NAMES[record.operation] : undefined;
    const errorType = record.failure ?? (record.status >= 400 || record.status === 0 ? String(record.status || 'no_answer') : undefined);
    const span = this.spanOf(ex);
    if (span) {
      if (span.isRecording()) this.describe(span, record, ex, operation, errorType);
      span.end();
    }
    if (this.metrics && operation) this.metrics.record(record, operation, errorType);
  }

  async shutdown(): Promise<void> {
    const bound = Math.max(1000, this.settings.exportTimeoutMs);
    const within = (work: Promise<void>) =>
      Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, bound).unref())]).catch((err: unknown) =>
        this.log.warn({ error: (err as Error).message }, 'OpenTelemetry export did not flush'),
      );
    await Promise.all([this.tracerProvider && within(this.tracerProvider.shutdown()), this.meterProvider && within(this.meterProvider.shutdown())]);
  }

  toJSON(): OtlpFiguresView & Record<string, unknown> {
    return {
      protocol: this.settings.protocol,
      traces: this.settings.tracesUrl !== null,
      metrics: this.settings.metricsUrl !== null,
      semconv: this.settings.latestGenAi ? 'gen_ai_latest_experimental' : 'v1.36',
      ...this.figures.toJSON(),
    };
  }

  private spanOf(ex: Exchange): Span | null {
    if (ex.span || !this.tracer) return ex.span;
    const operation = ex.operation ? OPERATION_NAMES[ex.operation] : undefined;
    const model = ex.model;
    const name = operation ? (model ? `${operation} ${model}` : operation) : `${ex.method} ${ex.operation ?? ''}`.trim();
    const attributes = operation ? this.chatAttributes(operation, ex.provider, model) : { ...this.server, [ATTR.httpMethod]: ex.method };
    // Most clients send no trace context: skip the propagator's work for them.
    const parent = ex.headers.traceparent === undefined ? ROOT_CONTEXT : this.propagator.extract(ROOT_CONTEXT, ex.headers, headerGetter);
    this.figures.spansStarted++;
    ex.span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: TIME_ORIGIN + ex.startedAt, attributes }, parent);
    return ex.span;
  }

  /**
   * The attributes a chat span starts with (those samplers may read), built once per operation, provider and
   * model: the SDK copies them into each span, so one shared object serves every request of that model.
   */
  private chatAttributes(operation: string, provider: string, model: string | null): Attributes {
    const key = `${operation}\u0000${provider}\u0000${model ?? ''}`;
    let attributes = this.startAttributes.get(key);
    if (!attributes) {
      attributes = { ...this.server, [ATTR.operation]: operation, [this.names.provider]: provider };
      if (model) attributes[ATTR.requestModel] = model;
      Object.freeze(attributes);
      // Bounded like every cache: models are few, but a client can name any.
      if (this.startAttributes.size >= 1000) this.startAttributes.clear();
      this.startAttributes.set(key, attributes);
    }
    return attributes;
  }

  private describe(span: Span, record: ExchangeRecord, ex: Exchange, operation: string | undefined, errorType: string | undefined): void {
    const reply = record.response.reply;
    const usage = record.usage;
    const attributes: Attributes = {};
    if (record.status) attributes[ATTR.httpStatus] = record.status;
    if (operation) {
      if (record.stream) attributes[ATTR.requestStream] = true;
      if (reply?.model) attributes[ATTR.responseModel] = reply.model;
      if (reply?.messageId) attributes[ATTR.responseId] = reply.messageId;
      if (reply?.finishReasons) attributes[ATTR.finishReasons] = reply.finishReasons;
      if (record.stream && record.ttfbMs !== null) attributes[ATTR.timeToFirstChunk] = seconds(record.ttfbMs);
      if (usage) {
        attributes[ATTR.inputTokens] = usage.input_tokens;
        attributes[ATTR.outputTokens] = usage.output_tokens;
        if (usage.cache_read_input_tokens !== undefined) attributes[ATTR.cacheRead] = usage.cache_read_input_tokens;
        if (usage.cache_write_input_tokens !== undefined) attributes[this.names.cacheWrite] = usage.cache_write_input_tokens;
      }
      if (typeof record.costUsd === 'number') attributes[ATTR.costUsd] = record.costUsd;
      if (ex.parsed?.previousResponseId) attributes[ATTR.previousResponseId] = ex.parsed.previousResponseId;
    }
    if (record.sessionId) {
      attributes[ATTR.sessionId] = record.sessionId;
      if (record.sessionRule) attributes[ATTR.sessionRule] = record.sessionRule;
      if (record.parentSessionId) attributes[ATTR.sessionParentId] = record.parentSessionId;
      // The conventions forbid a generated or hashed id here: only a session the client named itself.
      if (record.sessionRule === 'explicit' && !record.sessionId.startsWith('sess_')) attributes[ATTR.conversationId] = record.sessionId;
    }
    if (errorType) {
      attributes[ATTR.errorType] = errorType;
      span.setStatus({ code: SpanStatusCode.ERROR, message: ex.note ?? errorType });
    }
    if (this.contentBytes > 0 && operation) this.addContent(attributes, record, ex, record.operation!);
    span.setAttributes(attributes);
  }

  /** Opt-in prompts and replies; a body that cannot be read (or is cut) leaves them out, never the span. */
  private addContent(attributes: Attributes, record: ExchangeRecord, ex: Exchange, operation: string): void {
    try {
      const request = requestContent(operation, ex.body(), CONTENT_CHARS);
      if (request.system) attributes[ATTR.systemInstructions] = request.system;
      if (request.input) attributes[ATTR.inputMessages] = request.input;
      const reply = record.response.reply;
      let body: unknown = reply?.assembled;
      if (body === undefined && record.response.body && !record.response.truncated) body = JSON.parse(record.response.body.toString('utf8'));
      const output = replyContent(operation, body, CONTENT_CHARS);
      if (output) attributes[ATTR.outputMessages] = output;
    } catch (err) {
      this.log.debug({ request_id: ex.requestId, error: (err as Error).message }, 'message content left out of the span');
    }
  }
}
