// Lineage in the engine alone: a new conversation whose first user message carries a recent delegation of
// another session (the whole task, word for word, whatever the layout) is that session's sub-agent; the link
// is confirmed when the sub-agent's answer comes back in the parent's tool result; everything is bounded.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { CanonicalBuilder } from '../../../src/conversation/canonical.js';
import { DetectionEngine } from '../../../src/sessions/engine.js';
import { delegationsOf, MIN_WORDS } from '../../../src/sessions/lineage/delegations.js';
import { DelegationIndex } from '../../../src/sessions/lineage/delegation-index.js';
import { forEachWindow, windowHash } from '../../../src/sessions/lineage/word-windows.js';
import { ask, ScriptedChat, toolCall, toolResult, user } from '../../helpers/conversation.js';

const engines: DetectionEngine[] = [];
function engine(now?: () => number): DetectionEngine {
  const e = new DetectionEngine(configSchema.parse({}).session, { now });
  engines.push(e);
  return e;
}
afterEach(() => engines.splice(0).forEach((e) => e.close()));

const TASK =
  'Search the billing service for every place that rounds currency amounts, list the files and functions, and explain which rounding mode each one uses.';

describe('word windows', () => {
  it('finds a window by its rolling hash wherever it starts', () => {
    const needle = 'one two three four five six seven eight'.split(' ');
    const hay = 'alpha beta one two three four five six seven eight gamma'.split(' ');
    const starts: number[] = [];
    forEachWindow(hay, (hash, start) => {
      if (hash === windowHash(needle)) starts.push(start);
      return false;
    });
    expect(starts).toEqual([2]);
  });
});

describe('delegationsOf', () => {
  it('reads distinctive task arguments of tool calls only', () => {
    const reply = [
      toolCall('c1', 'Agent', { description: 'billing', prompt: TASK }),
      toolCall('c2', 'Read', { file_path: '/a/very/long/path/that/is/not/a/task.ts' }),
    ];
    const found = delegationsOf(reply);
    expect(found.map((d) => d.callId)).toEqual(['c1']);
    expect(delegationsOf([toolCall('c3', 'Agent', { prompt: 'Summarise the file please.' })])).toEqual([]);
    // One word short of the minimum is not a task.
    const eleven = 'one two three four five six seven eight nine ten elevenwordsinthisprompt'.padEnd(60, 'x');
    expect(eleven.split(' ')).toHaveLength(MIN_WORDS - 1);
    expect(delegationsOf([toolCall('c4', 'Agent', { prompt: eleven })])).toEqual([]);
    expect(delegationsOf([toolCall('c5', 'Agent', { prompt: `${eleven} twelve` })]).map((d) => d.callId)).toEqual(['c5']);
  });
});

