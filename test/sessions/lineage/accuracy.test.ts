// Lineage accuracy through HTTP: simulated agent traffic in both wire formats, all agents at once. Coding
// agents delegate to sub-agents (Claude Code's Task/Agent tool: the prompt ends the child's first user
// message; agents-as-tools: the input is the child's whole first message), in parallel and nested; plain
// conversations and look-alikes (a task with one word changed, a task's opening words with another ending,
// another tenant's copy of a task) and conversations compacted into a summary (Claude Code's lead-in) run
// beside them. Reports the precision and recall of parent links and the
// pairwise F1 of sessions, and holds them to P ≥ 0.99, R ≥ 0.95, F1 ≥ 0.99.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConversation, type WireFormat } from '../../helpers/agent-client.js';
import { startStack, type Stack } from '../../helpers/stack.js';

const WORDS = (
  'parser cache ledger router invoice scheduler tenant payload migration index shard replica token budget ' +
  'webhook cursor checksum manifest sandbox quota archive signal bridge kernel profile snapshot gateway ' +
  'lambda vector matrix cluster beacon harbor canyon meadow orchard summit glacier lantern compass'
).split(' ');

/** A deterministic pseudo-random source (mulberry32), so every run sends the same traffic. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Truth {
  conv: string;
  parent: string | null;
  format: WireFormat;
  conversation: AgentConversation;
  /** New histories the same conversation went on in (compactions): the same session. */
  continuations: AgentConversation[];
}

interface Plan {
  style: 'task' | 'as_tool';
  children: Plan[];
  parallel: boolean;
}

class Traffic {
  readonly truths: Truth[] = [];
  /** Every task handed to a sub-agent, for look-alikes to imitate. */
  readonly prompts: string[] = [];
  private next = 0;
  private readonly rand: () => number;

  constructor(
    readonly format: WireFormat,
    private readonly url: string,
    seed: number,
  ) {
    this.rand = random(seed);
  }

  words(n: number): string {
    return Array.from({ length: n }, () => WORDS[Math.floor(this.rand() * WORDS.length)]).join(' ');
  }

  prompt(): string {
    return `Investigate the ${this.words(2)} module: list every function that touches the ${this.words(2)}, explain how ${this.words(3)} flows into ${this.words(2)}, and report the three riskiest call sites (${this.words(4)}).`;
  }

  conversation(
    parent: string | null,
    system: string,
    credential = 'sk-tenant-a',
  ): { conv: string; chat: AgentConversation; continuations: AgentConversation[] } {
    const conv = `${this.format}-${this.next++}`;
    const chat = new AgentConversation(this.format, this.url, credential, system);
    const continuations: AgentConversation[] = [];
    this.truths.push({ conv, parent, format: this.format, conversation: chat, continuations });
    return { conv, chat, continuations };
  }

  /** An agent that works on `task`, delegating to its planned sub-agents; returns its final answer. */
  async agent(task: string, plan: Plan, parent: string | null, childStyle?: 'task' | 'as_tool'): Promise<string> {
    const system = parent ? `You are a focused sub-agent (${this.words(2)}).` : `You are a coding agent for project ${this.words(2)}.`;
    const { conv, chat } = this.conversation(parent, system);
    const stream = this.rand() < 0.5;
    const first = childStyle === 'task' ? `<system-reminder>\nContext for this task: ${this.words(6)}.\n</system-reminder>\n${task}` : task;
    const finalAnswer = `Findings for ${conv}: ${this.words(24)}.`;
    if (plan.children.length === 0) {
      const turn = await chat.userSays(first, { stream, reply: this.rand() < 0.5 ? finalAnswer : undefined });
      if (turn.text === finalAnswer) return finalAnswer;
      return (await chat.userSays('Continue and finish the report.', { stream, reply: finalAnswer })).text;
    }
    const groups = plan.parallel ? [plan.children] : plan.children.map((child) => [child]);
    let said = false;
    for (const group of groups) {
      const prompts = group.map(() => this.prompt());
      this.prompts.push(...prompts);
      const toolCalls = group.map((child, i) =>
        child.style === 'task'
          ? { name: 'Agent', arguments: { description: `Explore ${this.words(1)}`, prompt: prompts[i], subagent_type: 'general-purpose' } }
          : { name: `${this.words(1)}_agent`, arguments: { input: prompts[i] } },
      );
      const turn = said ? null : await chat.userSays(first, { stream, toolCalls });
      said = true;
      const calls = turn?.calls ?? (await chat.userSays('Next step.', { stream, toolCalls })).calls;
      const answers = await Promise.all(group.map((child, i) => this.agent(prompts[i], child, conv, child.style)));
      const results = calls.map((call, i) => ({ id: call.id, content: group[i].style === 'task' ? `${answers[i]}\nagentId: a${i}${this.next}` : answers[i] }));
      await chat.toolResults(results, { stream });
    }
    return (await chat.userSays('Summarise what the sub-agents found.', { stream, reply: finalAnswer })).text;
  }

