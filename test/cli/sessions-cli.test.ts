// `cylestio-gateway sessions` as users run it: a real process on trace directories. One directory is written
// by real gateways (OpenAI chat and Responses, Anthropic, streamed and not, an upstream error, an unreachable
// upstream), in segments (the default layout); one is synthetic with chosen figures and every kind of bad
// file; one is large enough for the worker threads and the progress lines; others hold synthetic segments
// (beside files, torn and corrupt lines, one segment large enough to be shared by two threads). Figures are
// checked against the files and lines themselves, parsed here.

import { spawn } from 'node:child_process';
import type { SessionRow } from '../../src/cli/sessions/aggregate.js';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { readTraceText } from '../../src/interceptors/trace/trace-reference.js';
import { startStack } from '../helpers/stack.js';
import { tracesIn } from '../helpers/traces.js';
import { segmentText, traceFile, writeSegment, writeTraces, type TraceSpec } from './sessions-fixtures.js';

const LONG = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `cylestio-gateway sessions …` run to its exit. */
const sessions = (args: string[]): Promise<Run> => runCli(['sessions', ...args]);

type Row = SessionRow;

/** The fields of a trace file these tests read. */
interface TraceJson {
  timestamp: string;
  session_id?: string | null;
  session_key?: string;
  parent_session_id?: string | null;
  parent_session_key?: string;
  model?: string | null;
  failure: string | null;
  response: { status: number; duration_ms?: number };
  usage?: { input_tokens: number; output_tokens: number } | null;
  cost_usd?: number | null;
}

/** What the table must say, computed here from the parsed files and segment lines, independently of the CLI's reader. */
async function expectedRows(directory: string): Promise<Map<string | null, Row>> {
  const groups = new Map<string | null, TraceJson[]>();
  for (const { trace: parsed } of await tracesIn(directory, { lenient: true })) {
    const trace = parsed as TraceJson;
    if (typeof trace?.timestamp !== 'string' || typeof trace.response !== 'object') continue;
    // A client-named session by its tenant-scoped key, as the CLI groups it.
    const id = trace.session_key ?? trace.session_id ?? null;
    const list = groups.get(id) ?? [];
    list.push(trace);
    groups.set(id, list);
  }
  const rows = new Map<string | null, Row>();
  for (const [id, traces] of groups) {
    const times = traces.map((t) => Date.parse(t.timestamp));
    const durations = traces.map((t) => t.response.duration_ms).filter((d): d is number => typeof d === 'number');
    const sorted = [...durations].sort((a, b) => a - b);
    const micros = durations.reduce((sum, d) => sum + Math.round(d * 1000), 0);
    const input = traces.reduce((sum, t) => sum + (t.usage?.input_tokens ?? 0), 0);
    const output = traces.reduce((sum, t) => sum + (t.usage?.output_tokens ?? 0), 0);
    const priced = traces.filter((t) => typeof t.cost_usd === 'number');
    rows.set(id, {
      session_id: id,
      parent_session_id: traces.map((t) => t.parent_session_key ?? t.parent_session_id ?? null).find((p) => p !== null) ?? null,
      requests: traces.length,
      first: new Date(Math.min(...times)).toISOString(),
      last: new Date(Math.max(...times)).toISOString(),
      duration_ms: Math.max(...times) - Math.min(...times),
      mean_ms: durations.length ? Math.round((micros / durations.length / 1000) * 100) / 100 : null,
      p95_ms: sorted.length ? sorted[Math.ceil(0.95 * sorted.length) - 1] : null,
      p95_exact: true,
      input_tokens: input,
      output_tokens: output,
      total_tokens: input + output,
      cost_usd: priced.length ? priced.reduce((sum, t) => sum + Math.round(t.cost_usd! * 1e9), 0) / 1e9 : null,
      errors: traces.filter((t) => t.failure !== null || t.response.status >= 400).length,
      models: [...new Set(traces.map((t) => t.model).filter((m): m is string => typeof m === 'string'))].sort(),
    });
  }
  return rows;
}

/** CSV as the CLI writes it (fields quoted only when needed). */
function parseCsv(text: string): Record<string, string>[] {
  const lines = text.trimEnd().split('\n');
  const split = (line: string) =>
    [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1].replace(/^"|"$/g, '').replace(/""/g, '"')).slice(0, line.split(',').length);
  const header = split(lines[0]);
  return lines.slice(1).map((line) => Object.fromEntries(split(line).map((value, i) => [header[i], value])));
}

let root: string;
let realDir: string;
let synthDir: string;
let bigDir: string;
const ids: Record<'chat' | 'responses' | 'anthropic' | 'limited' | 'unreachable', string> = {
  chat: '',
  responses: '',
  anthropic: '',
  limited: '',
  unreachable: '',
};

