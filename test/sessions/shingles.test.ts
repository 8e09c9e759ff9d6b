// Compaction by content (src/sessions/shingles.ts and the `compaction` rule of docs/sessions.md): the false
// positives first (older replies, shared boilerplate, other partitions, short replies), then what real
// clients do with a summary (lead-in on the same line, tags, re-wrapped lines, a cut), then the bounds.
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/sessions/engine.js';
import { Fingerprinter } from '../../src/sessions/fingerprint.js';
import { contentWords, replySample, SHINGLE_MIN_WORDS, SHINGLE_SAMPLE, SHINGLE_WORDS, shingleKeys } from '../../src/sessions/shingles.js';
import { ANSWER_A, ANSWER_B, BOILERPLATE, claudeCodeLeadIn, firstPart, rewrapped, SHORT_REPLY, SUMMARY, TAGGED_REPLY } from '../helpers/compaction.js';
import { ask, assistant, ScriptedChat, toolCall, user } from '../helpers/conversation.js';

const engines: DetectionEngine[] = [];
/** A fixed hash key: the sample of a reply depends on it, so every run checks the same sample. */
function engine(session: Record<string, unknown> = {}): DetectionEngine {
  const e = new DetectionEngine(configSchema.parse({ session: { hash_key: 'compaction-tests', ...session } }).session);
  engines.push(e);
  return e;
}
afterEach(() => engines.splice(0).forEach((e) => e.close()));

/** A conversation of one session that ends with `reply`; returns the engine and the session id. */
function sessionEndingWith(e: DetectionEngine, reply: string, partition = 'key-a'): string {
  const chat = new ScriptedChat(e, { partition });
  const id = chat.send(user('Let us build a lending library service'), 'Sure, where do we start?').sessionId;
  chat.send(user('Summarise the conversation so far'), reply);
  return id;
}

/** The first request of a new history whose first user message is `text`. */
const newHistory = (e: DetectionEngine, text: string, partition = 'key-a') => ask(e, [user(text)], { partition });

describe('contentWords and shingle keys', () => {
  const f = new Fingerprinter('k');
  const shingleOf = (text: string) => {
    const keys = shingleKeys(f, 'p', contentWords(text, 1000));
    return Array.from(keys.hi, (hi, i) => `${hi}:${keys.lo[i]}`);
  };

  it('ignores tags, analysis blocks, markdown emphasis, punctuation and line layout', () => {
    const plain = contentWords('The loan has a due date, and members borrow five books.', 100);
    expect(contentWords('<summary>\nThe **loan** has a _due date_,\nand members\n   borrow five books.\n</summary>', 100)).toEqual(plain);
    expect(contentWords('<analysis>\nthinking about it\n</analysis>\n<summary>The loan has a due date, and members borrow five books.</summary>', 100)).toEqual(
      plain,
    );
  });

  it('keeps an unclosed <analysis> as text, and reads a bounded head of a huge message', () => {
    expect(contentWords('a <analysis> b <analysis> c', 100)).toEqual(['a', 'b', 'c']);
    expect(contentWords(`${'<analysis>'.repeat(100_000)} tail`, 10)).toEqual([]);
    expect(contentWords('word '.repeat(1_000_000), 50)).toHaveLength(50);
  });

  it('gives one key per run of words, depending on order and partition', () => {
    const list = contentWords('one two three four five six seven eight nine', 100);
    const keys = shingleKeys(f, 'p', list);
    expect(keys.hi).toHaveLength(list.length - SHINGLE_WORDS + 1);
    expect(shingleKeys(f, 'p', list)).toEqual(keys);
    const other = shingleKeys(f, 'q', list);
    expect([other.hi[0], other.lo[0]]).not.toEqual([keys.hi[0], keys.lo[0]]);
    const reversed = shingleKeys(f, 'p', [...list].reverse());
    expect(Array.from(reversed.hi)).not.toContain(keys.hi[0]);
    expect(shingleKeys(f, 'p', list.slice(0, SHINGLE_WORDS - 1)).hi).toHaveLength(0);
  });

  it('counts a repeated run once in a reply sample', () => {
    const run = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu';
    expect(replySample(f, 'p', `${run} ${run}`)).toHaveLength(new Set(shingleOf(`${run} ${run}`)).size);
  });

  it('samples at most SHINGLE_SAMPLE keys of a reply, none below SHINGLE_MIN_WORDS words', () => {
    expect(replySample(f, 'p', SUMMARY)).toHaveLength(SHINGLE_SAMPLE);
    expect(replySample(f, 'p', SHORT_REPLY)).toHaveLength(14 - SHINGLE_WORDS + 1);
    const tooShort = 'word '.repeat(SHINGLE_MIN_WORDS - 1);
    expect(replySample(f, 'p', tooShort)).toEqual([]);
    // The analysis block and tags do not change the sample: the client keeps only the summary.
    expect(replySample(f, 'p', TAGGED_REPLY)).toEqual(replySample(f, 'p', SUMMARY));
  });
});

