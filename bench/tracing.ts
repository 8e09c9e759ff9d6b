// Tracing section: the cost of the trace interceptor on the proxy path. Two gateways in front of the same
// simulated provider, one writing a trace file per exchange, measured alternately with the same
// conversation traffic; the figure is the throughput ratio traced / untraced (target: >= 90 %).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversationRequests } from './lib/chat-request.js';
import { startServer, startServers, stopAllServers } from './lib/children.js';
import { benchDuration } from './lib/env.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { fmt, printTable } from './lib/table.js';
import { measureThroughput } from './lib/throughput.js';
import { tracesOnDisk } from './lib/traces-on-disk.js';

const CONNECTIONS = 50;
const ROUNDS = 2;

export async function run(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-bench-traces-'));
  const duration = Math.max(3, Math.round(benchDuration() / 2));
  try {
    const simulator = await startServer('simulator', new URL('./servers/simulator.ts', import.meta.url));
    const [plain, traced] = await startServers([
      ['gateway', new URL('./servers/gateway.ts', import.meta.url), [simulator.url]],
      ['gateway+trace', new URL('./servers/gateway.ts', import.meta.url), [simulator.url, directory]],
    ]);
    console.log(`Traffic: 6-turn conversations, JSON and streamed, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${duration} s per gateway.`);
    const rows: string[][] = [];
    const results: Record<string, { off: number; on: number; ratio: number }> = {};
    for (const stream of [false, true]) {
      const rps = { off: [] as number[], on: [] as number[] };
      for (const target of [plain, traced])
        await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: 10, duration: 1, warmup: 0 });
      for (let round = 0; round < ROUNDS; round++) {
        for (const [key, target] of [
          ['off', plain],
          ['on', traced],
        ] as const) {
          const result = await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: CONNECTIONS, duration, warmup: 0 });
          rps[key].push(result.rps);
        }
      }
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const off = mean(rps.off);
      const on = mean(rps.on);
      const label = stream ? 'streaming' : 'JSON';
      results[label] = { off, on, ratio: on / off };
      rows.push([label, fmt(off, 0), fmt(on, 0), `${fmt((on / off) * 100, 1)} %`]);
    }
    printTable(
      [
        { header: 'variant' },
        { header: 'tracing off req/s', align: 'right' },
        { header: 'tracing on req/s', align: 'right' },
        { header: 'on / off', align: 'right' },
      ],
      rows,
    );
    const files = await tracesOnDisk(directory);
    console.log(`\n${files} traces on disk after the run (segments by default: complete lines).`);
    const worst = Math.min(...Object.values(results).map((r) => r.ratio));
    console.log(`Target: tracing costs at most 10 % of throughput: ${worst >= 0.9 ? 'MET' : 'NOT MET'} (worst ${fmt(worst * 100, 1)} %)`);
    const file = await writeResults('tracing', {
      section: 'tracing',
      date: new Date().toISOString(),
      environment: environmentInfo(),
      results,
      trace_files: files,
    });
    console.log(`Results written to ${file}`);
  } finally {
    await stopAllServers(); // the traced gateway flushes its queue as it stops; then its files can go
    await rm(directory, { recursive: true, force: true });
  }
}