/** Real traffic through real gateways with the trace interceptor; the sessions are what the gateway decided. */
async function realTraffic(directory: string): Promise<void> {
  const interceptors = [{ type: 'trace', config: { directory } }];
  const openaiStack = await startStack({ interceptors });
  try {
    const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${openaiStack.url}/v1`, maxRetries: 0 });
    const q1 = { role: 'user' as const, content: 'What is a session?' };
    const first = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, q1] }).withResponse();
    ids.chat = first.response.headers.get('x-session-id')!;
    const history = [{ role: 'system' as const, content: 'Be brief.' }, q1, first.data.choices[0].message];
    const second = await client.chat.completions
      .stream({ model: 'gpt-4o', messages: [...history, { role: 'user', content: 'And a trace?' }], stream_options: { include_usage: true } })
      .finalChatCompletion();
    await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [
        ...history,
        { role: 'user', content: 'And a trace?' },
        second.choices[0].message,
        { role: 'user', content: [{ type: 'text', text: 'Thanks,\nbye' }] },
      ],
    });

    const r1 = await client.responses.create({ model: 'gpt-4o', input: 'Responses API hello' }).withResponse();
    ids.responses = r1.response.headers.get('x-session-id')!;
    await client.responses.create({ model: 'gpt-4o', input: [{ role: 'user', content: 'Responses API again' }], previous_response_id: r1.data.id });

    const limited = await fetch(`${openaiStack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sim-status': '429' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Am I limited?' }] }),
    });
    expect(limited.status).toBe(429);
    ids.limited = limited.headers.get('x-session-id')!;
  } finally {
    await openaiStack.close();
  }

  const anthropicStack = await startStack({ type: 'anthropic', interceptors });
  try {
    const client = new Anthropic({ apiKey: 'sk-ant-x', baseURL: anthropicStack.url, maxRetries: 0 });
    const q1 = { role: 'user' as const, content: [{ type: 'text' as const, text: 'Anthropic hello' }] };
    const first = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [q1] }).withResponse();
    ids.anthropic = first.response.headers.get('x-session-id')!;
    await client.messages
      .stream({
        model: 'claude-haiku-4-5',
        max_tokens: 50,
        messages: [q1, { role: 'assistant', content: first.data.content }, { role: 'user', content: 'Stream the next one' }],
      })
      .finalMessage();
  } finally {
    await anthropicStack.close();
  }

  const deadStack = await startStack({ baseUrl: 'http://127.0.0.1:9', interceptors });
  try {
    const response = await fetch(`${deadStack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Anyone there?' }] }),
    });
    expect(response.status).toBe(502);
    ids.unreachable = response.headers.get('x-session-id')!;
  } finally {
    await deadStack.close();
  }
}

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/** Session a: 20 requests, durations 10..200 ms, 30 s apart, two errors; b: 3 requests, one without usage or duration. */
async function synthetic(directory: string): Promise<void> {
  const specs: TraceSpec[] = [];
  for (let i = 1; i <= 20; i++) {
    specs.push({
      session: 'sess_synth_a',
      at: T0 + (i - 1) * 30_000,
      durationMs: i * 10,
      input: 100,
      output: 10,
      user: `question ${i}`,
      status: i === 5 ? 500 : 200,
      failure: i === 9 ? 'timeout' : null,
      wire: i % 2 ? 'openai' : 'anthropic',
    });
  }
  specs.push({ session: 'sess_synth_b', at: T0 + 3_600_000, durationMs: 1500, input: 40, output: 4, wire: 'responses' });
  specs.push({ session: 'sess_synth_b', at: T0 + 3_601_000, durationMs: 2500, input: 60, output: 6, wire: 'responses' });
  specs.push({ session: null, at: T0 + 10, durationMs: 50, input: 1, output: 1 });
  specs.push({ session: null, at: T0 + 20, durationMs: 70, input: 1, output: 1 });
  await writeTraces(directory, specs);
  // A trace of session b without usage nor duration_ms (older or hand-edited files): counted, not timed.
  const bare = JSON.parse(traceFile({ session: 'sess_synth_b', at: T0 + 3_602_000, durationMs: 1 }).text);
  delete bare.usage;
  delete bare.response.duration_ms;
  await writeFile(join(directory, 'trace-bare.json'), JSON.stringify(bare));
  // Bad files: reported and skipped.
  const good = traceFile({ session: 'sess_synth_a', at: T0, durationMs: 1 }).text;
  await writeFile(join(directory, 'malformed.json'), '{"timestamp": oops}');
  await writeFile(join(directory, 'truncated.json'), good.slice(0, Math.floor(good.length / 2)));
  await writeFile(join(directory, 'empty.json'), '');
  await writeFile(join(directory, 'package.json'), '{"name":"not-a-trace"}');
  await writeFile(join(directory, 'list.json'), '[1,2,3]');
  // Ignored: other names, the trace writer's temporary dot-files, directories.
  await writeFile(join(directory, 'notes.txt'), 'not json');
  await writeFile(join(directory, '.trace-x.json.tmp'), '{');
  await writeFile(join(directory, '.hidden.json'), '{');
  await mkdir(join(directory, 'archive.json'));
}

/** 60 sessions × 25 requests: above the main-thread limit, so --threads uses workers. */
async function large(directory: string): Promise<void> {
  const specs: TraceSpec[] = [];
  for (let s = 0; s < 60; s++) {
    for (let i = 0; i < 25; i++)
      specs.push({
        session: `sess_big_${String(s).padStart(2, '0')}`,
        at: T0 + s * 1000 + i * 60_000,
        durationMs: 100 + ((s * 31 + i * 17) % 900) + 0.25,
        input: 10 + i,
        output: 5,
        wire: (['openai', 'anthropic', 'responses'] as const)[s % 3],
        status: (s + i) % 40 === 0 ? 503 : 200,
      });
  }
  await writeTraces(directory, specs);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cylestio-sessions-cli-'));
  realDir = join(root, 'real');
  synthDir = join(root, 'synth');
  bigDir = join(root, 'big');
  await Promise.all([mkdir(realDir), mkdir(synthDir), mkdir(bigDir)]);
  await realTraffic(realDir);
  await synthetic(synthDir);
  await large(bigDir);
}, LONG);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sessions: the table', () => {
  it(
    'summarises real gateway traffic; table, JSON and CSV agree with the files',
    async () => {
      const [table, json, csv] = await Promise.all([
        sessions(['--traces', realDir]),
        sessions(['--traces', realDir, '--json']),
        sessions(['--traces', realDir, '--csv']),
      ]);
      for (const run of [table, json, csv]) {
        expect(run.code).toBe(0);
        expect(run.stderr).toBe('');
      }
      const expected = await expectedRows(realDir);
      expect(expected.size).toBe(5);
      const rows: Row[] = JSON.parse(json.stdout);
      expect(new Map(rows.map((row) => [row.session_id, row]))).toEqual(expected);
      expect(rows.map((row) => row.requests)).toEqual([3, 2, 2, 1, 1]); // most active first
      expect(expected.get(ids.chat)).toMatchObject({ requests: 3, errors: 0, models: ['gpt-4o'] });
      expect(expected.get(ids.limited)).toMatchObject({ requests: 1, errors: 1, models: ['gpt-4o-mini'] });
      expect(expected.get(ids.unreachable)).toMatchObject({ requests: 1, errors: 1, input_tokens: 0 });
      expect(expected.get(ids.chat)!.input_tokens).toBeGreaterThan(0);

      const csvRows = parseCsv(csv.stdout);
      expect(
        csvRows.map((row) => [
          row.session_id,
          Number(row.requests),
          Number(row.mean_ms),
          Number(row.p95_ms),
          Number(row.input_tokens),
          Number(row.output_tokens),
          Number(row.errors),
          row.models,
        ]),
      ).toEqual(
        rows.map((row) => [row.session_id, row.requests, row.mean_ms, row.p95_ms, row.input_tokens, row.output_tokens, row.errors, row.models.join(';')]),
      );

      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^session\s+requests\s+first \(UTC\)\s+last \(UTC\)\s+duration\s+mean\s+p95\s+tokens in\s+tokens out\s+cost\s+errors\s+models$/);
      expect(lines).toHaveLength(6);
      expect(lines[1]).toMatch(new RegExp(`^${ids.chat}\\s+3\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
      // Aligned: every row is as long as the header up to the models column.
      const modelsAt = lines[0].indexOf('models');
      for (const line of lines.slice(1)) expect(line[modelsAt - 1]).toBe(' ');
    },
    LONG,
  );

  it(
    'gives exact figures on chosen traces, a "(no session)" row, and skips bad files with a report',
    async () => {
      const [json, table] = await Promise.all([sessions(['--traces', synthDir, '--json']), sessions(['--traces', synthDir])]);
      expect(json.code).toBe(0);
      const rows: Row[] = JSON.parse(json.stdout);
      expect(rows.map((row) => row.session_id)).toEqual(['sess_synth_a', 'sess_synth_b', null]);
      expect(rows[0]).toEqual({
        session_id: 'sess_synth_a',
        parent_session_id: null,
        requests: 20,
        first: '2025-01-01T00:00:00.000Z',
        last: '2025-01-01T00:09:30.000Z',
        duration_ms: 570_000,
        mean_ms: 105,
        p95_ms: 190,
        p95_exact: true,
        input_tokens: 2000,
        output_tokens: 200,
        total_tokens: 2200,
        cost_usd: null,
        errors: 2,
        models: ['claude-haiku-4-5', 'gpt-4o'],
      });
      expect(rows[1]).toMatchObject({ requests: 3, duration_ms: 2000, mean_ms: 2000, p95_ms: 2500, input_tokens: 100, output_tokens: 10, errors: 0 });
      expect(rows[2]).toMatchObject({ session_id: null, requests: 2, mean_ms: 60, p95_ms: 70 });

      for (const run of [json, table]) {
        expect(run.stderr).toContain('warning: skipped 5 of 30 trace files');
        for (const [file, reason] of [
          ['malformed.json', 'invalid JSON'],
          ['truncated.json', 'truncated JSON'],
          ['empty.json', 'empty file'],
          ['package.json', 'not a trace record (no timestamp)'],
          ['list.json', 'not a trace record (not a JSON object)'],
        ]) {
          expect(run.stderr).toContain(`  ${file}: ${reason}`);
        }
        for (const ignored of ['notes.txt', '.trace-x', '.hidden', 'archive.json']) expect(run.stderr).not.toContain(ignored);
      }
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(
        /^sess_synth_a\s+20\s+2025-01-01T00:00:00Z\s+2025-01-01T00:09:30Z\s+9m 30s\s+105 ms\s+190 ms\s+2000\s+200\s+-\s+2\s+claude-haiku-4-5,gpt-4o$/m,
      );
      expect(table.stdout).toMatch(/^\(no session\)\s+2\s/m);
    },
    LONG,
  );

  it(
    'sorts, reverses and cuts to the top N',
    async () => {
      const [errors, reverse, top] = await Promise.all([
        sessions(['--traces', synthDir, '--sort', 'errors', '--json']),
        sessions(['--traces', synthDir, '--sort', 'mean', '--reverse', '--json']),
        sessions(['--traces', realDir, '--top', '2', '--json']),
      ]);
      expect(JSON.parse(errors.stdout).map((row: Row) => row.session_id)).toEqual(['sess_synth_a', 'sess_synth_b', null]);
      expect(JSON.parse(reverse.stdout).map((row: Row) => row.mean_ms)).toEqual([60, 105, 2000]);
      expect(JSON.parse(top.stdout).map((row: Row) => row.requests)).toEqual([3, 2]);
    },
    LONG,
  );
});

