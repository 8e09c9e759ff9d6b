// Production section: the gateway as users run it (trace files, a session store, per-session limits)
// beside the bare node:http + undici proxy, measured in the same run. Five gateways in front of one
// simulated provider, each in its own process with its own configuration: CLI defaults, + trace only,
// + file session store only, + per-session limits (memory) only, and all three together. Traffic: one-shot
// chats (every request a new session: the batch-job pattern), short or a 100 KB agent context, and for the
// production configuration also 6-turn conversations. Every row is measured against the bare proxy with
// the same traffic, in alternating rounds whose order rotates, so the machine's drift hits all alike.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { conversationRequests } from './lib/chat-request.js';
import { type ServerProcess, startServer, startServers, stopAllServers } from './lib/children.js';
import { benchDuration } from './lib/env.js';
import { oneShotBodySize, oneShotRequests } from './lib/one-shot-request.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { fmt, printTable } from './lib/table.js';
import { tracesOnDisk } from './lib/traces-on-disk.js';
import { measureThroughput, type ThroughputResult } from './lib/throughput.js';

const CONNECTIONS = 50;
/** Rounds per measured pair; the order of the pairs rotates each round. */
const ROUNDS = 4;

type Traffic = 'short' | 'agent' | 'conversation';
type GatewayKey = 'defaults' | 'trace' | 'file' | 'limits' | 'production';

const TRAFFIC_LABEL: Record<Traffic, string> = {
  short: 'short one-shot',
  agent: '100 KB agent one-shot',
  conversation: '6-turn conversations',
};

interface Row {
  key: string;
  label: string;
  gateway: GatewayKey;
  traffic: Traffic;
  /** The targets, as ratios to the bare proxy: JSON, SSE. */
  target?: { json: number; sse: number };
}

const ROWS: Row[] = [
  { key: 'defaults_short', label: 'CLI defaults, short one-shot', gateway: 'defaults', traffic: 'short' },
  { key: 'defaults_agent', label: 'CLI defaults, 100 KB agent one-shot', gateway: 'defaults', traffic: 'agent' },
  { key: 'trace', label: '+ trace interceptor only', gateway: 'trace', traffic: 'short' },
  { key: 'file', label: '+ file session store only', gateway: 'file', traffic: 'short' },
  { key: 'limits', label: '+ per-session limits (memory) only', gateway: 'limits', traffic: 'short' },
  { key: 'production_short', label: 'trace + file + limits, one-shot', gateway: 'production', traffic: 'short', target: { json: 0.75, sse: 0.7 } },
  {
    key: 'production_conversation',
    label: 'trace + file + limits, conversations',
    gateway: 'production',
    traffic: 'conversation',
    target: { json: 0.85, sse: 0.85 },
  },
];

/** Per-session requests/minute far above anything this machine can send: the check runs, nothing is refused. */
const LIMITS = { backend: 'memory', per_session: { requests_per_minute: 1_000_000 } };

const requestsFor = (traffic: Traffic, stream: boolean): autocannon.Request[] =>
  traffic === 'conversation' ? conversationRequests(stream) : oneShotRequests(traffic, stream);

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** One measured target × traffic pair: the bare proxy's, or a row's. */
interface Unit {
  key: string;
  target: ServerProcess;
  traffic: Traffic;
}

interface Measured {
  rps: number[];
  requests: number;
  errors: number;
  non2xx: number;
  /** Time spent after its measurements waiting for the gateway's trace queue to drain. */
  drain_ms: number;
}

type Figures = Record<string, number | boolean>;
interface GatewayMetrics {
  requests?: { total?: number; errors?: number };
  interceptors?: Record<string, Figures>;
  persistence?: unknown;
}

async function gatewayMetrics(url: string): Promise<GatewayMetrics> {
  return (await (await fetch(`${url}/metrics`)).json()) as GatewayMetrics;
}

/** Pause after each measurement so no server's leftover work bleeds into the next one: the file store flushes every 1 s. */
const SETTLE_MS = 1000;
/** At most this long waiting for a trace queue to drain after a measurement. */
const DRAIN_LIMIT_MS = 10_000;

/**
 * Lets `target` finish what the load left behind before the next measurement starts (on two cores, a
 * gateway still writing its queued traces would slow whatever is measured next): waits for its trace
 * queue to drain, if it has one, then SETTLE_MS. Returns the milliseconds spent draining.
 */
