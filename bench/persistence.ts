// Persistence section: what a session store costs. (a) Throughput of the real gateway with each backend,
// measured in alternating rounds beside a gateway without persistence, so the ratio compares runs under
// the same machine load. (b) Detection latency in this process (no HTTP): a continuation decided from the
// engine's own index (local hit), one decided by an engine that never saw the conversation and has to ask
// the store (store hit: one round trip), and one store write. Redis and Postgres are real, fresh servers.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { conversationOf, type CanonicalMessage } from '../src/conversation/canonical.js';
import { DetectionEngine } from '../src/sessions/engine.js';
import { FileStore } from '../src/sessions/store/file-store.js';
import { MemoryStore } from '../src/sessions/store/memory-store.js';
import { PostgresStore } from '../src/sessions/store/postgres-store.js';
import { RedisStore } from '../src/sessions/store/redis-store.js';
import { StoreLink, type StoreMetrics } from '../src/sessions/store/store-link.js';
import type { SessionStore, SessionWrite, StoreLimits, StoredSession } from '../src/sessions/store/types.js';
import type { SessionMetrics, SessionRequest } from '../src/sessions/types.js';
import { assistant, user } from '../test/helpers/conversation.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres-server.js';
import { startRedis, type RedisServer } from '../test/helpers/redis-server.js';
import { conversationRequests } from './lib/chat-request.js';
import { startServer, startServers, stopAllServers, type ServerProcess } from './lib/children.js';
import { benchDuration } from './lib/env.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { summarize, type Summary } from './lib/stats.js';
import { fmt, fmtPercent, printTable, type Column } from './lib/table.js';
import { measureThroughput } from './lib/throughput.js';

type Backend = SessionStore['backend'];
const BACKENDS: Backend[] = ['memory', 'file', 'redis', 'postgres'];
const CONNECTIONS = 50;
const ROUNDS = 2;
const CONVERSATIONS = 2000;
const WARMUP = 200; // conversations measured first and discarded (JIT, connection pools, caches)
const PARTITION = 'Bearer sk-bench-0123456789abcdef';
const SECRET = 'bench-fleet-secret'; // every engine of a fleet hashes with the store's shared secret
const LIMITS: StoreLimits = { maxSessions: 100_000, ttlMs: 3_600_000 };
const quiet = { warn() {}, info() {} };

interface Servers {
  redis: RedisServer;
  postgres: PostgresServer;
  directory: string;
}

