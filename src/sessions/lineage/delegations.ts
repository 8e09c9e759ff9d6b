import type { CanonicalMessage } from '../../conversation/canonical.js';
import { segmentsOf, TOOL_MARK } from '../../conversation/segments.js';
import { words } from '../fingerprint.js';

/**
 * Delegations: tool calls that hand a task to another agent. Claude Code's `Agent` (formerly `Task`) tool
 * sends `prompt`, the OpenAI Agents SDK's `agent.as_tool()` sends `input`, LangGraph and AI SDK helpers
 * `task` or `instructions`; the sub-agent's conversation then starts with that text as (the end of) its
 * first user message. Only a distinctive argument counts: at least MIN_WORDS words and MIN_CHARS
 * characters, so a short, common instruction ("summarise the file") can never link two sessions.
 */
export const DELEGATION_ARGUMENTS = ['prompt', 'input', 'task', 'instructions', 'query', 'request'] as const;
export const MIN_WORDS = 12;
export const MIN_CHARS = 60;
/** Words of an argument kept for matching (a longer prompt is identified by its first words). */
export const MAX_WORDS = 2000;
/** Delegations read from one reply (parallel tool calls); the rest are ignored. */
export const MAX_PER_REPLY = 16;

export interface Delegation {
  /** The tool call's id, as the parent's tool result will name it. */
  callId: string;
  /** The argument's words (lower-case, punctuation dropped), at most MAX_WORDS. */
  words: string[];
}

/** The argument names as they appear in canonical JSON, to skip parsing calls that have none of them. */
const QUOTED_NAMES = DELEGATION_ARGUMENTS.map((name) => `"${name}":`);

function argumentText(args: string): string | undefined {
  if (!args.startsWith('{')) return undefined; // long arguments stand as a digest form: nothing to read
  // Agents call tools with large arguments all the time (a file's content to write): parse only those that
  // could hold a task.
  if (!QUOTED_NAMES.some((name) => args.includes(name))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const record = parsed as Record<string, unknown>;
  for (const name of DELEGATION_ARGUMENTS) {
    const value = record[name];
    if (typeof value === 'string' && value.length >= MIN_CHARS) return value;
  }
  return undefined;
}

/** The delegations of a reply's messages (tool calls with a distinctive task argument). */
export function delegationsOf(replies: CanonicalMessage[]): Delegation[] {
  const out: Delegation[] = [];
  for (const message of replies) {
    if (!message.text.includes(TOOL_MARK)) continue;
    for (const segment of segmentsOf(message)) {
      if (segment.kind !== 'call' || out.length >= MAX_PER_REPLY) continue;
      const text = argumentText(segment.args);
      if (!text) continue;
      const argWords = words(text, MAX_WORDS);
      if (argWords.length >= MIN_WORDS) out.push({ callId: segment.id, words: argWords });
    }
  }
  return out;
}
