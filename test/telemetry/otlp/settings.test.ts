// Export settings: the config file wins over the standard OTEL_* variables, which win over defaults; export
// is off unless an endpoint is given, and the variables' list syntax is read as the specification writes it.
import { describe, expect, it } from 'vitest';
import { resolveOtlpSettings } from '../../../src/telemetry/otlp/settings.js';

describe('resolveOtlpSettings', () => {
  it('is off without an endpoint, and when disabled by config or OTEL_SDK_DISABLED', () => {
    expect(resolveOtlpSettings({}, {})).toBeNull();
    expect(resolveOtlpSettings({ enabled: false }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBeNull();
    expect(resolveOtlpSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(() => resolveOtlpSettings({ enabled: true }, {})).toThrow(/no endpoint/);
  });

  it('reads the standard variables', () => {
    const s = resolveOtlpSettings(undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D%3D,team = core',
      OTEL_SERVICE_NAME: 'edge-gateway',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http,gen_ai_latest_experimental',
    })!;
    expect(s.tracesUrl).toBe('http://collector:4318/v1/traces');
    expect(s.metricsUrl).toBe('http://collector:4318/v1/metrics');
    expect(s.protocol).toBe('http/json');
    expect(s.headers).toEqual({ 'x-api-key': 'abc==', team: 'core' });
    expect(s.serviceName).toBe('edge-gateway');
    expect(s.resourceAttributes).toEqual({ 'deployment.environment.name': 'prod' });
    expect([s.sampler, s.samplerArg]).toEqual(['parentbased_traceidratio', 0.25]);
    expect(s.maxQueueSize).toBe(100);
    expect(s.metricIntervalMs).toBe(15_000);
    expect(s.latestGenAi).toBe(true);
  });

  it('lets the config file win key by key', () => {
    const s = resolveOtlpSettings(
      { endpoint: 'http://from-config:4318', protocol: 'http/protobuf', headers: { authorization: 'Basic x' }, metrics: false },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://from-env:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env-traces/v1/traces',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'a=b',
        OTEL_SERVICE_NAME: 'from-env',
      },
    )!;
    expect(s.tracesUrl).toBe('http://from-config:4318/v1/traces');
    expect(s.metricsUrl).toBeNull();
    expect(s.protocol).toBe('http/protobuf');
    expect(s.headers).toEqual({ authorization: 'Basic x' });
    expect(s.serviceName).toBe('from-env'); // unset in the file: the variable applies
    expect(s.latestGenAi).toBe(false);
  });

  it('keeps metrics when only spans are turned off, and the reverse', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(resolveOtlpSettings({}, { ...env, OTEL_TRACES_EXPORTER: 'none' })).toMatchObject({ tracesUrl: null, metricsUrl: 'http://c:4318/v1/metrics' });
    expect(resolveOtlpSettings({}, { ...env, OTEL_METRICS_EXPORTER: 'none' })).toMatchObject({ tracesUrl: 'http://c:4318/v1/traces', metricsUrl: null });
  });
});