  /** A conversation with no sub-agents: three turns. */
  async plain(): Promise<void> {
    const { chat } = this.conversation(null, 'You are a helpful assistant.');
    await chat.userSays(`Help me plan the ${this.words(3)} rollout.`);
    await chat.userSays(`What about the ${this.words(2)}?`, { stream: true });
    await chat.userSays('Thanks.');
  }

  /**
   * A long conversation compacted the way Claude Code does it: the client asks for a summary, then goes on
   * in a new history whose first user message is a lead-in, a single newline and the summary (tags and all).
   * The new history is the same conversation: its requests must stay in the session.
   */
  async compacting(): Promise<void> {
    const conversation = this.conversation(null, 'You are a coding agent.');
    const { chat } = conversation;
    await chat.userSays(`Refactor the ${this.words(3)} package.`);
    await chat.userSays(`Now the ${this.words(2)} tests.`, { stream: true });
    const summary = `Summary: we refactored ${this.words(10)}; remaining work is ${this.words(12)}.`;
    const reply = (await chat.userSays('Summarise the conversation so far for a new context window.', { reply: summary })).text;
    // The new context window: a new history that carries the summary, sent by the same client.
    const next = new AgentConversation(this.format, this.url, 'sk-tenant-a', 'You are a coding agent.');
    conversation.continuations.push(next);
    await next.userSays(
      `This session is being continued from a previous conversation that ran out of context. The conversation is summarized below:\n<summary>${reply}</summary>`,
    );
    await next.userSays('Carry on with the remaining work.', { stream: true });
  }

  /** A new conversation that looks like a delegated task but is not one (must never link). */
  async lookAlike(kind: 'one_word' | 'same_opening' | 'other_tenant', prompt: string): Promise<void> {
    const words = prompt.split(' ');
    let text = prompt;
    if (kind === 'one_word') words[Math.floor(words.length / 2)] = 'entirely-different';
    if (kind === 'same_opening') words.splice(10, words.length - 10, ...this.words(14).split(' '));
    if (kind !== 'other_tenant') text = words.join(' ');
    const { chat } = this.conversation(null, 'You are a helpful assistant.', kind === 'other_tenant' ? 'sk-tenant-b' : 'sk-tenant-a');
    await chat.userSays(text);
    await chat.userSays('And then?');
  }
}

const leaf: Plan = { style: 'task', children: [], parallel: false };
const asTool: Plan = { style: 'as_tool', children: [], parallel: false };
const PLANS: Plan[] = [
  { style: 'task', children: [leaf], parallel: false },
  { style: 'task', children: [leaf, leaf], parallel: false },
  { style: 'task', children: [leaf, leaf, leaf], parallel: true },
  { style: 'task', children: [asTool, asTool], parallel: true },
  { style: 'task', children: [{ style: 'task', children: [leaf], parallel: false }], parallel: false },
  { style: 'task', children: [{ style: 'as_tool', children: [asTool, leaf], parallel: true }, leaf], parallel: true },
  { style: 'task', children: [asTool], parallel: false },
];

interface Scores {
  links: { true: number; predicted: number; correct: number; precision: number; recall: number };
  sessions: { requests: number; f1: number };
}

