import { createNoopMeter, type Attributes, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { OtlpFiguresView } from '../../metrics/exposition.js';

/** What became of exported telemetry, for `/metrics` (`otlp`) and Prometheus. */
export class ExportFigures {
  /** Spans the gateway started (one per proxied request). */
  spansStarted = 0;
  /** Spans the collector accepted. */
  spansExported = 0;
  /** Spans dropped because the queue was full (a collector down or slower than the traffic). */
  spansDropped = 0;
  /** Spans lost in an export that failed or timed out. */
  spansFailed = 0;
  metricExports = 0;
  metricExportsFailed = 0;

  /**
   * A meter provider for the span processor's own counts. The SDK's batch processor reports every span it
   * finishes with (`otel.sdk.processor.span.processed`, `error.type=queue_full` when its queue was full), so
   * drops are counted by the library that drops them instead of being guessed from outside.
   */
  processorMeterProvider(): MeterProvider {
    const noop = createNoopMeter();
    const processed: Counter = {
      add: (value: number, attributes?: Attributes) => {
        const error = attributes?.['error.type'];
        if (error === undefined) this.spansExported += value;
        else if (error === 'queue_full') this.spansDropped += value;
        else this.spansFailed += value;
      },
    };
    const meter: Meter = Object.assign(Object.create(noop) as Meter, {
      createCounter: (name: string) => (name === 'otel.sdk.processor.span.processed' ? processed : noop.createCounter(name)),
    });
    return { getMeter: () => meter };
  }

  /** Wraps a metric exporter so failed exports are counted. */
  countMetricExports(exporter: PushMetricExporter): PushMetricExporter {
    const figures = this;
    return {
      export(metrics, done) {
        exporter.export(metrics, (result) => {
          figures.metricExports++;
          if (result.code !== ExportResultCode.SUCCESS) figures.metricExportsFailed++;
          done(result);
        });
      },
      forceFlush: () => exporter.forceFlush(),
      shutdown: () => exporter.shutdown(),
      selectAggregationTemporality: exporter.selectAggregationTemporality?.bind(exporter),
      selectAggregation: exporter.selectAggregation?.bind(exporter),
    };
  }

  toJSON(): OtlpFiguresView {
    return {
      spans_started: this.spansStarted,
      spans_exported: this.spansExported,
      spans_dropped: this.spansDropped,
      spans_failed: this.spansFailed,
      metric_exports: this.metricExports,
      metric_exports_failed: this.metricExportsFailed,
    };
  }
}