export async function run(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-bench-stores-'));
  // Started one after the other: had the second failed inside Promise.all, the first would be left running.
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  try {
    redis = await startRedis({ fresh: true });
    postgres = await startPostgres({ fresh: true });
    const servers = { redis, postgres, directory };
    const throughput = await measureAllThroughput(servers);
    await stopAllServers(); // the latency figures are taken on a machine without idle gateways around
    const latency = await measureAllLatency(servers);
    const file = await writeResults('persistence', {
      section: 'persistence',
      date: new Date().toISOString(),
      environment: environmentInfo(),
      throughput,
      latency,
    });
    console.log(`\nResults written to ${file}`);
  } finally {
    await stopAllServers();
    await redis?.stop();
    await postgres?.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// (a) Throughput through the gateway

/** `session.persistence` of each gateway; each store gets its own key prefix / schema / directory. */
function persistenceOf(backend: Backend, { redis, postgres, directory }: Servers): Record<string, string> {
  const settings = {
    memory: { enabled: false },
    file: { enabled: true, backend, connection: join(directory, 'gateway'), flush_interval: 1 },
    redis: { enabled: true, backend, connection: redis.url, key_prefix: 'bench-gateway:' },
    postgres: { enabled: true, backend, connection: postgres.url, schema: 'bench_gateway' },
  }[backend];
  return { BENCH_PERSISTENCE: JSON.stringify(settings) };
}

/** The gateway's own view after the load: its store traffic, and whether conversations were still grouped. */
interface GatewayFigures {
  persistence: StoreMetrics | null;
  continued: number;
  considered: number;
}

async function gatewayFigures(gateway: ServerProcess): Promise<GatewayFigures> {
  const response = await fetch(`${gateway.url}/metrics`, { headers: { accept: 'application/json' } });
  const body = (await response.json()) as { persistence: StoreMetrics | null; sessions: Omit<SessionMetrics, 'performance'> | null };
  return { persistence: body.persistence, continued: body.sessions?.decisions.continued ?? 0, considered: body.sessions?.requests_considered ?? 0 };
}

async function measureAllThroughput(servers: Servers) {
  const duration = Math.max(3, Math.round(benchDuration() / 2));
  const simulator = await startServer('simulator', new URL('./servers/simulator.ts', import.meta.url));
  const entry = new URL('./servers/gateway.ts', import.meta.url);
  const gateways = await startServers(BACKENDS.map((backend) => [`gateway+${backend}`, entry, [simulator.url, ''], persistenceOf(backend, servers)]));
  console.log(`Throughput: 6-turn conversations, JSON and streamed, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${duration} s per gateway.`);

  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const results: Record<string, Record<Backend, { rps: number; vs_memory: number; failed: number }>> = {};
  for (const stream of [false, true]) {
    const rps = BACKENDS.map(() => [] as number[]);
    const failed = BACKENDS.map(() => 0); // errors + timeouts + non-2xx, all rounds
    for (const target of gateways)
      await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: 10, duration: 1, warmup: 0 });
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, target] of gateways.entries()) {
        const result = await measureThroughput({ url: target.url, requests: conversationRequests(stream), connections: CONNECTIONS, duration, warmup: 0 });
        rps[i].push(result.rps);
        failed[i] += result.errors + result.timeouts + result.non2xx;
      }
    }
    const memory = mean(rps[0]);
    results[stream ? 'streaming' : 'JSON'] = Object.fromEntries(
      BACKENDS.map((backend, i) => [backend, { rps: mean(rps[i]), vs_memory: mean(rps[i]) / memory, failed: failed[i] }]),
    ) as Record<Backend, { rps: number; vs_memory: number; failed: number }>;
  }

  const figures = await Promise.all(gateways.map(gatewayFigures));
  printTable(
    [
      { header: 'backend' },
      { header: 'JSON req/s', align: 'right' },
      { header: 'vs memory', align: 'right' },
      { header: 'stream req/s', align: 'right' },
      { header: 'vs memory', align: 'right' },
      { header: 'failed req', align: 'right' },
    ],
    BACKENDS.map((backend) => {
      const [json, sse] = [results.JSON[backend], results.streaming[backend]];
      return [backend, fmt(json.rps, 0), fmtPercent(json.vs_memory), fmt(sse.rps, 0), fmtPercent(sse.vs_memory), String(json.failed + sse.failed)];
    }),
  );
  // A lone gateway knows every conversation it serves, and first turns carry no reply to look up: it asks the
  // store only about continuations it does not know, so 0 lookups is expected; each reply is one save.
  console.log(
    '\nGateway counters after the load (continued = share of requests that continued a session; the rest are first turns; store ms = lookups and saves):',
  );
  printTable(
    [
      { header: 'backend' },
      { header: 'continued', align: 'right' },
      { header: 'lookups', align: 'right' },
      { header: 'hits', align: 'right' },
      { header: 'saves', align: 'right' },
      { header: 'dropped', align: 'right' },
      { header: 'errors', align: 'right' },
      { header: 'fallbacks', align: 'right' },
      { header: 'saves/statement', align: 'right' },
      { header: 'store ms p99', align: 'right' },
    ],
    BACKENDS.map((backend, i) => {
      const { persistence: p, continued, considered } = figures[i];
      const cell = (value: number | undefined) => (p ? String(value) : '-');
      return [
        backend,
        fmtPercent(continued / considered),
        cell(p?.lookups),
        cell(p?.lookup_hits),
        cell(p?.saves),
        cell(p?.saves_dropped),
        cell(p?.errors),
        cell(p?.fallbacks),
        // Postgres group-commits saves: how many replies one statement wrote, on average.
        p?.save_batches ? fmt((p.save_batches.writes + p.save_batches.merged) / Math.max(1, p.save_batches.batches), 1) : '-',
        p ? fmt(p.latency_p99_ms, 2) : '-',
      ];
    }),
  );
  return {
    duration_s: duration,
    connections: CONNECTIONS,
    rounds: ROUNDS,
    results,
    gateways: Object.fromEntries(BACKENDS.map((backend, i) => [backend, figures[i]])),
  };
}

