// Rate-limit section: the cost of the rate_limit interceptor on the proxy path. Three gateways in front of
// the same simulated provider: without limits, with limits counted in memory, and with limits counted in
// Redis (one Lua script per request). Limits are set high so every request is admitted and the work
// measured is the check itself. Measured alternately with the same conversation traffic; the figure is the
// throughput ratio limited / unlimited.

import { conversationRequests } from './lib/chat-request.js';
import { startServer, startServers, stopAllServers } from './lib/children.js';
import { benchDuration } from './lib/env.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { fmt, printTable } from './lib/table.js';
import { measureThroughput } from './lib/throughput.js';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';

const CONNECTIONS = 50;
const ROUNDS = 2;
/** Every limit kind at once, high enough never to refuse: a session check, a token check, a client check. */
const LIMITS = {
  per_session: { requests_per_minute: 1_000_000, tokens_per_hour: 1_000_000_000, max_requests: 1_000_000 },
  per_client: { key: 'credential', requests_per_minute: 10_000_000 },
};

export async function run(): Promise<void> {
  const duration = Math.max(3, Math.round(benchDuration() / 2));
  let redis: RedisServer | undefined;
  try {
    redis = await startRedis({ fresh: true });
    const simulator = await startServer('simulator', new URL('./servers/simulator.ts', import.meta.url));
    const gateway = new URL('./servers/gateway.ts', import.meta.url);
    const limiter = (config: Record<string, unknown>) => ({ BENCH_INTERCEPTORS: JSON.stringify([{ type: 'rate_limit', config: { ...LIMITS, ...config } }]) });
    const targets = await startServers([
      ['gateway', gateway, [simulator.url]],
      ['gateway+limits (memory)', gateway, [simulator.url], limiter({ backend: 'memory' })],
      ['gateway+limits (redis)', gateway, [simulator.url], limiter({ backend: 'redis', connection: redis.url, key_prefix: 'bench:' })],
    ]);
    const labels = ['none', 'memory', 'redis'] as const;
    console.log(`Traffic: 6-turn conversations, JSON and streamed, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${duration} s per gateway.`);
    console.log('Limits: session requests/minute, tokens/hour and max_requests, plus a per-credential requests/minute; none ever refuses.');
    const rows: string[][] = [];
    const results: Record<string, Record<string, number>> = {};
    for (const stream of [false, true]) {
      const rps: Record<string, number[]> = { none: [], memory: [], redis: [] };
      let refused = 0;
      for (const target of targets)
        await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: 10, duration: 1, warmup: 0 });
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, target] of targets.entries()) {
          const result = await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: CONNECTIONS, duration, warmup: 0 });
          rps[labels[i]].push(result.rps);
          refused += result.non2xx;
        }
      }
      if (refused > 0) throw new Error(`${refused} requests were not answered 200: the limits must admit everything here`);
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const [none, memory, viaRedis] = labels.map((label) => mean(rps[label]));
      const label = stream ? 'streaming' : 'JSON';
      results[label] = { none, memory, redis: viaRedis, memory_ratio: memory / none, redis_ratio: viaRedis / none };
      rows.push([label, fmt(none, 0), fmt(memory, 0), `${fmt((memory / none) * 100, 1)} %`, fmt(viaRedis, 0), `${fmt((viaRedis / none) * 100, 1)} %`]);
    }
    printTable(
      [
        { header: 'variant' },
        { header: 'no limits req/s', align: 'right' },
        { header: 'memory req/s', align: 'right' },
        { header: 'memory / none', align: 'right' },
        { header: 'redis req/s', align: 'right' },
        { header: 'redis / none', align: 'right' },
      ],
      rows,
    );
    const file = await writeResults('ratelimit', { section: 'ratelimit', date: new Date().toISOString(), environment: environmentInfo(), results });
    console.log(`Results written to ${file}`);
  } finally {
    await stopAllServers();
    await redis?.stop();
  }
}
