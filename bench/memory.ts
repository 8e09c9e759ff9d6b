// Memory section: what the gateway holds, through HTTP, as a whole process.
//
// 1. Scale: a gateway with CLI defaults (sessions up to 100,000) is filled with live 10-message sessions
//    (one request each, carrying 9 messages; the reply is the 10th). At 1,000, 10,000 and 100,000 sessions
//    it reports RSS and live heap (after a full collection in the child) and the sequential request time,
//    interleaved with the bare proxy so the machine's drift cancels out: bytes per live session, and
//    whether request time stays flat as sessions grow.
// 2. Soak: the production configuration (trace + file store + per-session limits) under one-shot traffic at
//    30 connections, beside the same configuration without traces, in alternating rounds: RSS at start-up,
//    after the load and its live heap; traces on disk against requests served; throughput with traces on
//    against off.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { CHAT_HEADERS, CHAT_PATH } from './lib/chat-request.js';
import { type ServerProcess, startServer, startServers, stopAllServers } from './lib/children.js';
import { benchDuration } from './lib/env.js';
import { oneShotRequests } from './lib/one-shot-request.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { measureSequentialInterleaved, type SequentialOptions } from './lib/sequential.js';
import { fmt, printTable } from './lib/table.js';
import { tracesOnDisk } from './lib/traces-on-disk.js';

const SCALE_POINTS = [1_000, 10_000, 100_000];
const FILL_CONNECTIONS = 50;
const PROBES = 400;
const SOAK_CONNECTIONS = 30;
const SOAK_ROUNDS = 3;
const MB = 1024 * 1024;

let sessionsBuilt = 0;
const RUN = Math.random().toString(36).slice(2, 10);

/** A 9-message history nobody sent before: the gateway opens a session for it, and the reply makes 10 messages. */
function tenMessageBody(): string {
  const n = ++sessionsBuilt;
  const messages: { role: string; content: string }[] = [];
  for (let turn = 0; turn < 5; turn++) {
    messages.push({ role: 'user', content: `Session ${RUN}-${n}, turn ${turn}: what is the status of ticket ${n * 10 + turn}?` });
    if (turn < 4) messages.push({ role: 'assistant', content: `Ticket ${n * 10 + turn} is waiting for review by the billing team.` });
  }
  return JSON.stringify({ model: 'gpt-4o', messages });
}