// ---------------------------------------------------------------------------------------------------
// (b) Detection latency, in this process

/**
 * The store as the engines see it. Tracks writes in flight, so nothing is measured while the link's
 * background writes are pending; keeps every write, to replay them for the save figure; and leaves
 * closing to run(), since both engines' links would otherwise close the one store they share.
 */
class WatchedStore implements SessionStore {
  readonly writes: SessionWrite[] = [];
  private readonly pending = new Set<Promise<void>>();
  constructor(readonly inner: SessionStore) {}
  get backend(): Backend {
    return this.inner.backend;
  }
  open = () => this.inner.open();
  sharedSecret = (candidate: string) => this.inner.sharedSecret(candidate);
  lookup = (keys: string[], now: number) => this.inner.lookup(keys, now);
  get = (key: string, now: number): Promise<StoredSession | undefined> => this.inner.get(key, now);
  delete = (key: string) => this.inner.delete(key);
  sweep = (now: number) => this.inner.sweep(now);
  list = (now: number, limit: number) => this.inner.list(now, limit);
  save(write: SessionWrite, now: number): Promise<void> {
    this.writes.push(write);
    const saving = this.inner.save(write, now);
    const done = () => void this.pending.delete(tracked);
    const tracked: Promise<void> = saving.then(done, done); // never rejects: failures are the link's to count
    this.pending.add(tracked);
    return saving;
  }
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
  async close(): Promise<void> {}
}

/** Prose-like text of `bytes` characters (as in bench/sessions.ts, so paragraph handling does real work). */
function filler(bytes: number, seed: string): string {
  const sentence = `The ${seed} service reads its configuration, validates every field and reports problems clearly. `;
  let text = '';
  while (text.length < bytes) text += text.length > 0 && text.length % 2000 < sentence.length ? `\n\n${sentence}` : sentence;
  return text.slice(0, bytes);
}

// 20 messages / ~10 KB per continuation, as the middle case of bench/sessions.ts.
const PER_MESSAGE = 512;
const SHARED = Array.from({ length: 18 }, (_, i) => filler(PER_MESSAGE, `m${i}`));
const replyText = (s: number) => `answer ${s}: ${filler(PER_MESSAGE, `a${s}`)}`;

/** Fresh message objects every call: the engine memoises sketches on them, a real request parses anew. */
function setupMessages(s: number): CanonicalMessage[] {
  return [...SHARED.map((text, i) => (i % 2 === 0 ? user(text) : assistant(text))), user(`question ${s}: ${filler(200, `q${s}`)}`)];
}
const request = (messages: CanonicalMessage[]): SessionRequest => ({ partition: PARTITION, conversation: conversationOf(messages) });
const continuation = (s: number) => request([...setupMessages(s), assistant(replyText(s)), user(`next ${s}`)]);
const micros = (since: number) => (performance.now() - since) * 1000;

interface LatencyResult {
  backend: Backend;
  local_hit: Summary;
  store_hit: Summary;
  save: Summary;
  /** Correctness: decisions that continued their session, out of CONVERSATIONS + WARMUP each. */
  continued: { local: number; store: number };
  store_link: StoreMetrics;
}

function openStore(backend: Backend, { redis, postgres, directory }: Servers): SessionStore {
  if (backend === 'memory') return new MemoryStore(LIMITS);
  if (backend === 'file') return new FileStore(LIMITS, { directory: join(directory, 'latency'), flushIntervalMs: 1000 });
  if (backend === 'redis') return new RedisStore(LIMITS, { connection: redis.url, keyPrefix: 'bench-latency:', commandTimeoutMs: 1000 });
  return new PostgresStore(LIMITS, { connection: postgres.url, schema: 'bench_latency' });
}