describe('sub-agent links', () => {
  it('links a Task-style sub-agent (the task ends its first message, another layout) and confirms it with the answer', () => {
    const e = engine();
    const parent = new ScriptedChat(e);
    const root = parent.send(user('Audit rounding in billing.'), toolCall('call_9', 'Agent', { description: 'Rounding', prompt: TASK }));
    const reflowed = `<system-reminder>Use the repo at /src.</system-reminder>\n${TASK.replaceAll(', ', ',\n').toUpperCase()}`;
    const child = new ScriptedChat(e);
    const first = child.send(
      user(reflowed),
      'The billing service rounds in three places: invoice totals use half-even, tax lines use half-up, refunds truncate.',
    );
    expect(first.isNew).toBe(true);
    expect(first.parent).toMatchObject({ id: root.sessionId, key: root.sessionKey, source: 'tool_call', confirmed: false });
    expect(e.children(root.sessionKey)).toEqual([first.sessionKey]);
    expect(e.get(first.sessionKey)?.parent_session_id).toBe(root.sessionKey);
    // The parent gets the answer back as the tool's result: the link is confirmed.
    parent.send(
      toolResult('call_9', 'The billing service rounds in three places: invoice totals use half-even, tax lines use half-up, refunds truncate.\nagentId: x1'),
      'Done.',
    );
    expect(e.metrics().lineage).toMatchObject({ links_tool_call: 1, links_confirmed: 1, links_unconfirmed: 0 });
    expect(first.parent?.confirmed).toBe(true);
  });

  it('links every child of parallel calls, and grandchildren to their own parent', () => {
    const e = engine();
    const tasks = [0, 1, 2].map((i) => `${TASK} Focus on module number ${i} and its tests only.`);
    const parallel = new CanonicalBuilder();
    tasks.forEach((task, i) => parallel.toolCall(`p${i}`, 'Agent', { prompt: task }));
    const root = new ScriptedChat(e).send(user('Audit all.'), parallel.build('assistant'));
    const children = tasks.map((task) =>
      new ScriptedChat(e).send(user(task), toolCall('g1', 'Agent', { prompt: `${task} Delegate the reading of the test files.` })),
    );
    expect(children.map((c) => c.parent?.key)).toEqual([root.sessionKey, root.sessionKey, root.sessionKey]);
    const grandchild = new ScriptedChat(e).send(user(`${tasks[1]} Delegate the reading of the test files.`), 'Read them.');
    expect(grandchild.parent?.key).toBe(children[1].sessionKey);
  });

  it('does not link a look-alike, a partial task, another tenant, or a task delegated too long ago', () => {
    let now = 1_000_000;
    const e = engine(() => now);
    new ScriptedChat(e).send(user('Audit rounding.'), toolCall('c1', 'Agent', { prompt: TASK }));
    const changed = TASK.replace('rounding mode', 'locking mode');
    expect(ask(e, [user(changed)]).parent).toBeNull();
    expect(ask(e, [user(TASK.split(' ').slice(0, 15).join(' '))]).parent).toBeNull();
    expect(ask(e, [user(TASK)], { partition: 'key-b' }).parent).toBeNull();
    now += 31 * 60_000;
    expect(ask(e, [user(TASK)]).parent).toBeNull();
  });

  it('takes a parent the client names over content, and never makes a session its own parent', () => {
    const e = engine();
    const run = ask(e, [user('Start the run.')], { explicitId: 'run-1' });
    const sub = ask(e, [user('Sub-agent work.')], { explicitId: 'run-1:agent-a', explicitParentId: 'run-1' });
    expect(sub.parent).toMatchObject({ id: 'run-1', key: run.sessionKey, source: 'explicit', confirmed: true });
    expect(e.children(run.sessionKey)).toEqual([sub.sessionKey]);
    expect(ask(e, [user('x')], { explicitId: 'loop', explicitParentId: 'loop' }).parent).toBeNull();
  });

  it('bounds what it remembers: the delegation index is capped and counts what it evicts', () => {
    const index = new DelegationIndex(2, 60_000, () => 0);
    for (const i of [1, 2, 3]) {
      const words = `task number ${i} for the billing service rounding audit please`.split(' ');
      index.add(7, { callId: `c${i}`, words }, { parentKey: 'p', parentId: 'p', callId: `c${i}`, length: words.length, digest: `d${i}` });
    }
    expect([index.size, index.evicted]).toEqual([2, 1]);
  });

  it('keeps at most 256 children per session, and children that ended make room', () => {
    const e = engine();
    const run = ask(e, [user('Start the run.')], { explicitId: 'run-big' });
    const children = Array.from({ length: 257 }, (_, i) => ask(e, [user(`child ${i}`)], { explicitId: `run-big:agent-${i}`, explicitParentId: 'run-big' }));
    expect(e.children(run.sessionKey)).toHaveLength(256);
    expect(e.metrics().lineage?.children_dropped).toBe(1);
    e.end(children[0].sessionKey);
    ask(e, [user('one more')], { explicitId: 'run-big:agent-late', explicitParentId: 'run-big' });
    expect(e.children(run.sessionKey)).toHaveLength(256);
    expect(e.metrics().lineage?.children_dropped).toBe(1);
  });
});

describe('sub-agent links by client trace', () => {
  const trace = (id: string) => ({ traceId: id.padStart(32, '0') });

  it('links a new session in the trace of the one session waiting on a tool call, and confirms it by its answer', () => {
    const e = engine();
    const parent = new ScriptedChat(e, { partition: 'key-a', ...trace('a1') });
    const root = parent.send(user('Plan the migration.'), toolCall('call_1', 'run_planner', { step: 1 }));
    const child = new ScriptedChat(e, { partition: 'key-a', ...trace('a1') }).send(
      user('You plan migrations. Go.'),
      'Plan: back up, migrate, verify the row counts.',
    );
    expect(child.parent).toMatchObject({ key: root.sessionKey, source: 'trace', confirmed: false });
    parent.send(toolResult('call_1', 'Plan: back up, migrate, verify the row counts.'), 'Done.');
    expect(child.parent?.confirmed).toBe(true);
    expect(e.metrics().lineage).toMatchObject({ links_trace: 1, links_confirmed: 1 });
  });

  it('links nothing when the trace has no session waiting on a tool, or two of them', () => {
    const e = engine();
    new ScriptedChat(e, { partition: 'key-a', ...trace('b1') }).send(user('Just chatting.'), 'Sure.');
    expect(ask(e, [user('Another conversation in the same trace.')], trace('b1')).parent).toBeNull();
    new ScriptedChat(e, { partition: 'key-a', ...trace('c1') }).send(user('Agent one.'), toolCall('x', 'tool', {}));
    new ScriptedChat(e, { partition: 'key-a', ...trace('c1') }).send(user('Agent two.'), toolCall('y', 'tool', {}));
    expect(ask(e, [user('Whose sub-agent am I?')], trace('c1')).parent).toBeNull();
    // Another tenant in the same trace id never links.
    new ScriptedChat(e, { partition: 'key-a', ...trace('d1') }).send(user('Waiting.'), toolCall('z', 'tool', {}));
    expect(ask(e, [user('Other tenant.')], { partition: 'key-b', ...trace('d1') }).parent).toBeNull();
  });
});
