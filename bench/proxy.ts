// Section "proxy": what the gateway costs on top of the network hop. Three targets, same traffic:
//   direct  - the simulated provider itself (the floor),
//   bare    - a minimal node:http + undici proxy in front of it (the floor for any Node proxy),
//   gateway - the real gateway, sessions on.
// Each is measured for plain JSON and for SSE streaming, sequentially (latency) and with 50 connections
// (throughput). Servers run in child processes; the load generator runs here, alone on its event loop.
// The traffic is multi-turn conversations (lib/chat-request.ts): each client sends a first request, then
// continuations carrying the reply it received, 6 turns per conversation. For the gateway, the session
// ids of the sequential run are checked against the conversations sent: one session per conversation.

import { CHAT_HEADERS, CHAT_PATH, CONVERSATION_TURNS, ConversationClient, conversationBodySizes, conversationRequests } from './lib/chat-request.js';
import { startServer, startServers, type ServerProcess } from './lib/children.js';
import { benchDuration, benchSequential } from './lib/env.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { measureSequentialInterleaved, type ResponseHeaders, type SequentialResult } from './lib/sequential.js';
import { fmt, fmtDelta, fmtPercent, printTable } from './lib/table.js';
import { measureThroughput, type ThroughputResult } from './lib/throughput.js';

const TARGETS = ['direct', 'bare', 'gateway'] as const;
type TargetName = (typeof TARGETS)[number];

const VARIANTS = [
  { name: 'json', label: 'JSON', stream: false },
  { name: 'stream', label: 'streaming', stream: true },
] as const;
type VariantName = (typeof VARIANTS)[number]['name'];

const CONNECTIONS = 50;
const SEQUENTIAL_WARMUP = 200;
/** Load run against every target and variant before measuring anything (results discarded), so the
 *  first variant measured does not meet a colder JIT and emptier connection pools than the second. */
const PRIME = { connections: 10, duration: 1 };
/** Pause between load runs so closing sockets and a pending GC from one run do not land in the next. */
const SETTLE_MS = 500;

// Targets from the brief, shown next to the measured values.
const MIN_THROUGHPUT_VS_BARE = 0.8;
const MAX_OVERHEAD_P50_MS = 0.3;

/** Sanity check of the traffic: the gateway's `x-session-id` over the sequential run's responses. */
interface SessionCheck {
  conversations: number;
  responses: number;
  distinct_sessions: number;
  /** Conversations whose responses carried more than one session id (a continuation not placed). */
  split_conversations: number;
  /** Session ids seen in more than one conversation (conversations merged). */
  shared_sessions: number;
  /** Responses without the header. */
  missing: number;
  ok: boolean;
}

interface TargetResult {
  sequential: SequentialResult;
  throughput: ThroughputResult;
  /** Gateway only. */
  sessions?: SessionCheck;
}
type Results = Record<VariantName, Record<TargetName, TargetResult>>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks that a target really answers the benchmark request properly, so we never time error pages. */
function verifier(target: TargetName, stream: boolean) {
  return (status: number, headers: ResponseHeaders, body: Buffer): string | null => {
    if (status !== 200) return `status ${status}: ${body.toString('utf8').slice(0, 300)}`;
    if (target === 'gateway' && !headers['x-session-id']) return 'gateway response has no x-session-id header';
    const contentType = String(headers['content-type'] ?? '');
    const text = body.toString('utf8');
    if (stream) {
      if (!contentType.includes('text/event-stream')) return `content-type ${contentType}, expected text/event-stream`;
      const frames = text.split('\n\n').filter((f) => f.startsWith('data: '));
      if (frames.length < 3 || !text.endsWith('data: [DONE]\n\n')) return `incomplete SSE stream: ${text.slice(-200)}`;
      return null;
    }
    if (!contentType.includes('application/json')) return `content-type ${contentType}, expected application/json`;
    try {
      const reply = JSON.parse(text);
      if (typeof reply?.choices?.[0]?.message?.content !== 'string') return `unexpected reply: ${text.slice(0, 300)}`;
    } catch {
      return `invalid JSON reply: ${text.slice(0, 300)}`;
    }
    return null;
  };
}