async function score(traffic: Traffic[], stacks: Stack[]): Promise<Scores> {
  // The gateway's parent link of every session, from the sessions API.
  const parentOf = new Map<string, string | null>();
  for (const stack of stacks) {
    const listed = await (await fetch(`${stack.url}/sessions?limit=500`)).json();
    for (const row of listed.sessions) parentOf.set(row.name, row.parent_session_id);
  }
  const truths = traffic.flatMap((t) => t.truths);
  const sessionOf = new Map(truths.map((t) => [t.conv, t.conversation.sessions[0]]));
  let predicted = 0;
  let correct = 0;
  let trueLinks = 0;
  for (const truth of truths) {
    const predictedParent = parentOf.get(sessionOf.get(truth.conv)!) ?? null;
    if (truth.parent) trueLinks++;
    if (predictedParent) {
      predicted++;
      if (truth.parent && predictedParent === sessionOf.get(truth.parent)) correct++;
    }
  }
  // Pairwise F1 of sessions: pairs of requests in one session, against pairs in one true conversation.
  const requests = truths.flatMap((t) => [t.conversation, ...t.continuations].flatMap((chat) => chat.sessions.map((session) => ({ conv: t.conv, session }))));
  let bothSame = 0;
  let predictedSame = 0;
  let trulySame = 0;
  for (let i = 0; i < requests.length; i++)
    for (let j = i + 1; j < requests.length; j++) {
      const p = requests[i].session === requests[j].session;
      const t = requests[i].conv === requests[j].conv;
      if (p) predictedSame++;
      if (t) trulySame++;
      if (p && t) bothSame++;
    }
  const precision = bothSame / predictedSame;
  const recall = bothSame / trulySame;
  return {
    links: { true: trueLinks, predicted, correct, precision: predicted ? correct / predicted : 1, recall: trueLinks ? correct / trueLinks : 1 },
    sessions: { requests: requests.length, f1: (2 * precision * recall) / (precision + recall) },
  };
}

describe('lineage accuracy (simulated agent traffic, both wire formats, concurrent)', () => {
  const stacks: Stack[] = [];
  beforeAll(async () => {
    stacks.push(await startStack({ type: 'openai' }), await startStack({ type: 'anthropic' }));
  });
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()));
  });

  it('links sub-agents to their parents with P ≥ 0.99 and R ≥ 0.95, and keeps sessions exact', async () => {
    const traffic = [new Traffic('openai', stacks[0].url, 7), new Traffic('anthropic', stacks[1].url, 11)];
    await Promise.all(
      traffic.flatMap((t) => [
        ...PLANS.flatMap((plan) => [
          t.agent(`Task for the ${t.words(3)} service: ${t.words(12)}.`, plan, null),
          t.agent(`Another task: ${t.words(10)}.`, plan, null),
        ]),
        ...Array.from({ length: 6 }, () => t.plain()),
        ...Array.from({ length: 4 }, () => t.compacting()),
      ]),
    );
    // Look-alikes come once the tasks they imitate were delegated (and while they are recent).
    await Promise.all(
      traffic.flatMap((t) => t.prompts.slice(0, 12).map((prompt, i) => t.lookAlike((['one_word', 'same_opening', 'other_tenant'] as const)[i % 3], prompt))),
    );
    const scores = await score(traffic, stacks);
    console.log(
      `lineage accuracy: ${scores.links.true} true links, ${scores.links.predicted} predicted, ${scores.links.correct} correct: ` +
        `precision ${scores.links.precision.toFixed(3)}, recall ${scores.links.recall.toFixed(3)}; ` +
        `sessions pairwise F1 ${scores.sessions.f1.toFixed(4)} over ${scores.sessions.requests} requests`,
    );
    expect(scores.links.true).toBe(60);
    expect(scores.links.precision).toBeGreaterThanOrEqual(0.99);
    expect(scores.links.recall).toBeGreaterThanOrEqual(0.95);
    expect(scores.sessions.f1).toBeGreaterThanOrEqual(0.99);
    // Links made by content are confirmed once the sub-agent's answer comes back in the parent's tool result.
    for (const stack of stacks) {
      const sessions = (await (await fetch(`${stack.url}/metrics`)).json()).sessions;
      expect(sessions.lineage.links_confirmed).toBeGreaterThan(0.9 * sessions.lineage.links_tool_call);
      expect(sessions.decisions.compaction).toBe(4); // each compacted history continued its session by that rule
    }
  }, 120_000);
});
