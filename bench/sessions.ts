// Session engine section: what detection costs per request, next to the JSON.parse of the same body (the
// cost no proxy can avoid), how much memory a live session takes, and whether lookups slow down as the
// number of live sessions grows. The engine runs in this process, with no HTTP: the figures are its own.

import { configSchema } from '../src/config/schema.js';
import { openAiAdapter } from '../src/providers/openai/index.js';
import { CanonicalBuilder, type CanonicalMessage } from '../src/conversation/canonical.js';
import { DetectionEngine } from '../src/sessions/engine.js';
import { environmentInfo, writeResults } from './lib/results.js';
import { summarize, type Summary } from './lib/stats.js';
import { fmt, printTable } from './lib/table.js';

const chat = openAiAdapter.operations.find((op) => op.name === 'chat.completions')!;
const PARTITION = 'Bearer sk-bench-0123456789abcdef';

function engine(maxSessions: number): DetectionEngine {
  return new DetectionEngine(configSchema.parse({ session: { max_sessions: maxSessions } }).session);
}

const assistantMessage = (text: string): CanonicalMessage => new CanonicalBuilder().text(text).build('assistant');

/** Text of about `bytes` characters that reads like prose (so paragraph and word handling do real work). */
function filler(bytes: number, seed: string): string {
  const sentence = `The ${seed} service reads its configuration, validates every field and reports problems clearly. `;
  let text = '';
  while (text.length < bytes) text += text.length > 0 && text.length % 2000 < sentence.length ? `\n\n${sentence}` : sentence;
  return text.slice(0, bytes);
}

interface SizeCase {
  label: string;
  messages: number;
  bytes: number;
  sessions: number;
}

interface SizeResult {
  label: string;
  body_bytes: number;
  parse: Summary;
  detect: Summary;
  record: Summary;
}

/**
 * Each measured request continues its own session: a history of `messages` messages (about `bytes` in
 * all) whose last assistant message is the reply recorded for that session, plus a new user turn.
 */
function measureSize(c: SizeCase): SizeResult {
  const e = engine(100_000);
  const per = Math.max(16, Math.floor(c.bytes / c.messages));
  const shared: { role: string; content: string }[] = [];
  for (let i = 0; i < c.messages - 2; i++) shared.push({ role: i % 2 === 0 ? 'user' : 'assistant', content: filler(per, `m${i}`) });
  const sharedJson = JSON.stringify(shared).slice(1, -1);
  const bodies: string[] = [];
  const replies: string[] = [];

  for (let s = 0; s < c.sessions; s++) {
    const question = { role: 'user', content: `question ${s}: ${filler(Math.min(per, 200), `q${s}`)}` };
    const reply = `answer ${s}: ${filler(per, `a${s}`)}`;
    // Set-up: the request that produced this session's reply.
    const setupBody = JSON.parse(`{"model":"gpt-4o","messages":[${sharedJson}${sharedJson ? ',' : ''}${JSON.stringify(question)}]}`);
    const setup = e.decideNow({ partition: PARTITION, conversation: chat.parse!(setupBody).conversation() });
    e.recordReply(setup, { replies: [assistantMessage(reply)] });
    bodies.push(
      `{"model":"gpt-4o","messages":[${sharedJson}${sharedJson ? ',' : ''}${JSON.stringify(question)},${JSON.stringify({ role: 'assistant', content: reply })},{"role":"user","content":"next ${s}"}]}`,
    );
    replies.push(`follow-up answer ${s}`);
  }

  const parse: number[] = [];
  const detect: number[] = [];
  const record: number[] = [];
  const rules = new Map<string, number>();
  for (let s = 0; s < c.sessions; s++) {
    const nextReply = assistantMessage(replies[s]);
    const t0 = performance.now();
    const body = JSON.parse(bodies[s]);
    const t1 = performance.now();
    const decision = e.decideNow({ partition: PARTITION, conversation: chat.parse!(body).conversation() });
    const t2 = performance.now();
    e.recordReply(decision, { replies: [nextReply] });
    const t3 = performance.now();
    rules.set(decision.rule, (rules.get(decision.rule) ?? 0) + 1);
    parse.push((t1 - t0) * 1000);
    detect.push((t2 - t1) * 1000);
    record.push((t3 - t2) * 1000);
  }
  e.close();
  if (rules.get('continued') !== c.sessions) throw new Error(`expected every request to continue its session, got ${JSON.stringify([...rules])}`);
  return {
    label: c.label,
    body_bytes: bodies[0].length,
    parse: summarize(parse.slice(c.sessions / 10)),
    detect: summarize(detect.slice(c.sessions / 10)),
    record: summarize(record.slice(c.sessions / 10)),
  };
}

/** Five turns (ten messages with the replies) of session `s`, driven through the engine. */
function converse(e: DetectionEngine, s: number, turns: number): CanonicalMessage[] {
  const history: CanonicalMessage[] = [];
  for (let t = 0; t < turns; t++) {
    history.push(new CanonicalBuilder().text(`user ${s} turn ${t}: please look at item ${s * 7 + t}`).build('user'));
    const messages = history;
    const decision = e.decideNow({
      partition: PARTITION,
      conversation: { length: messages.length, role: (i) => messages[i].role, message: (i) => messages[i] },
    });
    const reply = assistantMessage(`assistant ${s} turn ${t}: item ${s * 7 + t} looks fine to me.`);
    e.recordReply(decision, { replies: [reply] });
    history.push(reply);
  }
  return history;
}

