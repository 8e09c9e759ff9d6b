// Traces CLI section: `cylestio-gateway sessions` on 100,000 trace files beside the guide's jq recipe on the
// same directory, in the same run. The files are rendered by the trace interceptor's own code
// (buildTrace/renderTrace) from synthetic exchanges, so their shape, key order and sizes are those of real
// traces: 5,000 conversations of 20 turns (OpenAI chat, Anthropic messages, Responses API; some streamed, a
// few failed), request bodies carrying the growing history (about 7 KB a file). Variants: the default
// command, the same with every file fully parsed, the same read in the main thread only (no workers), and
// the jq pipeline. Every variant's answer is checked (5,000 sessions, the same request count per session)
// before it is timed. A second directory has long-context traces (500 sessions × 20, bodies of
// 100+ KB), where reading only the small fields of a file is what pays.
// Run it alone with `BENCH_SECTIONS=traces-cli npm run bench` (about 10 minutes).

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExchangeRecord } from '../src/capture/record.js';
import { mulberry32 } from '../src/cli/sessions/aggregate.js';
import { traceFileName } from '../src/interceptors/trace/index.js';
import { buildTrace, renderTrace, type TraceShape } from '../src/interceptors/trace/trace-record.js';
import { headerRedactor } from '../src/telemetry/redact-headers.js';
import { compiled, repoRoot } from './lib/build.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { fmt, printTable } from './lib/table.js';

const SESSIONS = Number(process.env.BENCH_TRACE_SESSIONS ?? 5000);
const TURNS = 20;
const WRITES_IN_FLIGHT = 64;

const shape: TraceShape = { includeHeaders: true, includeBody: true, maxBodySize: 1024 * 1024, includeRawStream: false, redact: headerRedactor() };

/** Deterministic pseudo-random numbers (the CLI's own mulberry32): the same directory on every run. */
const random = mulberry32;

const WORDS =
  'the gateway session request reply token model stream trace latency user assistant budget cache index vector prompt tool result function schema answer question summary detail'.split(
    ' ',
  );