/** Records the `x-session-id` of every response, per conversation (the sequential run's client). */
class SessionTally {
  private readonly byConversation = new Map<number, Set<string>>();
  private readonly conversationsOf = new Map<string, Set<number>>();
  private responses = 0;
  private missing = 0;

  record(conversation: number, headers: ResponseHeaders): void {
    this.responses++;
    const raw = headers['x-session-id'];
    const id = Array.isArray(raw) ? raw[0] : raw;
    if (!id) {
      this.missing++;
      return;
    }
    let ids = this.byConversation.get(conversation);
    if (!ids) this.byConversation.set(conversation, (ids = new Set()));
    ids.add(id);
    let conversations = this.conversationsOf.get(id);
    if (!conversations) this.conversationsOf.set(id, (conversations = new Set()));
    conversations.add(conversation);
  }

  check(conversations: number): SessionCheck {
    let split = 0;
    for (const ids of this.byConversation.values()) if (ids.size > 1) split++;
    let shared = 0;
    for (const owners of this.conversationsOf.values()) if (owners.size > 1) shared++;
    const distinct = this.conversationsOf.size;
    return {
      conversations,
      responses: this.responses,
      distinct_sessions: distinct,
      split_conversations: split,
      shared_sessions: shared,
      missing: this.missing,
      ok: distinct === conversations && split === 0 && shared === 0 && this.missing === 0,
    };
  }
}

function describeSessionCheck(c: SessionCheck): string {
  return (
    `${c.conversations} conversations sent, ${c.distinct_sessions} distinct sessions seen in ${c.responses} responses` +
    (c.ok
      ? ' (one session per conversation)'
      : `  !! expected one session per conversation: ${c.split_conversations} conversations split, ` +
        `${c.shared_sessions} sessions shared, ${c.missing} responses without x-session-id`)
  );
}

async function prime(urls: Record<TargetName, string>): Promise<void> {
  console.log(`  priming: ${PRIME.connections} connections x ${PRIME.duration} s per target and variant (not measured)`);
  for (const variant of VARIANTS) {
    for (const target of TARGETS) {
      await measureThroughput({
        url: urls[target],
        requests: conversationRequests(variant.stream),
        ...PRIME,
        warmup: 0,
      });
    }
  }
  await sleep(SETTLE_MS);
}

/** Several rounds of one target as one result: mean rate, worst p99, summed counts. */
function combineRuns(runs: ThroughputResult[]): ThroughputResult {
  const sum = (pick: (r: ThroughputResult) => number) => runs.reduce((total, r) => total + pick(r), 0);
  return {
    rps: sum((r) => r.rps) / runs.length,
    latency_p50: sum((r) => r.latency_p50) / runs.length,
    latency_p99: Math.max(...runs.map((r) => r.latency_p99)),
    requests: sum((r) => r.requests),
    duration_s: sum((r) => r.duration_s),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    non2xx: sum((r) => r.non2xx),
  };
}