describe('compaction by content: what must not link', () => {
  it('does not let a new history quoting an OLDER reply of a session join it', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Summarise'), SUMMARY).sessionId;
    chat.send(user('Now something else'), ANSWER_A);
    const quoted = newHistory(e, claudeCodeLeadIn(SUMMARY));
    expect(quoted).toMatchObject({ isNew: true, rule: 'first' });
    expect(quoted.sessionId).not.toBe(s);
    // Its latest reply still seeds one.
    expect(newHistory(e, claudeCodeLeadIn(ANSWER_A))).toMatchObject({ sessionId: s, rule: 'compaction' });
  });

  it('does not link conversations that only share boilerplate sentences', () => {
    const e = engine();
    const a = sessionEndingWith(e, ANSWER_A);
    const b = sessionEndingWith(e, ANSWER_B);
    const shared = newHistory(e, `Someone wrote this to me:\n${BOILERPLATE}\nWhat is a good way to answer politely?`);
    expect(shared).toMatchObject({ isNew: true, rule: 'first' });
    expect([a, b]).not.toContain(shared.sessionId);
    // Each one's own reply still links to it, and not to the other sharing the boilerplate.
    expect(newHistory(e, claudeCodeLeadIn(ANSWER_B)).sessionId).toBe(b);
    expect(newHistory(e, claudeCodeLeadIn(ANSWER_A)).sessionId).toBe(a);
  });

  it('does not link a history that keeps less than 60% of the reply', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY);
    expect(newHistory(e, claudeCodeLeadIn(firstPart(SUMMARY, 0.3))).sessionId).not.toBe(s);
  });

  it('never links across partitions', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY, 'key-a');
    const other = newHistory(e, claudeCodeLeadIn(SUMMARY), 'key-b');
    expect(other).toMatchObject({ isNew: true, rule: 'first' });
    expect(other.sessionId).not.toBe(s);
  });

  it('does not recognise replies below the minimum by content (only as a paragraph of their own)', () => {
    const e = engine();
    const reply = 'Use a separate reservations table keyed by book and member.'; // 11 words
    const s = sessionEndingWith(e, reply);
    expect(newHistory(e, `Earlier you said: ${reply} Continue from there.`).sessionId).not.toBe(s);
  });

  it('does not sample tool-call arguments: a sub-agent handed a task is not a compaction of its parent', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const parent = chat.send(user('Refactor the loans module'), toolCall('call_1', 'Task', { prompt: SUMMARY })).sessionId;
    const sub = newHistory(e, SUMMARY);
    expect(sub).toMatchObject({ isNew: true, rule: 'first' });
    expect(sub.sessionId).not.toBe(parent);
  });

  it('does not look past the first user messages', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY);
    const late = [...['a', 'b', 'c', 'd'].flatMap((t) => [user(`question ${t}`), assistant(`answer ${t}`)]), user(claudeCodeLeadIn(SUMMARY))];
    expect(ask(e, late).sessionId).not.toBe(s);
  });
});

describe('compaction by content: what real clients send', () => {
  it("follows Claude Code's lead-in, single newline and the summary out of its tags", () => {
    const e = engine();
    const s = sessionEndingWith(e, TAGGED_REPLY);
    const decision = ask(e, [user(claudeCodeLeadIn(SUMMARY)), assistant('Continuing.'), user('Write the migration')]);
    expect(decision).toMatchObject({ sessionId: s, rule: 'compaction', isNew: false });
    expect(decision.reason).toMatch(/by content \(\d+% of its sampled shingles\)/);
  });

  it('follows a summary wrapped in <summary> tags by the client', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY);
    expect(newHistory(e, `Context from before:<summary>${SUMMARY}</summary>`)).toMatchObject({ sessionId: s, rule: 'compaction' });
  });

  it('follows re-wrapped lines without markdown emphasis', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY);
    expect(newHistory(e, `Previous context: ${rewrapped(SUMMARY)}`)).toMatchObject({ sessionId: s, rule: 'compaction' });
  });

  it('follows a partial summary that keeps most of the reply', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY);
    expect(newHistory(e, claudeCodeLeadIn(firstPart(SUMMARY, 0.85)))).toMatchObject({ sessionId: s, rule: 'compaction' });
  });

  it('follows a short reply quoted inside a sentence', () => {
    const e = engine();
    const s = sessionEndingWith(e, SHORT_REPLY);
    expect(newHistory(e, `Earlier you said: ${SHORT_REPLY} Continue from there.`)).toMatchObject({ sessionId: s, rule: 'compaction' });
  });

  it('finds the summary in a later one of the first user messages, and later turns continue', () => {
    const e = engine();
    const s = sessionEndingWith(e, SUMMARY);
    const history = [user('<system-reminder>project notes</system-reminder>'), user(claudeCodeLeadIn(SUMMARY))];
    expect(ask(e, history)).toMatchObject({ sessionId: s, rule: 'compaction' });
    const chat = new ScriptedChat(e);
    expect(chat.send(history, 'Continuing with the migration.')).toMatchObject({ sessionId: s, rule: 'compaction' });
    expect(chat.send(user('Go on'), 'Done.')).toMatchObject({ sessionId: s, rule: 'continued' });
    expect(e.metrics().decisions.compaction).toBe(2);
  });
});

describe('compaction by content: bounds', () => {
  it('indexes one sample per session, replaced by each newer reply and dropped with the session', () => {
    const e = engine();
    const chat = new ScriptedChat(e);
    const s = chat.send(user('Summarise'), SUMMARY).sessionId;
    expect(e.indexSizes().shingles).toBe(SHINGLE_SAMPLE);
    chat.send(user('Another'), ANSWER_A);
    expect(e.indexSizes().shingles).toBe(SHINGLE_SAMPLE);
    chat.send(user('Short'), 'OK.');
    expect(e.indexSizes().shingles).toBe(0);
    chat.send(user('Again'), SUMMARY);
    expect(e.end(s)).toBe(true);
    expect(e.indexSizes().shingles).toBe(0);
    expect(newHistory(e, claudeCodeLeadIn(SUMMARY)).sessionId).not.toBe(s);
  });
});
