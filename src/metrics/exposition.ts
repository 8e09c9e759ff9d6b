import type { TimelineFigures } from '../sessions/timeline.js';
import { type Metric, Registry, type RegistryContentType } from 'prom-client';
import type { PersistenceMetrics } from '../sessions/store/open-persistence.js';
import type { SessionMetrics } from '../sessions/types.js';
import {
  EXCHANGE_METRICS,
  INTERCEPTOR_ENABLED,
  interceptorMetricName,
  type MetricDef,
  PIPELINE_METRICS,
  SERVICE_METRICS,
  SESSION_METRICS,
  STORE_METRICS,
  STATUS_CLASSES,
  STREAM_LABELS,
} from './catalog.js';
import type { BucketHistogram } from './counting.js';
import type { ExchangeStats } from './exchange-stats.js';

/** Per-interceptor figures as the interceptor chain reports them (`enabled` plus any numeric counters). */
export interface InterceptorFigures {
  [type: string]: { enabled: boolean } & Record<string, number | boolean>;
}

/** What the metrics read from the rest of the gateway at scrape time. */
export interface MetricsSources {
  sessions: SessionMetrics | null;
  interceptors: InterceptorFigures;
  /** The session store's figures; absent or null while persistence is off. */
  persistence?: PersistenceMetrics | null;
  /** The request path's own failures; absent when no pipeline runs (tests of the metrics alone). */
  pipeline?: PipelineFiguresView | null;
  /** OpenTelemetry export figures; absent or null while export is off. */
  otlp?: OtlpFiguresView | null;
  /** The in-memory request timelines of the sessions API and what their bounds cut; absent when not kept. */
  timelines?: TimelineFigures | null;
  /** The process's memory (`process.memoryUsage()`), read once per scrape; absent in tests of the metrics alone. */
  memory?: NodeJS.MemoryUsage | null;
  /** Sign-in attempts on the admin endpoints (wrong tokens, clients locked out). */
  admin?: { login_failures: number; login_limited: number } | null;
}

/** What the request pipeline counts of its own failures (`pipeline` in the JSON view). */
export interface PipelineFiguresView {
  gateway_errors: number;
  by_stage: Record<string, number>;
  deadlines_missed: number;
  sink_failures: number;
}

/** What became of exported telemetry (`otlp` in the JSON view). */
export interface OtlpFiguresView {
  spans_started: number;
  spans_exported: number;
  spans_dropped: number;
  spans_failed: number;
  metric_exports: number;
  metric_exports_failed: number;
}

type Labels = Record<string, string | number>;
interface Sample {
  labels: Labels;
  value: number;
  /** Only for histogram parts (`_bucket`, `_sum`, `_count`); counters and gauges use the family name. */
  metricName?: string;
}

/**
 * One metric family whose samples are computed when the registry renders. prom-client's Registry renders
 * any object with `name`, `get()`, `type` and `aggregator` (its own cluster aggregation registers such
 * wrappers), so the counts stay in ExchangeStats' plain arrays and the request path never touches
 * prom-client's label hashing. `name` is a field, not the catalog constant, because an OpenMetrics
 * registry renames counters in place (drops `_total`, then appends it to each sample).
 */
class Family {
  name: string;
  readonly help: string;
  readonly type: MetricDef['type'];
  readonly aggregator = 'sum';

  constructor(
    def: MetricDef,
    private readonly samples: () => Sample[],
  ) {
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
  }

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() };
  }

  /** Registry.resetMetrics() calls this; the counts belong to ExchangeStats, so there is nothing to reset. */
  reset(): void {}
}

/** The `_bucket` / `_sum` / `_count` samples of one histogram series. */
function histogramSamples(name: string, labels: Labels, histogram: BucketHistogram, out: Sample[]): void {
  const cumulative = histogram.cumulative();
  histogram.bounds.forEach((le, i) => out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative[i] }));
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count });
  out.push({ metricName: `${name}_sum`, labels, value: histogram.sum });
  out.push({ metricName: `${name}_count`, labels, value: histogram.count });
}

/**
 * A prom-client Registry of its own (never the global one) over the gateway's figures. Exchange figures
 * are read live from ExchangeStats; session and interceptor figures from the sources handed to `refresh()`
 * just before each render. One instance per content type, since OpenMetrics rendering renames counters.
 */
export class Exposition {
  readonly registry: Registry<RegistryContentType>;
  private sources: MetricsSources = { sessions: null, interceptors: {} };
  /** Interceptor figure families currently registered, by metric name. */
  private readonly interceptorFamilies = new Map<string, Family>();