async function measureAll(urls: Record<TargetName, string>, duration: number, sequential: number): Promise<Results> {
  const warmup = Math.min(2, Math.max(1, Math.round(duration / 5)));
  const results = {} as Results;
  for (const variant of VARIANTS) {
    const perTarget = {} as Record<TargetName, Partial<TargetResult>>;
    for (const target of TARGETS) perTarget[target] = {};

    // Latency first, on quiet servers (a throughput run leaves GC debt and pool churn behind), with the
    // three targets interleaved request by request so that machine drift cannot favour one of them.
    const clients = TARGETS.map(() => new ConversationClient(variant.stream));
    const tallies = TARGETS.map((target) => (target === 'gateway' ? new SessionTally() : null));
    const sequentialResults = await measureSequentialInterleaved(
      TARGETS.map((target, index) => ({
        url: urls[target],
        path: CHAT_PATH,
        headers: CHAT_HEADERS,
        nextBody: () => clients[index].nextBody(),
        received: (status: number, headers: ResponseHeaders, body: Buffer) => {
          tallies[index]?.record(clients[index].conversationId, headers);
          clients[index].received(status, body.toString('utf8'));
        },
        count: sequential,
        warmup: SEQUENTIAL_WARMUP,
        verify: verifier(target, variant.stream),
      })),
    );
    for (const [index, target] of TARGETS.entries()) {
      const seq = sequentialResults[index];
      perTarget[target].sequential = seq;
      console.log(
        `  ${variant.label.padEnd(9)} ${target.padEnd(7)} sequential x${sequential}: ` +
          `p50 ${fmt(seq.total.p50, 3)} ms, p99 ${fmt(seq.total.p99, 3)} ms, ttfb p50 ${fmt(seq.ttfb.p50, 3)} ms`,
      );
      const tally = tallies[index];
      if (tally) {
        const check = tally.check(clients[index].conversations);
        perTarget[target].sessions = check;
        console.log(`  ${variant.label.padEnd(9)} ${target.padEnd(7)} sessions: ${describeSessionCheck(check)}`);
      }
    }
    // Throughput in alternating rounds (direct, bare, gateway, direct, …): on a shared machine whose speed
    // drifts, one long run per target would fold the drift into the ratios; rounds spread it evenly.
    const rounds = Math.max(1, Math.min(3, Math.floor(duration / 4)));
    const perRound = Math.max(2, Math.round(duration / rounds));
    const runs = Object.fromEntries(TARGETS.map((target) => [target, [] as ThroughputResult[]])) as Record<TargetName, ThroughputResult[]>;
    for (let round = 0; round < rounds; round++) {
      for (const target of TARGETS) {
        await sleep(SETTLE_MS);
        runs[target].push(
          await measureThroughput({
            url: urls[target],
            requests: conversationRequests(variant.stream),
            connections: CONNECTIONS,
            duration: perRound,
            warmup: round === 0 ? warmup : 0,
          }),
        );
      }
    }
    for (const target of TARGETS) {
      const tp = combineRuns(runs[target]);
      perTarget[target].throughput = tp;
      const problems = tp.errors + tp.non2xx + tp.timeouts;
      console.log(
        `  ${variant.label.padEnd(9)} ${target.padEnd(7)} ${CONNECTIONS} connections x ${rounds} x ${perRound}s: ` +
          `${fmt(tp.rps, 0)} req/s, p99 ${fmt(tp.latency_p99, 0)} ms` +
          (problems ? `  !! errors ${tp.errors}, timeouts ${tp.timeouts}, non-2xx ${tp.non2xx}` : ''),
      );
    }
    results[variant.name] = perTarget as Record<TargetName, TargetResult>;
  }
  return results;
}

function printResultsTable(results: Results): void {
  const rows: string[][] = [];
  for (const variant of VARIANTS) {
    const bare = results[variant.name].bare.throughput.rps;
    for (const target of TARGETS) {
      const { sequential: s, throughput: t } = results[variant.name][target];
      rows.push([
        variant.label,
        target,
        fmt(s.total.p50, 3),
        fmt(s.total.p99, 3),
        variant.stream ? fmt(s.ttfb.p50, 3) : '',
        variant.stream ? fmt(s.ttfb.p99, 3) : '',
        fmt(t.rps, 0),
        fmtPercent(t.rps / bare),
        fmt(t.latency_p99, 0),
        String(t.errors + t.timeouts + t.non2xx),
      ]);
    }
  }
  printTable(
    [
      { header: 'variant' },
      { header: 'target' },
      { header: 'seq p50 ms', align: 'right' },
      { header: 'seq p99 ms', align: 'right' },
      { header: 'ttfb p50 ms', align: 'right' },
      { header: 'ttfb p99 ms', align: 'right' },
      { header: 'req/s', align: 'right' },
      { header: 'vs bare', align: 'right' },
      { header: `p99 ms @${CONNECTIONS}c`, align: 'right' },
      { header: 'errors', align: 'right' },
    ],
    rows,
  );
}

