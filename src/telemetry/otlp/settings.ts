import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { z } from 'zod';

const seconds = z.coerce.number().positive();
const count = z.coerce.number().int().positive();

/**
 * `telemetry.otlp`: OpenTelemetry export. Every key is optional; an unset key falls back to the standard
 * `OTEL_*` variable, then to the SDK's default, so the config file wins over the environment as it does for
 * every other key.
 */
export const otlpConfigSchema = z.strictObject({
  /** On or off regardless of the environment; default: on when an OTLP endpoint is set (config or env). */
  enabled: z.boolean().optional(),
  /** Base URL of an OTLP/HTTP receiver (`/v1/traces` and `/v1/metrics` are appended). */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Full URL for spans (used as is). */
  traces_endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Full URL for metrics (used as is). */
  metrics_endpoint: z.url({ protocol: /^https?$/ }).optional(),
  protocol: z.enum(['http/protobuf', 'http/json']).optional(),
  /** Sent with every export (an ingest key): secrets, shown redacted in /config. */
  headers: z.record(z.string().min(1), z.string()).optional(),
  service_name: z.string().min(1).optional(),
  resource_attributes: z.record(z.string().min(1), z.string()).optional(),
  sampler: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']).optional(),
  /** The ratio for the `traceidratio` samplers, 0..1. */
  sampler_arg: z.coerce.number().min(0).max(1).optional(),
  /** Prompts and replies in spans (`gen_ai.input.messages` / `gen_ai.output.messages`), redacted like traces. */
  capture_content: z.boolean().optional(),
  /** Export metrics as well as spans. */
  metrics: z.boolean().optional(),
  /** Milliseconds between metric exports. */
  metric_export_interval_ms: count.optional(),
  /** Which GenAI attribute names to emit (the `OTEL_SEMCONV_STABILITY_OPT_IN` values). */
  semconv_stability_opt_in: z.string().optional(),
  /** The span queue: a collector that is down or slow fills it, and spans beyond it are dropped (counted). */
  max_queue_size: count.optional(),
  max_export_batch_size: count.optional(),
  schedule_delay_ms: count.optional(),
  /** Seconds one export may take before it is abandoned. */
  export_timeout_seconds: seconds.optional(),
});

export type OtlpConfig = z.infer<typeof otlpConfigSchema>;

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** The effective settings, after config, environment and defaults. */
export interface OtlpSettings {
  tracesUrl: string | null;
  metricsUrl: string | null;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  /** OTEL_SERVICE_NAME or the config's; null leaves `service.name` to the resource attributes, then the default. */
  serviceName: string | null;
  resourceAttributes: Record<string, string>;
  sampler: NonNullable<OtlpConfig['sampler']>;
  samplerArg: number;
  captureContent: boolean;
  metricIntervalMs: number;
  /** The newest GenAI names (`gen_ai_latest_experimental`) instead of the older ones. */
  latestGenAi: boolean;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduleDelayMs: number;
  exportTimeoutMs: number;
}

const protocolOf = (value: string | undefined): OtlpProtocol | undefined => (value === 'http/json' || value === 'http/protobuf' ? value : undefined);

const numberOf = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

const samplers = new Set(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']);

function signalUrl(explicit: string | undefined, envSignal: string | undefined, base: string | undefined, path: string): string | null {
  if (explicit) return explicit;
  if (envSignal) return envSignal;
  if (!base) return null;
  return `${base.replace(/\/+$/, '')}${path}`;
}

/**
 * Resolves export settings: config keys first, then the standard variables, then defaults. Null when
 * export is off (no endpoint anywhere, `enabled: false`, `OTEL_SDK_DISABLED=true`, or both signals'
 * exporters set to `none`).
 */
export function resolveOtlpSettings(config: OtlpConfig | undefined, env: NodeJS.ProcessEnv): OtlpSettings | null {
  const c = config ?? {};
  if (c.enabled === false) return null;
  if (c.enabled === undefined && env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  // Config endpoints win; the environment's apply only to keys the config leaves unset.
  const base = c.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesOff = c.traces_endpoint === undefined && c.endpoint === undefined && env.OTEL_TRACES_EXPORTER?.trim() === 'none';
  const metricsOff = c.metrics === false || (c.metrics === undefined && env.OTEL_METRICS_EXPORTER?.trim() === 'none');
  const tracesUrl = tracesOff ? null : signalUrl(c.traces_endpoint, c.endpoint ? undefined : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, base, '/v1/traces');
  const metricsUrl = metricsOff ? null : signalUrl(c.metrics_endpoint, c.endpoint ? undefined : env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, base, '/v1/metrics');
  if (!tracesUrl && !metricsUrl) {
    if (c.enabled) throw new Error('telemetry.otlp is enabled but no endpoint is set (telemetry.otlp.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT)');
    return null;
  }
  const envSampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  const sampler = c.sampler ?? (envSampler && samplers.has(envSampler) ? (envSampler as OtlpSettings['sampler']) : 'parentbased_always_on');
  const optIn = c.semconv_stability_opt_in ?? env.OTEL_SEMCONV_STABILITY_OPT_IN ?? '';
  const captureEnv = env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase();
  const timeoutMs = c.export_timeout_seconds !== undefined ? c.export_timeout_seconds * 1000 : numberOf(env.OTEL_EXPORTER_OTLP_TIMEOUT);
  return {
    tracesUrl,
    metricsUrl,
    // One protocol and one header set serve both signals, so only the generic variables are read (a
    // `_TRACES_` one would otherwise reach the metrics exporter too).
    protocol: c.protocol ?? protocolOf(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? 'http/protobuf',
    headers: c.headers ?? parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: c.service_name ?? (env.OTEL_SERVICE_NAME?.trim() || null),
    resourceAttributes: { ...parseKeyPairsIntoRecord(env.OTEL_RESOURCE_ATTRIBUTES), ...c.resource_attributes },
    sampler,
    samplerArg: c.sampler_arg ?? Math.min(1, numberOf(env.OTEL_TRACES_SAMPLER_ARG) ?? 1),
    captureContent: c.capture_content ?? captureEnv === 'true',
    metricIntervalMs: c.metric_export_interval_ms ?? numberOf(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000,
    latestGenAi: optIn
      .split(',')
      .map((v) => v.trim())
      .includes('gen_ai_latest_experimental'),
    maxQueueSize: c.max_queue_size ?? numberOf(env.OTEL_BSP_MAX_QUEUE_SIZE) ?? 2048,
    maxExportBatchSize: c.max_export_batch_size ?? numberOf(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE) ?? 512,
    scheduleDelayMs: c.schedule_delay_ms ?? numberOf(env.OTEL_BSP_SCHEDULE_DELAY) ?? 5000,
    exportTimeoutMs: timeoutMs ?? numberOf(env.OTEL_BSP_EXPORT_TIMEOUT) ?? 10_000,
  };
}