describe("sessions: the guide's recipes", () => {
  it(
    'requests per session, as `jq -r .session_id | sort | uniq -c` counts them',
    async () => {
      const [table, csv] = await Promise.all([sessions(['requests', '--traces', synthDir]), sessions(['requests', '--traces', realDir, '--csv'])]);
      expect(table.stdout.split('\n').slice(0, 4)).toEqual(['requests  session', '      20  sess_synth_a', '       3  sess_synth_b', '       2  (no session)']);
      const counts = Object.fromEntries(parseCsv(csv.stdout).map((row) => [row.session_id, Number(row.requests)]));
      const expected = await expectedRows(realDir);
      expect(counts).toEqual(Object.fromEntries([...expected].map(([id, row]) => [id, row.requests])));
    },
    LONG,
  );

  it.skipIf(!existsSync('/usr/bin/jq'))(
    'matches the jq recipe itself on real traces',
    async () => {
      const jq = await new Promise<string>((resolve, reject) => {
        const child = spawn('sh', ['-c', `jq -r .session_id "${realDir}"/*.jsonl | sort | uniq -c`]);
        let out = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.on('error', reject);
        child.on('close', () => resolve(out));
      });
      const fromJq = Object.fromEntries(
        jq
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .map(([count, id]) => [id, Number(count)]),
      );
      const csv = await sessions(['requests', '--traces', realDir, '--csv']);
      expect(Object.fromEntries(parseCsv(csv.stdout).map((row) => [row.session_id, Number(row.requests)]))).toEqual(fromJq);
    },
    LONG,
  );

  it(
    'mean response time, most active sessions and session duration',
    async () => {
      const [mean, active, duration] = await Promise.all([
        sessions(['mean-time', '--traces', synthDir, '--json']),
        sessions(['most-active', '--traces', synthDir, '--top', '1']),
        sessions(['duration', '--traces', synthDir, '--csv']),
      ]);
      expect(JSON.parse(mean.stdout)).toEqual([
        { session_id: 'sess_synth_b', requests: 3, mean_ms: 2000, p95_ms: 2500, p95_exact: true },
        { session_id: 'sess_synth_a', requests: 20, mean_ms: 105, p95_ms: 190, p95_exact: true },
        { session_id: null, requests: 2, mean_ms: 60, p95_ms: 70, p95_exact: true },
      ]);
      expect(active.stdout).toBe(
        'session       requests  tokens  first (UTC)           last (UTC)\nsess_synth_a        20    2200  2025-01-01T00:00:00Z  2025-01-01T00:09:30Z\n',
      );
      expect(duration.stdout).toBe(
        'session_id,requests,first,last,duration_ms\n' +
          'sess_synth_a,20,2025-01-01T00:00:00.000Z,2025-01-01T00:09:30.000Z,570000\n' +
          'sess_synth_b,3,2025-01-01T01:00:00.000Z,2025-01-01T01:00:02.000Z,2000\n' +
          ',2,2025-01-01T00:00:00.010Z,2025-01-01T00:00:00.020Z,10\n',
      );
    },
    LONG,
  );
});