function sentence(rand: () => number, words: number): string {
  return Array.from({ length: words }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
}

type Wire = 'openai' | 'anthropic' | 'responses';

function requestHeaders(wire: Wire, length: number): Record<string, string> {
  return {
    host: '127.0.0.1:3000',
    connection: 'keep-alive',
    accept: 'application/json',
    'user-agent': wire === 'anthropic' ? 'Anthropic/JS 0.137.0' : 'OpenAI/JS 6.49.0',
    'x-stainless-lang': 'js',
    'x-stainless-runtime': 'node',
    ...(wire === 'anthropic' ? { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-secret' } : { authorization: 'Bearer sk-secret' }),
    'content-type': 'application/json',
    'content-length': String(length),
  };
}

/** One exchange of a conversation at `turn`, as the relay would hand it to the trace interceptor. */
function exchange(
  rand: () => number,
  wire: Wire,
  sessionId: string,
  turn: number,
  history: { user: string; reply: string }[],
  at: number,
  requestNo: number,
): ExchangeRecord {
  const user = history[turn].user;
  const reply = history[turn].reply;
  const stream = rand() < 0.3;
  const failed = rand() < 0.02;
  const model = wire === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o';
  const inputTokens = 40 + turn * 60 + Math.floor(rand() * 20);
  const outputTokens = 20 + Math.floor(rand() * 80);
  let requestBody: unknown;
  let responseBody: unknown;
  let path: string;
  if (wire === 'openai') {
    path = '/v1/chat/completions';
    const messages = [{ role: 'system', content: 'You are a helpful assistant for the gateway docs.' }];
    for (let i = 0; i < turn; i++) messages.push({ role: 'user', content: history[i].user }, { role: 'assistant', content: history[i].reply });
    messages.push({ role: 'user', content: user });
    requestBody = { model, messages, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) };
    responseBody = {
      id: `chatcmpl-${requestNo}`,
      object: 'chat.completion',
      created: Math.floor(at / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, finish_reason: 'stop' }],
      usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
    };
  } else if (wire === 'anthropic') {
    path = '/v1/messages';
    const messages: { role: string; content: unknown }[] = [];
    for (let i = 0; i < turn; i++)
      messages.push({ role: 'user', content: history[i].user }, { role: 'assistant', content: [{ type: 'text', text: history[i].reply }] });
    messages.push({ role: 'user', content: [{ type: 'text', text: user }] });
    requestBody = { model, max_tokens: 1024, system: 'You are a helpful assistant for the gateway docs.', messages, ...(stream ? { stream: true } : {}) };
    responseBody = {
      id: `msg_${requestNo}`,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: reply }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: outputTokens },
    };
  } else {
    path = '/v1/responses';
    const input: { role: string; content: string }[] = [];
    for (let i = 0; i < turn; i++) input.push({ role: 'user', content: history[i].user }, { role: 'assistant', content: history[i].reply });
    input.push({ role: 'user', content: user });
    requestBody = { model, instructions: 'You are a helpful assistant for the gateway docs.', input, ...(stream ? { stream: true } : {}) };
    responseBody = {
      id: `resp_${requestNo}`,
      object: 'response',
      created_at: Math.floor(at / 1000),
      status: 'completed',
      model,
      output: [
        { id: `msg_${requestNo}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: reply }] },
      ],
      usage: { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
    };
  }
  const requestBuffer = Buffer.from(JSON.stringify(requestBody));
  const usage = failed ? null : { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
  const status = failed ? (rand() < 0.5 ? 429 : 502) : 200;
  const errorBody = status === 429 ? { error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' } } : null;
  const durationMs = Math.round((200 + rand() * 2000 + turn * 15) * 100) / 100;
  return {
    requestId: `req_${requestNo.toString(16).padStart(32, '0')}`,
    timestamp: new Date(at).toISOString(),
    method: 'POST',
    path,
    operation: path.slice(4),
    provider: wire === 'anthropic' ? 'anthropic' : 'openai',
    model,
    stream,
    status,
    durationMs,
    ttfbMs: status === 502 ? null : Math.round(durationMs * 40) / 100,
    sessionId,
    isNewSession: turn === 0,
    sessionRule: turn === 0 ? 'first' : 'continued',
    usage,
    sessionUsage: { requests: turn + 1, input_tokens: inputTokens * (turn + 1), output_tokens: outputTokens * (turn + 1) },
    failure: status === 502 ? 'unreachable' : null,
    request: { headers: requestHeaders(wire, requestBuffer.length), body: requestBuffer, json: true },
    response: {
      headers: status === 502 ? {} : { 'content-type': stream ? 'text/event-stream' : 'application/json', date: new Date(at).toUTCString() },
      body: status === 502 ? null : Buffer.from(JSON.stringify(errorBody ?? responseBody)),
      truncated: false,
      reply: status === 200 ? { replies: [], usage, ...(stream ? { assembled: responseBody } : {}) } : null,
    },
  };
}

/**
 * Writes `sessions × TURNS` trace files into `directory`; returns the file count and total bytes. `scale`
 * multiplies the length of every message (1: about 7 KB a file on average; 25: about 120 KB, long contexts).
 */
export async function writeSyntheticTraces(directory: string, sessions: number, scale = 1): Promise<{ files: number; bytes: number }> {
  const rand = random(42);
  const start = Date.parse('2025-06-01T08:00:00.000Z');
  let bytes = 0;
  let files = 0;
  // A counter and one waiter, not Promise.race over a set: race attaches a handler to every pending write
  // on every call, which piles up over 100,000 files.
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const settle = () => {
    inFlight--;
    const resume = wake;
    wake = null;
    resume?.();
  };
  let failure: unknown = null;
  for (let s = 0; s < sessions; s++) {
    const wire: Wire = s % 10 < 6 ? 'openai' : s % 10 < 9 ? 'anthropic' : 'responses';
    const sessionId = `sess_${s.toString(36).padStart(20, '0')}`;
    const history = Array.from({ length: TURNS }, () => ({
      user: sentence(rand, (10 + Math.floor(rand() * 30)) * scale),
      reply: sentence(rand, (20 + Math.floor(rand() * 50)) * scale),
    }));
    let at = start + Math.floor(rand() * 86_400_000);
    for (let turn = 0; turn < TURNS; turn++) {
      at += 1000 + Math.floor(rand() * 60_000);
      const record = exchange(rand, wire, sessionId, turn, history, at, files);
      const text = renderTrace(buildTrace(record, shape));
      bytes += Buffer.byteLength(text);
      files++;
      inFlight++;
      writeFile(join(directory, traceFileName('trace', record.timestamp, record.requestId)), text).then(settle, (err: unknown) => {
        failure ??= err;
        settle();
      });
      while (inFlight >= WRITES_IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  if (failure) throw failure;
  return { files, bytes };
}

/** Wall time of a process; its stdout is kept (the answers are checked), its stderr too (for failures). */
function timed(command: string, args: string[]): Promise<{ seconds: number; stdout: string; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ seconds: (performance.now() - startedAt) / 1000, stdout: Buffer.concat(out).toString(), code, stderr }));
  });
}

/** Requests per session from the CLI's JSON and from `uniq -c` lines, to check both answered the same. */
function countsFromCli(json: string): Map<string, number> {
  const rows = JSON.parse(json) as { session_id: string | null; requests: number }[];
  return new Map(rows.map((row) => [String(row.session_id), row.requests]));
}
function countsFromJq(text: string): Map<string, number> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .map(([count, id]) => [id, Number(count)]),
  );
}

interface Variant {
  label: string;
  run(): Promise<{ seconds: number; stdout: string; code: number | null; stderr: string }>;
  counts(stdout: string): Map<string, number>;
}

interface Measured {
  label: string;
  seconds: number[];
  median: number;
}

/**
 * Checks that every variant finds `sessions` sessions and `files` requests with the same count per session
 * (one unmeasured pass each, which also warms the page cache), then times `rounds` alternating rounds.
 */
async function measure(variants: Variant[], sessions: number, files: number, rounds: number): Promise<Measured[]> {
  let reference: Map<string, number> | undefined;
  for (const variant of variants) {
    const result = await variant.run();
    if (result.code !== 0) throw new Error(`${variant.label} failed (${result.code}): ${result.stderr}`);
    const counts = variant.counts(result.stdout);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    if (counts.size !== sessions || total !== files)
      throw new Error(`${variant.label}: ${counts.size} sessions, ${total} requests; expected ${sessions}, ${files}`);
    reference ??= counts;
    for (const [id, count] of counts)
      if (reference.get(id) !== count) throw new Error(`${variant.label}: session ${id} has ${count} requests, the first variant ${reference.get(id)}`);
  }
  const times = variants.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, variant] of variants.entries()) {
      const result = await variant.run();
      if (result.code !== 0) throw new Error(`${variant.label} failed (${result.code}): ${result.stderr}`);
      times[i].push(result.seconds);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return variants.map((variant, i) => ({ label: variant.label, seconds: times[i], median: median(times[i]) }));
}

function report(measured: Measured[], files: number, rounds: number): void {
  const jq = measured[measured.length - 1].median;
  printTable(
    [{ header: 'command' }, { header: 'median s', align: 'right' }, { header: 'files/s', align: 'right' }, { header: 'jq time / this', align: 'right' }],
    measured.map((m) => [m.label, fmt(m.median, 2), fmt(files / m.median, 0), `${fmt(jq / m.median, 1)}x`]),
  );
  console.log(`Median of ${rounds} alternating rounds; all rounds (s):`);
  for (const m of measured) console.log(`  ${m.label}: ${m.seconds.map((t) => fmt(t, 2)).join(', ')}`);
}

function variants(directory: string, cliExtras: [string, string[]][]): Variant[] {
  // The CLI as the harness runs: compiled beside it (`npm run bench`), or the sources through tsx.
  const entry = compiled ? [fileURLToPath(new URL('../src/cli.js', import.meta.url))] : ['--import', 'tsx', fileURLToPath(new URL('src/cli.ts', repoRoot))];
  const cli = (extra: string[]) => () => timed(process.execPath, [...entry, 'sessions', '--traces', directory, '--json', ...extra]);
  return [
    ...cliExtras.map(([label, extra]): Variant => ({ label, run: cli(extra), counts: countsFromCli })),
    // The guide's recipe, through find/xargs because 100,000 names overflow argv.
    {
      label: 'jq -r .session_id | sort | uniq -c',
      run: () => timed('sh', ['-c', `find "${directory}" -name '*.json' -print0 | xargs -0 jq -r .session_id | sort | uniq -c`]),
      counts: countsFromJq,
    },
  ];
}

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_TRACE_ROUNDS ?? 3);
  const results: Record<string, unknown> = { section: 'traces-cli', date: new Date().toISOString(), environment: environmentInfo() };

  // 1. 100,000 files of chat-sized traces: the figure of the issue.
  let directory = await mkdtemp(join(tmpdir(), 'cylestio-bench-sessions-cli-'));
  try {
    const generatedAt = performance.now();
    const { files, bytes } = await writeSyntheticTraces(directory, SESSIONS);
    console.log(
      `Generated ${files} trace files (${SESSIONS} sessions × ${TURNS} requests, ${fmt(bytes / files / 1024, 1)} KB mean, ${fmt(bytes / 2 ** 20, 0)} MB) in ${fmt((performance.now() - generatedAt) / 1000, 1)} s.\n`,
    );
    const measured = await measure(
      variants(directory, [
        ['cylestio-gateway sessions --json', []],
        ['sessions --json --full-parse', ['--full-parse']],
        ['sessions --json --threads 0', ['--threads', '0']],
      ]),
      SESSIONS,
      files,
      rounds,
    );
    report(measured, files, rounds);
    console.log('Wall time of the whole process (Node start included), warm page cache; every variant found the same sessions and counts.');
    results.chat_sized = {
      files,
      bytes,
      sessions: SESSIONS,
      median_seconds: Object.fromEntries(measured.map((m) => [m.label, m.median])),
      seconds: Object.fromEntries(measured.map((m) => [m.label, m.seconds])),
    };
    results.speedup_vs_jq = measured[measured.length - 1].median / measured[0].median;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }

  // 2. Long contexts: bodies of 100+ KB, where parsing only the small fields pays.
  const largeSessions = Math.max(1, Math.round(SESSIONS / 10));
  directory = await mkdtemp(join(tmpdir(), 'cylestio-bench-sessions-cli-large-'));
  try {
    const { files, bytes } = await writeSyntheticTraces(directory, largeSessions, 25);
    console.log(
      `\nLong contexts: ${files} trace files (${largeSessions} sessions × ${TURNS} requests, ${fmt(bytes / files / 1024, 0)} KB mean, ${fmt(bytes / 2 ** 20, 0)} MB).\n`,
    );
    const measured = await measure(
      variants(directory, [
        ['cylestio-gateway sessions --json', []],
        ['sessions --json --full-parse', ['--full-parse']],
      ]),
      largeSessions,
      files,
      rounds,
    );
    report(measured, files, rounds);
    results.long_contexts = {
      files,
      bytes,
      sessions: largeSessions,
      median_seconds: Object.fromEntries(measured.map((m) => [m.label, m.median])),
      seconds: Object.fromEntries(measured.map((m) => [m.label, m.seconds])),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  const file = await writeResults('traces-cli', results);
  console.log(`\nResults written to ${file}`);
}