async function measureLatency(backend: Backend, servers: Servers): Promise<LatencyResult> {
  const store = openStore(backend, servers);
  try {
    await store.open();
    const watched = new WatchedStore(store);
    const config = configSchema.parse({ session: { max_sessions: LIMITS.maxSessions } }).session;
    const links = [0, 1].map(() => new StoreLink(watched, { timeoutMs: 1000, maxPendingWrites: 100_000, sweepEveryMs: 0, now: Date.now, log: quiet }));
    // Two gateways of one fleet: A records every conversation, B has never seen any of them.
    const [a, b] = links.map((link) => new DetectionEngine(config, { store: link, secret: SECRET }));
    const total = WARMUP + CONVERSATIONS;
    const samples = { local: [] as number[], store: [] as number[], save: [] as number[] };
    const continued = { local: 0, store: 0 };
    try {
      for (let s = 0; s < total; s++) {
        const decision = await a.decide(request(setupMessages(s)));
        a.recordReply(decision, { replies: [assistant(replyText(s))] });
      }
      await watched.settled();
      const writes = watched.writes.splice(0);

      for (let s = 0; s < total; s++) {
        const req = continuation(s);
        const started = performance.now();
        const pending = b.decide(req);
        const decision = await pending;
        samples.store.push(micros(started));
        if (!(pending instanceof Promise)) throw new Error(`${backend}: engine B decided conversation ${s} without asking the store`);
        if (decision.rule === 'continued') continued.store++;
      }
      for (let s = 0; s < total; s++) {
        const req = continuation(s);
        const started = performance.now();
        const decision = a.decide(req);
        samples.local.push(micros(started));
        if (decision instanceof Promise) throw new Error(`${backend}: engine A asked the store about conversation ${s} it recorded`);
        if (decision.rule === 'continued') continued.local++;
      }
      // One write at a time, awaited, straight to the store: the round trip a reply's write costs.
      for (const write of writes) {
        const started = performance.now();
        await store.save(write, Date.now());
        samples.save.push(micros(started));
      }
      if (continued.store !== total || continued.local !== total)
        throw new Error(`${backend}: not every continuation was continued (store ${continued.store}, local ${continued.local} of ${total})`);
      if (watched.writes.length > 0) throw new Error(`${backend}: ${watched.writes.length} writes during measurements`);
    } finally {
      await a.close();
      await b.close();
    }
    const summary = (values: number[]) => summarize(values.slice(WARMUP));
    return {
      backend,
      local_hit: summary(samples.local),
      store_hit: summary(samples.store),
      save: summary(samples.save),
      continued,
      store_link: links[1].metrics(),
    };
  } finally {
    await store.close();
  }
}

async function measureAllLatency(servers: Servers): Promise<LatencyResult[]> {
  const results: LatencyResult[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  // A discarded pass first: whichever backend went first would otherwise pay for JIT-compiling the
  // engine and store-link paths, and memory (first, and the baseline of the ratios) would look slower.
  await measureLatency('memory', servers);
  for (const backend of BACKENDS) {
    gc?.(); // garbage of the previous backend must not be collected during this one's samples
    results.push(await measureLatency(backend, servers));
  }
  const baseline = results[0].local_hit.p50;
  console.log(`\nDetection latency per request (µs), in-process, ${CONVERSATIONS} conversations of 20 messages / ~10 KB after ${WARMUP} warm-up ones.`);
  console.log('local hit = engine that recorded the previous reply; store hit = another engine, one store round trip; save = store.save() awaited.');
  printTable(
    ['backend', 'local p50', 'local p99', 'store hit p50', 'store hit p99', 'save p50', 'save p99', 'store hit / mem local p50'].map(
      (header, i): Column => ({ header, align: i === 0 ? 'left' : 'right' }),
    ),
    results.map((r) => [
      r.backend,
      fmt(r.local_hit.p50, 1),
      fmt(r.local_hit.p99, 1),
      fmt(r.store_hit.p50, 1),
      fmt(r.store_hit.p99, 1),
      fmt(r.save.p50, 1),
      fmt(r.save.p99, 1),
      `x${fmt(r.store_hit.p50 / baseline, 1)}`,
    ]),
  );
  console.log('\nCorrectness (continued / decided, warm-up included) and engine B store link counters:');
  printTable(
    ['backend', 'local continued', 'store continued', 'lookups', 'hits', 'restored', 'errors', 'fallbacks'].map(
      (header, i): Column => ({ header, align: i === 0 ? 'left' : 'right' }),
    ),
    results.map((r) => {
      const total = String(CONVERSATIONS + WARMUP);
      const m = r.store_link;
      return [
        r.backend,
        `${r.continued.local}/${total}`,
        `${r.continued.store}/${total}`,
        String(m.lookups),
        String(m.lookup_hits),
        String(m.restored),
        String(m.errors),
        String(m.fallbacks),
      ];
    }),
  );
  return results;
}