describe('sessions show', () => {
  it(
    "prints a session's requests in order: time, status, duration, tokens, user message and reply",
    async () => {
      const [chat, cut, json] = await Promise.all([
        sessions(['show', ids.chat, '--traces', realDir]),
        sessions(['show', ids.chat, '--traces', realDir, '--width', '12']),
        sessions(['--traces', realDir, 'show', ids.chat, '--json']),
      ]);
      expect(chat.code).toBe(0);
      const lines = chat.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^session ${ids.chat}: 3 requests, \\S+ → \\S+ \\(.+\\), mean .+, tokens \\d+ in / \\d+ out, 0 errors$`));
      expect(lines[2]).toMatch(/^#\s+time \(UTC\)\s+status\s+duration\s+tokens in\/out\s+model$/);
      expect(lines.slice(3)).toEqual([
        expect.stringMatching(/^1\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+200\s+\d+ ms\s+\d+\/\d+\s+gpt-4o$/),
        '   user:  What is a session?',
        '   reply: Reply to: What is a session?',
        expect.stringMatching(/^2\s+\S+\s+200\s/),
        '   user:  And a trace?',
        '   reply: Reply to: And a trace? (turn 2)',
        expect.stringMatching(/^3\s+\S+\s+200\s/),
        '   user:  Thanks, bye',
        '   reply: Reply to: Thanks,\nbye (turn 3)'.replace('\n', ' '),
      ]);
      expect(cut.stdout).toContain('   user:  What is a s…\n   reply: Reply to: W…\n');
      const rows = JSON.parse(json.stdout);
      expect(rows.map((row: Record<string, unknown>) => row.user_message)).toEqual(['What is a session?', 'And a trace?', 'Thanks,\nbye']);
      expect(rows[0]).toMatchObject({ n: 1, status: 200, failure: null, model: 'gpt-4o', reply: 'Reply to: What is a session?' });
      // The trace's reference: its segment and the byte offset of its line, which holds this very request.
      expect(rows[0].file).toMatch(/^trace-[\dT:.Z-]+-\d+-[0-9a-f]{6}-\d+\.jsonl#\d+$/);
      expect(JSON.parse(await readTraceText(join(realDir, rows[0].file))).request_id).toBe(rows[0].request_id);
      const expected = (await expectedRows(realDir)).get(ids.chat)!;
      expect(rows.reduce((sum: number, row: { input_tokens: number }) => sum + row.input_tokens, 0)).toBe(expected.input_tokens);
    },
    LONG,
  );

  it(
    'reads Anthropic, Responses, error and failed exchanges',
    async () => {
      const [anthropic, responses, limited, unreachable] = await Promise.all(
        [ids.anthropic, ids.responses, ids.limited, ids.unreachable].map((id) => sessions(['show', id, '--traces', realDir])),
      );
      expect(anthropic.stdout).toContain('   user:  Anthropic hello\n   reply: Reply to: Anthropic hello\n');
      expect(anthropic.stdout).toContain('   user:  Stream the next one\n   reply: Reply to: Stream the next one (turn 2)\n');
      expect(responses.stdout).toContain('   user:  Responses API hello\n   reply: Reply to: Responses API hello\n');
      expect(responses.stdout).toContain('   user:  Responses API again\n');
      expect(limited.stdout).toMatch(/^1\s+\S+\s+429\s/m);
      expect(limited.stdout).toContain('   reply: [error] Rate limit reached');
      expect(limited.stdout).toContain(', 1 error\n');
      expect(unreachable.stdout).toMatch(/^1\s+\S+\s+502 unreachable\s/m);
      expect(unreachable.stdout).toContain('   user:  Anyone there?\n   reply: [failed: unreachable]\n');
    },
    LONG,
  );

  it(
    'fails clearly on an unknown session',
    async () => {
      const run = await sessions(['show', 'sess_nope', '--traces', realDir]);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`no trace of session sess_nope in ${realDir}`);
    },
    LONG,
  );
});

describe('sessions show: the session tree', () => {
  it(
    'prints the parent and sub-agents of sessions real gateways linked by agent headers; the table carries the parent in JSON and CSV',
    async () => {
      const directory = join(root, 'lineage-real');
      await mkdir(directory);
      const stack = await startStack({ interceptors: [{ type: 'trace', config: { directory } }] });
      try {
        const post = async (headers: Record<string, string>, content: string) => {
          const response = await fetch(`${stack.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tree', ...headers },
            body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] }),
          });
          await response.text();
          return response.headers;
        };
        await post({ 'x-claude-code-session-id': 'run-7' }, 'Plan the work');
        const child = await post({ 'x-claude-code-session-id': 'run-7', 'x-claude-code-agent-id': 'a1' }, 'Read the files');
        expect(child.get('x-parent-session-id')).toBe('run-7');
        await post({ 'x-claude-code-session-id': 'run-7', 'x-claude-code-agent-id': 'a1' }, 'Read more files');
      } finally {
        await stack.close(); // flushes the trace queue
      }
      const [parent, sub, json, csv] = await Promise.all([
        sessions(['show', 'run-7', '--traces', directory]),
        sessions(['show', 'run-7:agent-a1', '--traces', directory]),
        sessions(['--traces', directory, '--json']),
        sessions(['--traces', directory, '--csv']),
      ]);
      const rows: Row[] = JSON.parse(json.stdout);
      const runKey = rows.find((row) => row.session_id?.startsWith('run-7~'))!.session_id!;
      const subKey = rows.find((row) => row.session_id?.startsWith('run-7:agent-a1~'))!.session_id!;
      expect(rows.find((row) => row.session_id === subKey)!.parent_session_id).toBe(runKey);
      expect(rows.find((row) => row.session_id === runKey)!.parent_session_id).toBeNull();
      expect(new Map(rows.map((row) => [row.session_id, row]))).toEqual(
        new Map([...(await expectedRows(directory)).values()].map((row) => [row.session_id, row])),
      );
      expect(csv.stdout.split('\n')[0]).toMatch(/^session_id,parent_session_id,requests,/);
      expect(parseCsv(csv.stdout).find((row) => row.session_id === subKey)!.parent_session_id).toBe(runKey);

      expect(parent.code).toBe(0);
      const lines = parent.stdout.split('\n');
      expect(lines[0]).toMatch(/^session run-7: 1 request, /);
      expect(lines[1]).toMatch(/^tree: 2 sessions, 3 requests, tokens \d+ in \/ \d+ out, cost \$[\d.e-]+$/);
      expect(lines[2]).toMatch(new RegExp(`^  ${runKey}  1 request, tokens \\d+ in / \\d+ out, cost \\$`));
      expect(lines[3]).toMatch(new RegExp(`^  └─ ${subKey}  2 requests, `));
      expect(lines[4]).toBe('');
      expect(sub.stdout.split('\n')[1]).toMatch(new RegExp(`^parent: ${runKey} \\(1 request, tokens \\d+ in / \\d+ out, cost \\$`));
      expect(sub.stdout.split('\n')[2]).toBe(''); // no sub-agents of its own: no tree
    },
    LONG,
  );

  it(
    'walks a deeper tree with exact totals, the same with worker threads; a parent without traces is named',
    async () => {
      const directory = join(root, 'lineage-synth');
      await mkdir(directory);
      const at = (s: number) => T0 + s * 1000;
      const specs: TraceSpec[] = [
        { session: 'r', sessionKey: 'r~aa', at: at(0), input: 100, output: 10 },
        { session: 'r', sessionKey: 'r~aa', at: at(9), input: 100, output: 10 },
        { session: 'r:c1', sessionKey: 'r:c1~aa', parent: 'r', parentKey: 'r~aa', at: at(1), input: 10, output: 1 },
        { session: 'r:c2', sessionKey: 'r:c2~aa', parent: 'r', parentKey: 'r~aa', at: at(2), input: 20, output: 2 },
        { session: 'r:c2', sessionKey: 'r:c2~aa', parent: 'r', parentKey: 'r~aa', at: at(3), input: 20, output: 2 },
        { session: 'r:c1:g', sessionKey: 'r:c1:g~aa', parent: 'r:c1', parentKey: 'r:c1~aa', at: at(4), input: 5, output: 1 },
        { session: 'orphan', sessionKey: 'orphan~aa', parent: 'gone', parentKey: 'gone~aa', at: at(5), input: 1, output: 1 },
      ];
      // Enough files of other sessions for the worker threads to read them.
      for (let i = 0; i < 1100; i++) specs.push({ session: `sess_filler_${i % 50}`, at: at(100 + i), input: 1, output: 1 });
      await writeTraces(directory, specs);
      const [inline, workers, child, grandchild, orphan] = await Promise.all([
        sessions(['show', 'r', '--traces', directory, '--threads', '0']),
        sessions(['show', 'r', '--traces', directory, '--threads', '2', '--no-progress']),
        sessions(['show', 'r:c1', '--traces', directory, '--no-progress']),
        sessions(['show', 'r:c1:g~aa', '--traces', directory, '--no-progress']),
        sessions(['show', 'orphan', '--traces', directory, '--no-progress']),
      ]);
      expect(workers.stdout).toBe(inline.stdout);
      expect(inline.stdout.split('\n').slice(1, 6)).toEqual([
        'tree: 4 sessions, 6 requests, tokens 255 in / 26 out, cost -',
        '  r~aa  2 requests, tokens 200 in / 20 out, cost -',
        '  └─ r:c1~aa  1 request, tokens 10 in / 1 out, cost -',
        '     └─ r:c1:g~aa  1 request, tokens 5 in / 1 out, cost -',
        '  └─ r:c2~aa  2 requests, tokens 40 in / 4 out, cost -',
      ]);
      expect(child.stdout.split('\n').slice(1, 5)).toEqual([
        'parent: r~aa (2 requests, tokens 200 in / 20 out, cost -)',
        'tree: 2 sessions, 2 requests, tokens 15 in / 2 out, cost -',
        '  r:c1~aa  1 request, tokens 10 in / 1 out, cost -',
        '  └─ r:c1:g~aa  1 request, tokens 5 in / 1 out, cost -',
      ]);
      expect(grandchild.stdout.split('\n').slice(1, 3)).toEqual(['parent: r:c1~aa (1 request, tokens 10 in / 1 out, cost -)', '']);
      expect(orphan.stdout.split('\n').slice(1, 3)).toEqual(['parent: gone~aa (no traces)', '']);
    },
    LONG,
  );
});