/** Sends `count` new 10-message sessions to `url`, 50 at a time. */
async function fill(url: string, count: number): Promise<void> {
  if (count <= 0) return;
  // `amount` (stop after that many requests) is an autocannon option its typings lack.
  const options = {
    url,
    connections: FILL_CONNECTIONS,
    amount: count,
    requests: [{ method: 'POST', path: CHAT_PATH, headers: CHAT_HEADERS, setupRequest: (req: autocannon.Request) => ({ ...req, body: tenMessageBody() }) }],
  } as autocannon.Options;
  const result = await autocannon(options);
  if (result.errors + result.timeouts + result.non2xx > 0) throw new Error(`filling sessions: ${result.errors} errors, ${result.non2xx} non-2xx`);
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

interface Metrics {
  requests?: { total?: number };
  sessions?: { active_count?: number };
  interceptors?: Record<string, Record<string, number | boolean>>;
}

async function metricsOf(target: ServerProcess): Promise<Metrics> {
  return (await (await fetch(`${target.url}/metrics`)).json()) as Metrics;
}

function sequentialProbe(target: ServerProcess): SequentialOptions {
  return {
    url: target.url,
    path: CHAT_PATH,
    headers: CHAT_HEADERS,
    nextBody: tenMessageBody,
    count: PROBES,
    warmup: 20,
    verify: (status) => (status === 200 ? null : `status ${status}`),
  };
}

interface ScalePoint {
  sessions: number;
  rss_bytes: number;
  heap_used_bytes: number;
  /** Sequential request time, gateway minus bare proxy, p50 ms. */
  overhead_p50_ms: number;
  gateway_p50_ms: number;
  bare_p50_ms: number;
}

async function scale(simulatorUrl: string): Promise<{ points: ScalePoint[]; start_rss_bytes: number }> {
  const [bare, gateway] = await startServers([
    ['bare-proxy', new URL('./servers/bare-proxy.ts', import.meta.url), [simulatorUrl]],
    ['gateway (defaults, 100,000 sessions)', new URL('./servers/gateway.ts', import.meta.url), [simulatorUrl], { BENCH_MAX_SESSIONS: '100000' }],
  ]);
  const startRss = (await gateway.memory()).rss;
  const points: ScalePoint[] = [];
  let live = 0;
  for (const target of SCALE_POINTS) {
    // The probes add sessions too: fill up to the point, counting them.
    await fill(gateway.url, target - live);
    live = target;
    const memory = await gateway.memory();
    const [gw, base] = await measureSequentialInterleaved([sequentialProbe(gateway), sequentialProbe(bare)]);
    live += PROBES + 20;
    const active = (await metricsOf(gateway)).sessions?.active_count ?? 0;
    if (active < target) throw new Error(`expected at least ${target} live sessions, the gateway holds ${active}`);
    points.push({
      sessions: target,
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed + memory.arrayBuffers,
      overhead_p50_ms: gw.total.p50 - base.total.p50,
      gateway_p50_ms: gw.total.p50,
      bare_p50_ms: base.total.p50,
    });
    console.log(`  ${target} sessions: RSS ${fmt(memory.rss / MB, 1)} MB, live heap ${fmt((memory.heapUsed + memory.arrayBuffers) / MB, 1)} MB`);
  }
  await bare.stop();
  await gateway.stop();
  return { points, start_rss_bytes: startRss };
}

interface SoakSide {
  rps: number[];
  start_rss_bytes: number;
  end_rss_bytes: number;
  live_heap_bytes: number;
  requests_served: number;
  traces_on_disk?: number;
  traces?: Record<string, number | boolean>;
}

async function soak(simulatorUrl: string, root: string): Promise<{ on: SoakSide; off: SoakSide; round_s: number }> {
  const roundSeconds = Math.max(2, Math.round((benchDuration() * 2) / 3));
  const traceDirectory = join(root, 'traces');
  const env = (store: string) => ({
    BENCH_PERSISTENCE: JSON.stringify({ enabled: true, backend: 'file', connection: join(root, store), flush_interval: 1 }),
    BENCH_INTERCEPTORS: JSON.stringify([{ type: 'rate_limit', config: { backend: 'memory', per_session: { requests_per_minute: 1_000_000 } } }]),
  });
  const gatewayEntry = new URL('./servers/gateway.ts', import.meta.url);
  const [on, off] = await startServers([
    ['gateway (production)', gatewayEntry, [simulatorUrl, traceDirectory], env('store-on')],
    ['gateway (production, traces off)', gatewayEntry, [simulatorUrl], env('store-off')],
  ]);
  const sides = new Map<ServerProcess, SoakSide>();
  for (const target of [on, off]) {
    sides.set(target, { rps: [], start_rss_bytes: await rssOf(target.pid), end_rss_bytes: 0, live_heap_bytes: 0, requests_served: 0 });
  }
  const requests = oneShotRequests('short', false);
  for (let round = 0; round < SOAK_ROUNDS; round++) {
    for (const target of round % 2 === 0 ? [on, off] : [off, on]) {
      const result = await autocannon({ url: target.url, connections: SOAK_CONNECTIONS, duration: roundSeconds, requests });
      if (result.errors + result.timeouts + result.non2xx > 0) throw new Error(`soak: ${result.errors} errors, ${result.non2xx} non-2xx`);
      sides.get(target)!.rps.push(result.requests.average);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  for (const [target, side] of sides) {
    side.end_rss_bytes = await rssOf(target.pid);
    const memory = await target.memory();
    side.live_heap_bytes = memory.heapUsed + memory.arrayBuffers;
    const metrics = await metricsOf(target);
    side.requests_served = metrics.requests?.total ?? 0;
    const traces = metrics.interceptors?.trace;
    if (traces) side.traces = traces as Record<string, number | boolean>;
  }
  // Stopping flushes what is still queued: the count on disk is then final.
  await on.stop();
  await off.stop();
  const onSide = sides.get(on)!;
  onSide.traces_on_disk = await tracesOnDisk(traceDirectory);
  return { on: onSide, off: sides.get(off)!, round_s: roundSeconds };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export async function run(): Promise<void> {
  const startedAt = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'cylestio-bench-memory-'));
  try {
    const simulator = await startServer('simulator', new URL('./servers/simulator.ts', import.meta.url));
    console.log(
      `Scale: live 10-message sessions (one request of 9 messages each), ${FILL_CONNECTIONS} connections; ${PROBES} sequential probes per point beside the bare proxy.`,
    );
    const scaled = await scale(simulator.url);
    const first = scaled.points[0];
    const last = scaled.points[scaled.points.length - 1];
    const perSession = (last.rss_bytes - first.rss_bytes) / (last.sessions - first.sessions);
    const heapPerSession = (last.heap_used_bytes - first.heap_used_bytes) / (last.sessions - first.sessions);
    printTable(
      [
        { header: 'live sessions', align: 'right' },
        { header: 'RSS MB', align: 'right' },
        { header: 'live heap MB', align: 'right' },
        { header: 'gateway p50 ms', align: 'right' },
        { header: 'bare p50 ms', align: 'right' },
        { header: 'overhead p50 ms', align: 'right' },
      ],
      scaled.points.map((p) => [
        String(p.sessions),
        fmt(p.rss_bytes / MB, 1),
        fmt(p.heap_used_bytes / MB, 1),
        fmt(p.gateway_p50_ms, 3),
        fmt(p.bare_p50_ms, 3),
        fmt(p.overhead_p50_ms, 3),
      ]),
    );
    console.log(
      `Per live session from ${first.sessions} to ${last.sessions}: ${fmt(perSession, 0)} B of RSS, ${fmt(heapPerSession, 0)} B of live heap ` +
        `(target ≤ 512 B of RSS); request overhead p50 ${fmt(first.overhead_p50_ms, 3)} ms → ${fmt(last.overhead_p50_ms, 3)} ms.`,
    );

    console.log(`\nSoak: production configuration, one-shot short chats, ${SOAK_CONNECTIONS} connections, traces on and off in alternating rounds.`);
    const soaked = await soak(simulator.url, root);
    const { on, off } = soaked;
    printTable(
      [
        { header: 'gateway' },
        { header: 'req/s', align: 'right' },
        { header: 'RSS start MB', align: 'right' },
        { header: 'RSS after MB', align: 'right' },
        { header: 'after / start', align: 'right' },
        { header: 'live heap MB', align: 'right' },
      ],
      [
        ['production, traces on', on],
        ['production, traces off', off],
      ].map(([label, side]) => {
        const s = side as SoakSide;
        return [
          label as string,
          fmt(mean(s.rps), 0),
          fmt(s.start_rss_bytes / MB, 1),
          fmt(s.end_rss_bytes / MB, 1),
          `${fmt(s.end_rss_bytes / s.start_rss_bytes, 2)}x`,
          fmt(s.live_heap_bytes / MB, 1),
        ];
      }),
    );
    const ratio = mean(on.rps) / mean(off.rps);
    const dropped = Number(on.traces?.traces_dropped ?? 0);
    console.log(
      `Traces on vs off: ${fmt(ratio, 2)}x (target ≥ 0.9x); ${on.traces_on_disk} traces on disk for ${on.requests_served} requests served ` +
        `(${dropped} dropped by the queue, ${on.traces?.traces_failed ?? 0} failed).`,
    );
    const total = (performance.now() - startedAt) / 1000;
    console.log(`Section time: ${fmt(total, 1)} s.`);
    const out = await writeResults('memory', {
      section: 'memory',
      date: new Date().toISOString(),
      environment: environmentInfo(),
      scale: { ...scaled, rss_bytes_per_session: perSession, heap_bytes_per_session: heapPerSession },
      soak: { ...soaked, traces_ratio: ratio },
      section_seconds: total,
    });
    console.log(`Results written to ${out}`);
  } finally {
    await stopAllServers();
    await rm(root, { recursive: true, force: true });
  }
}
