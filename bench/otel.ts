// OpenTelemetry section: what exporting a span and the GenAI metrics per request costs. Three gateways in
// front of the same simulated provider, measured alternately with the same conversation traffic: export
// off, export on to a collector that answers at once, and export on to a collector that is down (a closed
// port). Targets: on ≥ 0.9x off, and a dead collector costs nothing either.

import { createServer } from 'node:net';
import { conversationRequests } from './lib/chat-request.js';
import { startServer, startServers, stopAllServers } from './lib/children.js';
import { benchDuration } from './lib/env.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { fmt, printTable } from './lib/table.js';
import { measureThroughput } from './lib/throughput.js';

const CONNECTIONS = 50;
/** Rounds per variant; the order of the three gateways rotates each round, so none is always measured first. */
const ROUNDS = 4;
const TARGET = 0.9;

/** A loopback port nobody listens on: the dead collector. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const exportTo = (endpoint: string): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_SEMCONV_STABILITY_OPT_IN: 'gen_ai_latest_experimental',
  // Metrics every 5 s, so a run of a few seconds exports them too (the default is a minute).
  OTEL_METRIC_EXPORT_INTERVAL: '5000',
});

export async function run(): Promise<void> {
  const duration = Math.max(3, Math.round(benchDuration() / 3));
  const gatewayEntry = new URL('./servers/gateway.ts', import.meta.url);
  try {
    const [simulator, collector] = await startServers([
      ['simulator', new URL('./servers/simulator.ts', import.meta.url)],
      ['otlp-collector', new URL('./servers/otlp-collector.ts', import.meta.url)],
    ]);
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gateways = {
      off: await startServer('gateway', gatewayEntry, [simulator.url]),
      on: await startServer('gateway+otlp', gatewayEntry, [simulator.url], exportTo(collector.url)),
      dead: await startServer('gateway+dead-collector', gatewayEntry, [simulator.url], exportTo(dead)),
    };
    console.log(`Traffic: 6-turn conversations, JSON and streamed, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${duration} s per gateway.`);
    const rows: string[][] = [];
    const results: Record<string, { off: number; on: number; dead: number; on_ratio: number; dead_ratio: number }> = {};
    for (const stream of [false, true]) {
      const rps = { off: [] as number[], on: [] as number[], dead: [] as number[] };
      for (const target of Object.values(gateways))
        await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: 10, duration: 1, warmup: 0 });
      for (let round = 0; round < ROUNDS; round++) {
        const order = (['off', 'on', 'dead'] as const).map((_, i, keys) => keys[(i + round) % keys.length]);
        for (const key of order) {
          const result = await measureThroughput({
            url: gateways[key].url,
            requests: conversationRequests(stream),
            connections: CONNECTIONS,
            duration,
            warmup: 0,
          });
          rps[key].push(result.rps);
        }
      }
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const [off, on, down] = [mean(rps.off), mean(rps.on), mean(rps.dead)];
      const label = stream ? 'streaming' : 'JSON';
      results[label] = { off, on, dead: down, on_ratio: on / off, dead_ratio: down / off };
      rows.push([label, fmt(off, 0), fmt(on, 0), `${fmt(on / off, 2)}x`, fmt(down, 0), `${fmt(down / off, 2)}x`]);
    }
    printTable(
      [
        { header: 'variant' },
        { header: 'export off req/s', align: 'right' },
        { header: 'export on req/s', align: 'right' },
        { header: 'on / off', align: 'right' },
        { header: 'collector down req/s', align: 'right' },
        { header: 'down / off', align: 'right' },
      ],
      rows,
    );
    const figures = async (url: string) => ((await (await fetch(`${url}/metrics`)).json()) as { otlp: Record<string, number> }).otlp;
    const [onFigures, deadFigures] = [await figures(gateways.on.url), await figures(gateways.dead.url)];
    const received = (await (await fetch(`${collector.url}/count`)).json()) as Record<string, { requests: number; bytes: number }>;
    console.log(
      `\nCollector up: ${onFigures.spans_started} spans started, ${onFigures.spans_exported} exported, ${onFigures.spans_dropped} dropped (queue full); ` +
        `the collector took ${received['/v1/traces']?.requests ?? 0} trace and ${received['/v1/metrics']?.requests ?? 0} metric exports.`,
    );
    console.log(
      `Collector down: ${deadFigures.spans_started} spans started, ${deadFigures.spans_dropped} dropped, ${deadFigures.spans_failed} lost in failed exports.`,
    );
    const worst = Math.min(...Object.values(results).flatMap((r) => [r.on_ratio, r.dead_ratio]));
    console.log(`Target: export on (collector up or down) ≥ ${TARGET}x export off: ${worst >= TARGET ? 'MET' : 'NOT MET'} (worst ${fmt(worst, 2)}x)`);
    const file = await writeResults('otel', {
      section: 'otel',
      date: new Date().toISOString(),
      environment: environmentInfo(),
      results,
      collector_up: onFigures,
      collector_down: deadFigures,
      collector_received: received,
    });
    console.log(`Results written to ${file}`);
  } finally {
    await stopAllServers();
  }
}