  constructor(stats: ExchangeStats, service: { version: string; startedAt: Date }, contentType: RegistryContentType) {
    // The typings lack the constructor's content-type argument; setContentType is the typed equivalent.
    this.registry = new Registry<RegistryContentType>();
    this.registry.setContentType(contentType);
    const add = (def: MetricDef, samples: () => Sample[]) => this.registry.registerMetric(new Family(def, samples) as unknown as Metric);

    add(SERVICE_METRICS.buildInfo, () => [{ labels: { version: service.version }, value: 1 }]);
    add(SERVICE_METRICS.startTime, () => [{ labels: {}, value: service.startedAt.getTime() / 1000 }]);
    const memory = (pick: (m: NodeJS.MemoryUsage) => number) => () => (this.sources.memory ? [{ labels: {}, value: pick(this.sources.memory) }] : []);
    add(
      SERVICE_METRICS.residentMemory,
      memory((m) => m.rss),
    );
    add(
      SERVICE_METRICS.heapUsed,
      memory((m) => m.heapUsed),
    );
    add(
      SERVICE_METRICS.heapTotal,
      memory((m) => m.heapTotal),
    );
    add(
      SERVICE_METRICS.externalMemory,
      memory((m) => m.external),
    );

    add(EXCHANGE_METRICS.requests, () => {
      const out: Sample[] = [];
      for (const [provider, perProvider] of stats.providers) {
        for (const [operation, series] of perProvider.operations) {
          series.byStatusClass.forEach((value, i) => {
            if (value > 0) out.push({ labels: { provider, operation, status_class: STATUS_CLASSES[i] }, value });
          });
        }
      }
      return out;
    });
    add(EXCHANGE_METRICS.tokens, () =>
      [...stats.providers].flatMap(([provider, s]) => [
        { labels: { provider, direction: 'input' }, value: s.inputTokens },
        { labels: { provider, direction: 'output' }, value: s.outputTokens },
      ]),
    );
    add(EXCHANGE_METRICS.cost, () => [...stats.providers].map(([provider, s]) => ({ labels: { provider }, value: s.costUsd })));
    add(EXCHANGE_METRICS.unpriced, () => [{ labels: {}, value: stats.unpriced }]);
    for (const [def, pick] of [
      [EXCHANGE_METRICS.duration, 'duration'],
      [EXCHANGE_METRICS.ttfb, 'ttfb'],
    ] as const) {
      add(def, () => {
        const out: Sample[] = [];
        for (const [provider, perProvider] of stats.providers) {
          for (const [operation, series] of perProvider.operations) {
            series[pick].forEach((histogram, stream) => {
              // A series appears once it has an observation, and stays (its count never drops back).
              if (histogram.count > 0) histogramSamples(def.name, { provider, operation, stream: STREAM_LABELS[stream] }, histogram, out);
            });
          }
        }
        return out;
      });
    }

    const pipeline = (pick: (p: PipelineFiguresView) => Sample[]) => () => (this.sources.pipeline ? pick(this.sources.pipeline) : []);
    add(
      PIPELINE_METRICS.gatewayErrors,
      pipeline((p) => Object.entries(p.by_stage).map(([stage, value]) => ({ labels: { stage }, value }))),
    );
    add(
      PIPELINE_METRICS.deadlinesMissed,
      pipeline((p) => [{ labels: {}, value: p.deadlines_missed }]),
    );
    add(
      PIPELINE_METRICS.sinkFailures,
      pipeline((p) => [{ labels: {}, value: p.sink_failures }]),
    );
    const otlp = (pick: (o: OtlpFiguresView) => number) => () => (this.sources.otlp ? [{ labels: {}, value: pick(this.sources.otlp) }] : []);
    add(
      PIPELINE_METRICS.spansExported,
      otlp((o) => o.spans_exported),
    );
    add(
      PIPELINE_METRICS.spansDropped,
      otlp((o) => o.spans_dropped + o.spans_failed),
    );
    add(
      PIPELINE_METRICS.metricExportsFailed,
      otlp((o) => o.metric_exports_failed),
    );
    add(PIPELINE_METRICS.loginFailures, () => (this.sources.admin ? [{ labels: {}, value: this.sources.admin.login_failures }] : []));
    add(PIPELINE_METRICS.loginLimited, () => (this.sources.admin ? [{ labels: {}, value: this.sources.admin.login_limited }] : []));

    this.addSessionFamilies(add);
    this.addStoreFamilies(add);
    add(INTERCEPTOR_ENABLED, () => Object.entries(this.sources.interceptors).map(([type, f]) => ({ labels: { type }, value: f.enabled ? 1 : 0 })));
  }