/** Derived figures: differences of percentiles (requests are not paired, so not percentiles of differences). */
function variantHeadline(r: Record<TargetName, TargetResult>) {
  const delta = (a: TargetName, b: TargetName) => ({
    p50: r[a].sequential.total.p50 - r[b].sequential.total.p50,
    p99: r[a].sequential.total.p99 - r[b].sequential.total.p99,
  });
  return {
    overhead_ms: {
      gateway_vs_direct: delta('gateway', 'direct'),
      bare_vs_direct: delta('bare', 'direct'),
      gateway_vs_bare: delta('gateway', 'bare'),
    },
    throughput_ratio: {
      gateway_vs_bare: r.gateway.throughput.rps / r.bare.throughput.rps,
      gateway_vs_direct: r.gateway.throughput.rps / r.direct.throughput.rps,
      bare_vs_direct: r.bare.throughput.rps / r.direct.throughput.rps,
    },
  };
}

function headline(results: Results) {
  const perVariant: Record<VariantName, ReturnType<typeof variantHeadline>> = {
    json: variantHeadline(results.json),
    stream: variantHeadline(results.stream),
  };

  const s = results.stream;
  const ttfb = {
    gateway: { p50: s.gateway.sequential.ttfb.p50, p99: s.gateway.sequential.ttfb.p99 },
    direct: { p50: s.direct.sequential.ttfb.p50, p99: s.direct.sequential.ttfb.p99 },
    bare: { p50: s.bare.sequential.ttfb.p50, p99: s.bare.sequential.ttfb.p99 },
  };

  const targets = VARIANTS.flatMap((variant) => {
    const h = perVariant[variant.name];
    const ratio = h.throughput_ratio.gateway_vs_bare;
    const overhead = h.overhead_ms.gateway_vs_direct.p50;
    const bareHop = h.overhead_ms.bare_vs_direct.p50;
    return [
      {
        target: `${variant.label}: gateway throughput >= ${MIN_THROUGHPUT_VS_BARE * 100}% of bare proxy`,
        value: fmtPercent(ratio),
        met: ratio >= MIN_THROUGHPUT_VS_BARE,
      },
      {
        target: `${variant.label}: overhead p50 < ${MAX_OVERHEAD_P50_MS} ms (gateway - direct)`,
        // The bare proxy's own hop, for scale: it bounds what any Node proxy can reach on this machine.
        value: `${fmt(overhead, 3)} ms (bare proxy: ${fmt(bareHop, 3)} ms)`,
        met: overhead < MAX_OVERHEAD_P50_MS,
      },
    ];
  });
  const sessions = Object.fromEntries(VARIANTS.map((v) => [v.name, results[v.name].gateway.sessions])) as Record<VariantName, SessionCheck | undefined>;
  return { perVariant, ttfb_stream_ms: ttfb, sessions, targets };
}

function printHeadline(h: ReturnType<typeof headline>): void {
  console.log('\nOverhead, sequential, time to full response (difference of percentiles, ms):');
  const overheadRows: string[][] = [];
  for (const variant of VARIANTS) {
    const o = h.perVariant[variant.name].overhead_ms;
    for (const [label, d] of [
      ['gateway - direct', o.gateway_vs_direct],
      ['bare - direct', o.bare_vs_direct],
      ['gateway - bare', o.gateway_vs_bare],
    ] as const) {
      overheadRows.push([variant.label, label, fmtDelta(d.p50, 3), fmtDelta(d.p99, 3)]);
    }
  }
  printTable([{ header: 'variant' }, { header: 'pair' }, { header: 'p50', align: 'right' }, { header: 'p99', align: 'right' }], overheadRows);

  console.log(`\nThroughput ratios (${CONNECTIONS} connections):`);
  printTable(
    [
      { header: 'variant' },
      { header: 'gateway/bare', align: 'right' },
      { header: 'gateway/direct', align: 'right' },
      { header: 'bare/direct', align: 'right' },
    ],
    VARIANTS.map((variant) => {
      const r = h.perVariant[variant.name].throughput_ratio;
      return [variant.label, fmtPercent(r.gateway_vs_bare), fmtPercent(r.gateway_vs_direct), fmtPercent(r.bare_vs_direct)];
    }),
  );

  const t = h.ttfb_stream_ms;
  console.log(
    `\nStreaming time to first byte: gateway p50 ${fmt(t.gateway.p50, 3)} / p99 ${fmt(t.gateway.p99, 3)} ms, ` +
      `direct p50 ${fmt(t.direct.p50, 3)} / p99 ${fmt(t.direct.p99, 3)} ms ` +
      `(gateway ${fmtDelta(t.gateway.p50 - t.direct.p50, 3)} / ${fmtDelta(t.gateway.p99 - t.direct.p99, 3)} ms)`,
  );

  console.log('\nGateway sessions, sequential run (x-session-id per conversation):');
  for (const variant of VARIANTS) {
    const c = h.sessions[variant.name];
    if (c) console.log(`  ${variant.label.padEnd(9)} ${describeSessionCheck(c)}`);
  }

  console.log('\nTargets:');
  printTable(
    [{ header: 'result' }, { header: 'target' }, { header: 'measured', align: 'right' }],
    h.targets.map((x) => [x.met ? 'MET' : 'NOT MET', x.target, x.value]),
  );
}

