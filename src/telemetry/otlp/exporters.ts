import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpSettings } from './settings.js';

/** Spans over OTLP/HTTP in the configured encoding; the URL, headers and timeout are always given explicitly. */
export function traceExporter(settings: OtlpSettings, url: string): SpanExporter {
  const options = { url, headers: settings.headers, timeoutMillis: settings.exportTimeoutMs };
  return settings.protocol === 'http/json' ? new JsonTraceExporter(options) : new ProtobufTraceExporter(options);
}

/** Metrics over OTLP/HTTP in the configured encoding (cumulative temporality, the SDK's default). */
export function metricExporter(settings: OtlpSettings, url: string): PushMetricExporter {
  const options = { url, headers: settings.headers, timeoutMillis: settings.exportTimeoutMs };
  return settings.protocol === 'http/json' ? new JsonMetricExporter(options) : new ProtobufMetricExporter(options);
}