  private addSessionFamilies(add: (def: MetricDef, samples: () => Sample[]) => void): void {
    // Each family is empty (HELP and TYPE only) while session tracking is off.
    const one = (def: MetricDef, pick: (s: SessionMetrics) => number) =>
      add(def, () => (this.sources.sessions ? [{ labels: {}, value: pick(this.sources.sessions) }] : []));
    const byKey = (def: MetricDef, label: string, pick: (s: SessionMetrics) => Record<string, number>) =>
      add(def, () => (this.sources.sessions ? Object.entries(pick(this.sources.sessions)).map(([key, value]) => ({ labels: { [label]: key }, value })) : []));
    const S = SESSION_METRICS;
    one(S.active, (s) => s.active_count);
    one(S.created, (s) => s.total_created);
    one(S.evicted, (s) => s.evicted);
    one(S.expired, (s) => s.expired);
    one(S.ended, (s) => s.ended);
    byKey(S.resets, 'reason', (s) => s.resets);
    byKey(S.decisions, 'rule', (s) => s.decisions);
    one(S.fuzzy, (s) => s.fuzzy_matches);
    one(S.considered, (s) => s.requests_considered);
    one(S.hitRatio, (s) => s.cache_hit_rate);
    one(S.averageLength, (s) => s.average_session_length);
    one(S.longest, (s) => s.longest_session);
    one(S.lookupMean, (s) => s.performance.session_lookup_ms / 1000);
    one(S.lookupP99, (s) => s.performance.session_lookup_p99_ms / 1000);
    one(S.hashMean, (s) => s.performance.hash_computation_ms / 1000);
    one(S.hashP99, (s) => s.performance.hash_computation_p99_ms / 1000);
  }

  private addStoreFamilies(add: (def: MetricDef, samples: () => Sample[]) => void): void {
    const store = (pick: (p: PersistenceMetrics) => Sample[]) => () => (this.sources.persistence ? pick(this.sources.persistence) : []);
    const S = STORE_METRICS;
    add(
      S.healthy,
      store((p) => [{ labels: { backend: p.backend }, value: p.healthy ? 1 : 0 }]),
    );
    add(
      S.operations,
      store((p) =>
        (['lookups', 'lookup_hits', 'saves', 'restored'] as const).map((key) => ({
          labels: { backend: p.backend, operation: key.replace(/s$/, '') },
          value: p[key],
        })),
      ),
    );
    add(
      S.errors,
      store((p) => [{ labels: { backend: p.backend }, value: p.errors }]),
    );
    add(
      S.fallbacks,
      store((p) => [{ labels: { backend: p.backend }, value: p.fallbacks }]),
    );
    add(
      S.dropped,
      store((p) => [{ labels: { backend: p.backend }, value: p.saves_dropped }]),
    );
    add(
      S.latencyMean,
      store((p) => [{ labels: { backend: p.backend }, value: p.latency_ms / 1000 }]),
    );
    add(
      S.latencyP99,
      store((p) => [{ labels: { backend: p.backend }, value: p.latency_p99_ms / 1000 }]),
    );
    add(
      S.recordRows,
      store((p) => (p.record ? (['written', 'dropped', 'failed'] as const).map((outcome) => ({ labels: { outcome }, value: p.record![outcome] })) : [])),
    );
  }

  /**
   * Takes the figures the next render shows, and registers one family per numeric interceptor figure
   * (`traces_written` → `cylestio_interceptor_traces_written{type}`), dropping families no longer reported.
   * Call right before rendering: the registry reads every family synchronously when rendering starts.
   */
  refresh(sources: MetricsSources): void {
    this.sources = sources;
    const wanted = new Map<string, string>();
    for (const figures of Object.values(sources.interceptors)) {
      for (const [figure, value] of Object.entries(figures)) {
        const name = typeof value === 'number' ? interceptorMetricName(figure) : null;
        if (name) wanted.set(name, figure);
      }
    }
    for (const name of this.interceptorFamilies.keys()) {
      if (!wanted.has(name)) {
        this.registry.removeSingleMetric(name);
        this.interceptorFamilies.delete(name);
      }
    }
    for (const [name, figure] of wanted) {
      if (this.interceptorFamilies.has(name)) continue;
      const def: MetricDef = { name, type: 'gauge', help: `Interceptor figure "${figure}", by interceptor type.`, labels: ['type'] };
      const family = new Family(def, () => this.interceptorSamples(name));
      this.interceptorFamilies.set(name, family);
      this.registry.registerMetric(family as unknown as Metric);
    }
  }

  private interceptorSamples(name: string): Sample[] {
    const out: Sample[] = [];
    for (const [type, figures] of Object.entries(this.sources.interceptors)) {
      for (const [figure, value] of Object.entries(figures)) {
        if (typeof value === 'number' && Number.isFinite(value) && interceptorMetricName(figure) === name) out.push({ labels: { type }, value });
      }
    }
    return out;
  }
}