export async function run(): Promise<void> {
  const duration = benchDuration();
  const sequential = benchSequential();
  const bodySizes = conversationBodySizes(false);
  const meanBodySize = bodySizes.reduce((a, b) => a + b, 0) / bodySizes.length;
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const env = environmentInfo();
  console.log(
    `Proxy benchmark: POST ${CHAT_PATH}, traffic: conversations of ${CONVERSATION_TURNS} turns ` +
      `(1/${CONVERSATION_TURNS} first requests, ${CONVERSATION_TURNS - 1}/${CONVERSATION_TURNS} continuations ` +
      `carrying the reply received), bodies ${kb(bodySizes[0])} (system + 1 message) to ` +
      `${kb(bodySizes[bodySizes.length - 1])} (system + ${2 * CONVERSATION_TURNS - 1} messages), mean ${kb(meanBodySize)}; ` +
      `${sequential} sequential requests after ${SEQUENTIAL_WARMUP} warm-up, ` +
      `${CONNECTIONS} connections x ${duration} s. Node ${env.node}, ${env.cpus} CPUs.`,
  );

  const servers: ServerProcess[] = [];
  try {
    const simulator = await startServer('simulator', new URL('./servers/simulator.ts', import.meta.url));
    servers.push(simulator);
    servers.push(
      ...(await startServers([
        ['bare-proxy', new URL('./servers/bare-proxy.ts', import.meta.url), [simulator.url]],
        ['gateway', new URL('./servers/gateway.ts', import.meta.url), [simulator.url]],
      ])),
    );
    const [, bare, gateway] = servers;
    const urls: Record<TargetName, string> = { direct: simulator.url, bare: bare.url, gateway: gateway.url };
    console.log(`  servers: direct ${urls.direct} | bare ${urls.bare} | gateway ${urls.gateway}\n`);

    await prime(urls);
    const results = await measureAll(urls, duration, sequential);

    console.log('');
    printResultsTable(results);
    const h = headline(results);
    printHeadline(h);
    if (env.cpus < 4) {
      console.log(
        `\nNote: ${env.cpus} CPUs. Under load the proxied targets run three processes (load generator, proxy, ` +
          'simulator) against two for direct, so ratios against direct understate what more cores would show.',
      );
    }

    const file = await writeResults('proxy', {
      section: 'proxy',
      date: new Date().toISOString(),
      environment: env,
      settings: {
        path: CHAT_PATH,
        traffic: 'conversations',
        conversation_turns: CONVERSATION_TURNS,
        body_bytes: Math.round(meanBodySize),
        body_bytes_per_turn: bodySizes,
        sequential_requests: sequential,
        sequential_warmup: SEQUENTIAL_WARMUP,
        prime: PRIME,
        connections: CONNECTIONS,
        duration_s: duration,
      },
      results,
      headline: h,
    });
    console.log(`\nResults written to ${file}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}