describe('sessions: large directories and errors', () => {
  it(
    'reads with worker threads like the main thread, with progress on stderr only',
    async () => {
      const [workers, inline, full] = await Promise.all([
        sessions(['--traces', bigDir, '--json', '--threads', '2', '--progress-every', '500']),
        sessions(['--traces', bigDir, '--json', '--threads', '0', '--no-progress']),
        sessions(['--traces', bigDir, '--json', '--threads', '0', '--full-parse', '--progress-every', '100000']),
      ]);
      for (const run of [workers, inline, full]) expect(run.code).toBe(0);
      expect(workers.stdout).toBe(inline.stdout);
      expect(full.stdout).toBe(inline.stdout);
      const rows: Row[] = JSON.parse(workers.stdout);
      expect(rows).toHaveLength(60);
      expect(new Map(rows.map((row) => [row.session_id, row]))).toEqual(await expectedRows(bigDir));
      const progress = workers.stderr.trimEnd().split('\n');
      expect(progress.length).toBeGreaterThanOrEqual(3);
      for (const line of progress.slice(0, -1)) expect(line).toMatch(/^reading traces: \d+ files \(\d+ files\/s\)$/);
      expect(progress.at(-1)).toMatch(/^read 1500 files in \d+\.\d s$/);
      expect(workers.stdout).not.toContain('reading');
      expect(inline.stderr).toBe('');
      expect(full.stderr).toBe('');
    },
    LONG,
  );

  it(
    'exits 1 with a clear error when the directory is missing, 0 with nothing when it is empty',
    async () => {
      const empty = join(root, 'empty');
      await mkdir(empty);
      const [missing, table, json] = await Promise.all([
        sessions(['--traces', join(root, 'nope')]),
        sessions(['--traces', empty]),
        sessions(['--traces', empty, '--json']),
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toContain(`trace directory ${join(root, 'nope')} does not exist`);
      expect(table).toMatchObject({ code: 0, stdout: '' });
      expect(table.stderr).toContain(`no trace files (*.json, *.jsonl) in ${empty}`);
      expect(json).toMatchObject({ code: 0, stdout: '[]\n' });
    },
    LONG,
  );

  it(
    'defaults to ./traces',
    async () => {
      const cwd = join(root, 'cwd');
      await mkdir(join(cwd, 'traces'), { recursive: true });
      await writeTraces(join(cwd, 'traces'), [{ session: 'sess_here', at: T0, durationMs: 5 }]);
      const run = await runCli(['sessions', 'requests'], { cwd });
      expect(run).toMatchObject({ code: 0, stdout: 'requests  session\n       1  sess_here\n' });
    },
    LONG,
  );
});

describe('sessions: segments (*.jsonl)', () => {
  it(
    'reads segments line by line beside *.json files; a torn last line is skipped, a corrupt line reported as file#offset',
    async () => {
      const directory = join(root, 'segments-mixed');
      await mkdir(directory);
      const a = (i: number): TraceSpec => ({ session: 'sess_seg_a', at: T0 + i * 1000, durationMs: 10 * (i + 1), input: 10, output: 1, user: `line ${i}` });
      const b = (i: number): TraceSpec => ({ session: 'sess_seg_b', at: T0 + 60_000 + i * 1000, durationMs: 5, input: 2, output: 2, wire: 'anthropic' });
      const head = segmentText([a(0), a(1), a(2)]);
      // A line damaged in the middle of a segment, then good lines, then a line the writer was still appending.
      const corrupt = '{"timestamp": oops}\n';
      const torn = traceFile(a(99)).text.slice(0, 200);
      await writeFile(join(directory, 'trace-2025-01-01T00:00:00.000Z-11-aaaaaa-0.jsonl'), head + corrupt + segmentText([a(3), a(4), b(0)]) + torn);
      await writeSegment(directory, 'trace-2025-01-01T01:00:00.000Z-12-bbbbbb-0.jsonl', [a(5), b(1)]);
      await writeTraces(directory, [b(2), b(3)]);
      // Blank lines and an empty segment are no traces.
      await writeFile(join(directory, 'trace-2025-01-01T02:00:00.000Z-13-cccccc-0.jsonl'), `\n${segmentText([a(6)])}\n`);
      await writeFile(join(directory, 'trace-2025-01-01T03:00:00.000Z-14-dddddd-0.jsonl'), '');

      const [inline, workers, full, show] = await Promise.all([
        sessions(['--traces', directory, '--json', '--threads', '0']),
        sessions(['--traces', directory, '--json', '--threads', '2', '--no-progress']),
        sessions(['--traces', directory, '--json', '--full-parse']),
        sessions(['show', 'sess_seg_a', '--traces', directory, '--json']),
      ]);
      expect(workers.stdout).toBe(inline.stdout);
      expect(full.stdout).toBe(inline.stdout);
      const rows: Row[] = JSON.parse(inline.stdout);
      expect(new Map(rows.map((row) => [row.session_id, row]))).toEqual(await expectedRows(directory));
      expect(rows.map((row) => [row.session_id, row.requests])).toEqual([
        ['sess_seg_a', 7],
        ['sess_seg_b', 4],
      ]);
      for (const run of [inline, workers, full]) {
        expect(run.code).toBe(0);
        expect(run.stderr).toBe(
          'warning: skipped 1 of 12 trace files in ' +
            `${directory} that are not readable trace records:\n  trace-2025-01-01T00:00:00.000Z-11-aaaaaa-0.jsonl#${Buffer.byteLength(head)}: invalid JSON\n`,
        );
      }
      // `show` names each trace by its reference, which reads back the line of that very request.
      const shown: { file: string; user_message: string; request_id: string }[] = JSON.parse(show.stdout);
      expect(shown.map((row) => row.user_message)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
      expect(shown[3].file).toBe(`trace-2025-01-01T00:00:00.000Z-11-aaaaaa-0.jsonl#${Buffer.byteLength(head + corrupt)}`);
      for (const row of shown) expect(JSON.parse(await readTraceText(join(directory, row.file))).request_id).toBe(row.request_id);
    },
    LONG,
  );

  it(
    'shares one large segment between two worker threads, by byte ranges, with the same figures as the main thread',
    async () => {
      const directory = join(root, 'segments-big');
      await mkdir(directory);
      const specs: TraceSpec[] = [];
      // About 1,500 traces of 7 KB: a 10 MB segment, three ranges of 4 MiB.
      for (let s = 0; s < 60; s++)
        for (let i = 0; i < 25; i++)
          specs.push({
            session: `sess_range_${String(s).padStart(2, '0')}`,
            at: T0 + s * 1000 + i * 60_000,
            durationMs: 100 + ((s * 31 + i * 17) % 900) + 0.5,
            input: 10 + i,
            output: 5,
            user: `question ${i} ${'context '.repeat(800)}`,
            wire: (['openai', 'anthropic', 'responses'] as const)[s % 3],
          });
      await writeSegment(directory, 'trace-2025-01-01T00:00:00.000Z-21-eeeeee-0.jsonl', specs);
      const [workers, inline] = await Promise.all([
        sessions(['--traces', directory, '--json', '--threads', '2', '--progress-every', '500']),
        sessions(['--traces', directory, '--json', '--threads', '0', '--no-progress']),
      ]);
      expect(workers.code).toBe(0);
      expect(workers.stdout).toBe(inline.stdout);
      const rows: Row[] = JSON.parse(workers.stdout);
      expect(rows).toHaveLength(60);
      expect(rows.every((row) => row.requests === 25)).toBe(true);
      expect(new Map(rows.map((row) => [row.session_id, row]))).toEqual(await expectedRows(directory));
      // Progress counts traces as it does files; the ranges came back one by one.
      const progress = workers.stderr.trimEnd().split('\n');
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect(progress.at(-1)).toMatch(/^read 1500 files in \d+\.\d s$/);
    },
    LONG,
  );
});
