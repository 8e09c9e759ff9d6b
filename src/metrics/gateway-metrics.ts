import { Registry, type RegistryContentType } from 'prom-client';
import type { ExchangeRecord } from '../capture/record.js';
import { roundUsd } from '../pricing/model-price.js';
import type { SessionMetrics } from '../sessions/types.js';
import { round } from './counting.js';
import { ExchangeStats } from './exchange-stats.js';
import { Exposition, type InterceptorFigures, type MetricsSources } from './exposition.js';

export type { InterceptorFigures, MetricsSources };

export interface GatewayMetricsOptions {
  /** The service name in the JSON view (`cylestio-gateway`). */
  service: string;
  version: string;
  startedAt: Date;
  /** Milliseconds clock, for the uptime and the last-minute rate; injectable so tests can move time. */
  now?: () => number;
}

/** The formats `/metrics` can answer in. */
export type MetricsFormat = 'json' | 'prometheus' | 'openmetrics';

/**
 * The gateway's request metrics: fed once per finished exchange, read as the `/metrics` JSON of the
 * reference, or as Prometheus / OpenMetrics text. Session and interceptor figures are not kept here: their
 * owners compute them, and the caller passes them in at read time (`MetricsSources`), so they are always
 * current and never counted twice.
 */
export class GatewayMetrics {
  readonly prometheusContentType: string = Registry.PROMETHEUS_CONTENT_TYPE;
  readonly openMetricsContentType: string = Registry.OPENMETRICS_CONTENT_TYPE;

  private readonly stats = new ExchangeStats();
  private readonly now: () => number;
  private readonly service: { name: string; version: string; startedAt: Date };
  // Built on first use: a gateway nobody scrapes never pays for the registries.
  private prometheusExposition: Exposition | null = null;
  private openMetricsExposition: Exposition | null = null;

  constructor(options: GatewayMetricsOptions) {
    this.now = options.now ?? Date.now;
    this.service = { name: options.service, version: options.version, startedAt: options.startedAt };
  }

  /** Counts one finished proxied exchange, success or failure. O(1); no objects allocated once its series exist. */
  observe(record: ExchangeRecord): void {
    this.stats.add(record, this.now());
  }

  /** The `/metrics` JSON of the reference (with the session engine's figures: decisions by rule, resets, hit rate, lookup times). */
  json(sources: MetricsSources): object {
    const s = this.stats;
    const nowMs = this.now();
    const startMs = this.service.startedAt.getTime();
    const providers: Record<string, { requests: number; errors: number; average_duration_ms: number }> = {};
    for (const [name, p] of s.providers) {
      providers[name] = { requests: p.requests, errors: p.errors, average_duration_ms: average(p.durationMsSum, p.requests) };
    }
    let sessions: Omit<SessionMetrics, 'performance'> | null = null;
    let performance: SessionMetrics['performance'] | null = null;
    if (sources.sessions) {
      ({ performance, ...sessions } = sources.sessions);
    }
    return {
      service: {
        name: this.service.name,
        version: this.service.version,
        uptime_seconds: Math.max(0, Math.round((nowMs - startMs) / 1000)),
        start_time: this.service.startedAt.toISOString(),
      },
      requests: {
        total: s.requests,
        success: s.success,
        errors: s.errors,
        rate_per_minute: s.lastMinute.total(nowMs),
        average_duration_ms: average(s.durationMsSum, s.requests),
      },
      sessions,
      performance,
      providers,
      interceptors: sources.interceptors,
      persistence: sources.persistence ?? null,
      pipeline: sources.pipeline ?? null,
      otlp: sources.otlp ?? null,
      timelines: sources.timelines ?? null,
      admin: sources.admin ?? null,
      process: sources.memory ? processMemory(sources.memory) : null,
      tokens: { input: s.inputTokens, output: s.outputTokens, total: s.totalTokens },
      cost: {
        total_usd: roundUsd(s.costUsd),
        unpriced_requests: s.unpriced,
        by_provider: Object.fromEntries([...s.providers].map(([name, p]) => [name, roundUsd(p.costUsd)])),
      },
    };
  }

  /** Prometheus text format 0.0.4, from a registry of this instance's own. */
  prometheus(sources: MetricsSources): Promise<string> {
    return this.renderText(this.exposition('prometheus'), sources);
  }

  /** OpenMetrics 1.0.0 text (counter families without `_total`, samples with it, `# EOF` last). */
  openMetrics(sources: MetricsSources): Promise<string> {
    return this.renderText(this.exposition('openmetrics'), sources);
  }

  /** The prom-client registry behind a text format, refreshed with `sources`: for tests, or to merge. */
  registry(sources: MetricsSources, format: Exclude<MetricsFormat, 'json'> = 'prometheus'): Registry<RegistryContentType> {
    const exposition = this.exposition(format);
    exposition.refresh(sources);
    return exposition.registry;
  }

  /** Renders `format` with its content type: the one call a route handler needs. */
  async render(format: MetricsFormat, sources: MetricsSources): Promise<{ contentType: string; body: string }> {
    if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(this.json(sources)) };
    const body = format === 'openmetrics' ? await this.openMetrics(sources) : await this.prometheus(sources);
    return { contentType: format === 'openmetrics' ? this.openMetricsContentType : this.prometheusContentType, body };
  }

  private exposition(format: Exclude<MetricsFormat, 'json'>): Exposition {
    if (format === 'openmetrics') {
      return (this.openMetricsExposition ??= new Exposition(this.stats, this.service, Registry.OPENMETRICS_CONTENT_TYPE));
    }
    return (this.prometheusExposition ??= new Exposition(this.stats, this.service, Registry.PROMETHEUS_CONTENT_TYPE));
  }

  private renderText(exposition: Exposition, sources: MetricsSources): Promise<string> {
    // refresh() and the registry's synchronous read of every family happen in the same tick, so two
    // concurrent scrapes each render the sources they were given.
    exposition.refresh(sources);
    return exposition.registry.metrics();
  }
}

/** The process's memory as the operating system and V8 see it: live sessions, queues and caches show here. */
function processMemory(memory: NodeJS.MemoryUsage) {
  return {
    rss_bytes: memory.rss,
    heap_used_bytes: memory.heapUsed,
    heap_total_bytes: memory.heapTotal,
    external_bytes: memory.external,
    array_buffers_bytes: memory.arrayBuffers,
  };
}

function average(sum: number, count: number): number {
  return count === 0 ? 0 : round(sum / count);
}

/**
 * Picks the answer format from an Accept header. Prometheus asks for `application/openmetrics-text`
 * and/or `text/plain` with q-values; browsers, curl (a bare wildcard) and JSON clients get JSON. Wildcards
 * never select a text format, and on equal q JSON wins, so axios' `application/json, text/plain, <any>`
 * stays JSON.
 */
export function metricsFormat(accept: string | string[] | undefined): MetricsFormat {
  const header = Array.isArray(accept) ? accept.join(',') : (accept ?? '');
  let best: MetricsFormat = 'json';
  let bestQ = 0;
  let jsonQ = 0;
  for (const part of header.split(',')) {
    const [mediaType, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const qParam = params.find((param) => param.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > 0)) continue;
    const format = mediaType === 'application/openmetrics-text' ? 'openmetrics' : mediaType === 'text/plain' ? 'prometheus' : null;
    if (mediaType === 'application/json') jsonQ = Math.max(jsonQ, q);
    // Strictly greater: for equal q the first listed (the client's own order) keeps its place.
    else if (format && q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  return bestQ > 0 && bestQ > jsonQ ? best : 'json';
}