async function settle(target: ServerProcess, traced: boolean): Promise<number> {
  const started = performance.now();
  while (traced && performance.now() - started < DRAIN_LIMIT_MS) {
    const queued = (await gatewayMetrics(target.url)).interceptors?.trace?.traces_queued;
    if (!queued) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const drained = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return drained;
}

export async function run(): Promise<void> {
  const startedAt = performance.now();
  const duration = Math.max(2, Math.round(benchDuration() / 5));
  const root = await mkdtemp(join(tmpdir(), 'cylestio-bench-production-'));
  const traceDirs = { trace: join(root, 'traces-trace'), production: join(root, 'traces-production') };
  const fileStore = (name: string) => ({
    BENCH_PERSISTENCE: JSON.stringify({ enabled: true, backend: 'file', connection: join(root, name), flush_interval: 1 }),
  });
  const limits = { BENCH_INTERCEPTORS: JSON.stringify([{ type: 'rate_limit', config: LIMITS }]) };
  try {
    const simulator = await startServer('simulator', new URL('./servers/simulator.ts', import.meta.url));
    const gatewayEntry = new URL('./servers/gateway.ts', import.meta.url);
    const [bare, defaults, trace, file, limited, production] = await startServers([
      ['bare-proxy', new URL('./servers/bare-proxy.ts', import.meta.url), [simulator.url]],
      ['gateway (defaults)', gatewayEntry, [simulator.url]],
      ['gateway+trace', gatewayEntry, [simulator.url, traceDirs.trace]],
      ['gateway+file store', gatewayEntry, [simulator.url], fileStore('store-file')],
      ['gateway+limits', gatewayEntry, [simulator.url], limits],
      ['gateway (production)', gatewayEntry, [simulator.url, traceDirs.production], { ...fileStore('store-production'), ...limits }],
    ]);
    const gateways: Record<GatewayKey, ServerProcess> = { defaults, trace, file, limits: limited, production };
    const trafficUsed = [...new Set(ROWS.map((row) => row.traffic))];
    const units: Unit[] = [
      ...trafficUsed.map((traffic) => ({ key: `bare_${traffic}`, target: bare, traffic })),
      ...ROWS.map((row) => ({ key: row.key, target: gateways[row.gateway], traffic: row.traffic })),
    ];
    const perStream = units.length * ROUNDS * (duration + SETTLE_MS / 1000);
    console.log(
      `Traffic: one-shot chats (a new session per request; short ${oneShotBodySize('short', false)} B, agent ${oneShotBodySize('agent', false)} B, ` +
        `100 messages) and 6-turn conversations; JSON and streamed; ${CONNECTIONS} connections; ${ROUNDS} rounds of ${duration} s per pair, ` +
        `order rotating, ${SETTLE_MS / 1000} s pause after each (and any trace queue drained) (${units.length} pairs, about ${Math.round((2 * perStream) / 60)} min).`,
    );
    console.log('Production = trace interceptor + file session store (flush every 1 s) + rate_limit per_session requests_per_minute 1,000,000 in memory.');

    const measured: Record<'json' | 'sse', Record<string, Measured>> = { json: {}, sse: {} };
    for (const stream of [false, true]) {
      const column = stream ? 'sse' : 'json';
      for (const unit of units) {
        measured[column][unit.key] = { rps: [], requests: 0, errors: 0, non2xx: 0, drain_ms: 0 };
        await measureThroughput({ url: unit.target.url, requests: requestsFor(unit.traffic, stream), connections: 10, duration: 1, warmup: 0 });
        await settle(unit.target, unit.target === trace || unit.target === production);
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate by a stride so each round starts elsewhere in the list (units.length rounds would cover all).
        const shift = Math.round((round * units.length) / ROUNDS);
        const order = units.map((_, i) => units[(i + shift) % units.length]);
        for (const unit of order) {
          const result: ThroughputResult = await measureThroughput({
            url: unit.target.url,
            requests: requestsFor(unit.traffic, stream),
            connections: CONNECTIONS,
            duration,
            warmup: 0,
          });
          const m = measured[column][unit.key];
          m.rps.push(result.rps);
          m.requests += result.requests;
          m.errors += result.errors + result.timeouts;
          m.non2xx += result.non2xx;
          m.drain_ms += await settle(unit.target, unit.target === trace || unit.target === production);
        }
      }
    }

    // Ratio of the means, and the spread of the per-round ratios (each beside the bare proxy of the same round).
    const ratioOf = (column: 'json' | 'sse', row: Row) => {
      const own = measured[column][row.key].rps;
      const base = measured[column][`bare_${row.traffic}`].rps;
      const perRound = own.map((rps, i) => rps / base[i]);
      return { rps: mean(own), ratio: mean(own) / mean(base), min: Math.min(...perRound), max: Math.max(...perRound) };
    };
    const cell = (r: { ratio: number; min: number; max: number }) => `${fmt(r.ratio, 2)}x (${fmt(r.min, 2)}–${fmt(r.max, 2)})`;
    const tableRows: string[][] = trafficUsed.map((traffic) => [
      `bare proxy, ${TRAFFIC_LABEL[traffic]}`,
      fmt(mean(measured.json[`bare_${traffic}`].rps), 0),
      '1.00x',
      fmt(mean(measured.sse[`bare_${traffic}`].rps), 0),
      '1.00x',
      '',
    ]);
    const results: Record<string, unknown> = {};
    const verdicts: string[] = [];
    for (const row of ROWS) {
      const [json, sse] = [ratioOf('json', row), ratioOf('sse', row)];
      const target = row.target ? `≥ ${fmt(row.target.json, 2)}x / ≥ ${fmt(row.target.sse, 2)}x` : '';
      tableRows.push([row.label, fmt(json.rps, 0), cell(json), fmt(sse.rps, 0), cell(sse), target]);
      results[row.key] = { label: row.label, traffic: row.traffic, json, sse, target: row.target ?? null };
      if (row.target) {
        const met = json.ratio >= row.target.json && sse.ratio >= row.target.sse;
        verdicts.push(`${row.label}: ${met ? 'MET' : 'NOT MET'} (JSON ${fmt(json.ratio, 2)}x, SSE ${fmt(sse.ratio, 2)}x)`);
      }
    }
    printTable(
      [
        { header: 'configuration' },
        { header: 'JSON req/s', align: 'right' },
        { header: 'JSON vs bare (round range)', align: 'right' },
        { header: 'SSE req/s', align: 'right' },
        { header: 'SSE vs bare (round range)', align: 'right' },
        { header: 'target JSON / SSE', align: 'right' },
      ],
      tableRows,
    );
    console.log(`\nTargets (issue): ${verdicts.join('; ')}`);

    const failures = Object.entries(measured).flatMap(([column, byKey]) =>
      Object.entries(byKey)
        .filter(([, m]) => m.errors + m.non2xx > 0)
        .map(([key, m]) => `${key} ${column}: ${m.errors} errors/timeouts, ${m.non2xx} non-2xx`),
    );
    console.log(failures.length > 0 ? `Failed requests: ${failures.join('; ')}` : 'Every request was answered 200.');

    // Traces: what the interceptor wrote against what the gateway served (warm-ups included), read while
    // the gateways still run, so a trace still queued is not counted as written.
    const traces: Record<string, unknown> = {};
    for (const key of ['trace', 'production'] as const) {
      const metrics = await gatewayMetrics(gateways[key].url);
      const figures = metrics.interceptors?.trace ?? {};
      const files = await tracesOnDisk(traceDirs[key]);
      const served = metrics.requests?.total ?? 0;
      const runs = ROWS.filter((row) => row.gateway === key).flatMap((row) => [measured.json[row.key], measured.sse[row.key]]);
      const drainMs = runs.reduce((sum, m) => sum + m.drain_ms, 0) / (runs.length * ROUNDS);
      traces[key] = { requests: served, files, drain_ms_per_measurement: drainMs, ...figures };
      console.log(
        `Traces, ${key === 'trace' ? 'trace only' : 'production'}: ${files} on disk for ${served} requests (${fmt((files / served) * 100, 1)} %); ` +
          `interceptor figures: ${figures.traces_written ?? '-'} written, ${figures.traces_dropped ?? '-'} dropped (queue full), ` +
          `${figures.traces_failed ?? '-'} failed, ${figures.traces_queued ?? '-'} still queued; ` +
          `its queue took ${fmt(drainMs / 1000, 1)} s on average to drain after a ${duration} s measurement.`,
      );
    }
    const persistence = {
      file: (await gatewayMetrics(file.url)).persistence ?? null,
      production: (await gatewayMetrics(production.url)).persistence ?? null,
    };

    const total = (performance.now() - startedAt) / 1000;
    console.log(`Section time: ${fmt(total, 1)} s.`);
    const out = await writeResults('production', {
      section: 'production',
      date: new Date().toISOString(),
      environment: environmentInfo(),
      connections: CONNECTIONS,
      rounds: ROUNDS,
      duration_s: duration,
      body_bytes: { short: oneShotBodySize('short', false), agent: oneShotBodySize('agent', false) },
      results,
      bare: Object.fromEntries(
        trafficUsed.map((traffic) => [traffic, { json: mean(measured.json[`bare_${traffic}`].rps), sse: mean(measured.sse[`bare_${traffic}`].rps) }]),
      ),
      measurements: measured,
      traces,
      persistence,
      section_seconds: total,
    });
    console.log(`Results written to ${out}`);
  } finally {
    await stopAllServers();
    await rm(root, { recursive: true, force: true });
  }
}