/** JavaScript heap plus typed-array memory (the session index keeps its tables in typed arrays). */
function memoryUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

interface ScaleResult {
  sessions: number;
  bytes_per_session: number;
  lookup: Summary;
}

/** Memory per live 10-message session, and decide() time for a continuation with that many sessions live. */
function measureScale(count: number): ScaleResult {
  const before = memoryUsed();
  // max_sessions = the live count: what a deployment sized for this traffic holds at capacity.
  const e = engine(count);
  for (let s = 0; s < count; s++) converse(e, s, 5);
  const after = memoryUsed();
  const samples: number[] = [];
  const probes = 5000; // the same number of samples at every scale (small counts probe each session several times)
  for (let p = 0; p < probes; p++) {
    const s = (p * 7919) % count;
    const history = [
      ...Array.from({ length: 5 }, (_, t) => [
        new CanonicalBuilder().text(`user ${s} turn ${t}: please look at item ${s * 7 + t}`).build('user'),
        assistantMessage(`assistant ${s} turn ${t}: item ${s * 7 + t} looks fine to me.`),
      ]).flat(),
      new CanonicalBuilder().text(`user ${s} turn 5: and now?`).build('user'),
    ];
    const conversation = { length: history.length, role: (i: number) => history[i].role, message: (i: number) => history[i] };
    const t0 = performance.now();
    const decision = e.decideNow({ partition: PARTITION, conversation });
    samples.push((performance.now() - t0) * 1000);
    if (decision.rule !== 'continued') throw new Error(`probe ${s} was not continued: ${decision.rule}`);
  }
  const active = e.metrics().active_count;
  e.close();
  if (active !== count) throw new Error(`expected ${count} live sessions, found ${active}`);
  return { sessions: count, bytes_per_session: Math.round((after - before) / count), lookup: summarize(samples.slice(probes / 10)) };
}

export async function run(): Promise<void> {
  const sizes: SizeCase[] = [
    { label: '2 messages / 1 KB', messages: 2, bytes: 1024, sessions: 4000 },
    { label: '20 messages / 10 KB', messages: 20, bytes: 10 * 1024, sessions: 4000 },
    { label: '200 messages / 1 MB', messages: 200, bytes: 1024 * 1024, sessions: 300 },
  ];
  const sizeResults = sizes.map(measureSize);
  console.log('Detection per request (µs): parse = JSON.parse of the body; detect = conversation + decide(); record = recordReply()');
  printTable(
    [
      { header: 'history' },
      { header: 'body', align: 'right' },
      { header: 'parse p50', align: 'right' },
      { header: 'parse p99', align: 'right' },
      { header: 'detect p50', align: 'right' },
      { header: 'detect p99', align: 'right' },
      { header: 'record p50', align: 'right' },
      { header: 'record p99', align: 'right' },
      { header: 'detect/parse p50', align: 'right' },
    ],
    sizeResults.map((r) => [
      r.label,
      `${Math.round(r.body_bytes / 1024)} KB`,
      fmt(r.parse.p50, 1),
      fmt(r.parse.p99, 1),
      fmt(r.detect.p50, 1),
      fmt(r.detect.p99, 1),
      fmt(r.record.p50, 1),
      fmt(r.record.p99, 1),
      `${fmt((r.detect.p50 / r.parse.p50) * 100, 1)} %`,
    ]),
  );

  const scale = [1_000, 10_000, 100_000].map(measureScale);
  console.log('\nLive sessions of 10 messages each: memory per session ((heap + typed arrays) delta / sessions) and decide() time for a continuation (µs)');
  printTable(
    [
      { header: 'live sessions', align: 'right' },
      { header: 'bytes/session', align: 'right' },
      { header: 'lookup p50', align: 'right' },
      { header: 'lookup p99', align: 'right' },
    ],
    scale.map((r) => [String(r.sessions), String(r.bytes_per_session), fmt(r.lookup.p50, 1), fmt(r.lookup.p99, 1)]),
  );

  const tenKb = sizeResults[1];
  const growth = scale[2].lookup.p50 / scale[0].lookup.p50;
  const targets = [
    [`detect p99 <= 50 µs at 20 messages / 10 KB`, `${fmt(tenKb.detect.p99, 1)} µs`, tenKb.detect.p99 <= 50],
    [`<= 512 bytes per 10-message session (100,000 live)`, `${scale[2].bytes_per_session} B`, scale[2].bytes_per_session <= 512],
    [`no growth in lookup p50 from 1,000 to 100,000 sessions`, `x${fmt(growth, 2)}`, growth <= 1.5],
  ] as const;
  console.log('\nTargets:');
  printTable(
    [{ header: 'result' }, { header: 'target' }, { header: 'measured', align: 'right' }],
    targets.map(([target, measured, met]) => [met ? 'MET' : 'NOT MET', target, measured]),
  );
  const file = await writeResults('sessions', {
    section: 'sessions',
    date: new Date().toISOString(),
    environment: environmentInfo(),
    sizes: sizeResults,
    scale,
  });
  console.log(`\nResults written to ${file}`);
}
