/**
 * Canonical form of a message: what two messages must share to count as the same (SESSIONS.md vocabulary).
 * Clients echo replies in different shapes (string vs. text parts, extra SDK fields such as `refusal` or
 * `annotations`, blocks vs. text); adapters feed only the parts that matter (role, text, tool calls, tool
 * results, image digests) into a builder, so those differences vanish before anything is hashed.
 */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface CanonicalMessage {
  role: Role;
  /** Segments joined by SEP; text segments trimmed, tool segments marked with TOOL_MARK. */
  text: string;
  /** The message's 16-bit sketch, computed once on first use (see fingerprint.ts). */
  sketch?: number;
}

/**
 * A request's conversation without its system prompt (clients rewrite system prompts freely). Messages are
 * canonicalised on demand and memoised: the engine reads only the tail of a long agent history.
 */
export interface Conversation {
  readonly length: number;
  role(index: number): Role;
  message(index: number): CanonicalMessage;
}

export const SEP = '\u0001';
export const TOOL_MARK = '\u0002';

/** JSON with object keys sorted, so re-serialised tool arguments (other spacing, key order) compare equal. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
}

function canonicalArguments(args: unknown): string {
  if (typeof args !== 'string') return stableJson(args ?? {});
  try {
    return stableJson(JSON.parse(args));
  } catch {
    return args.trim(); // not JSON (a partial stream, a custom tool): compare as given
  }
}

/** Accumulates one message's meaningful segments in order. */
export class CanonicalBuilder {
  private readonly segments: string[] = [];

  text(value: unknown): this {
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed) this.segments.push(trimmed);
    }
    return this;
  }

  toolCall(id: unknown, name: unknown, args: unknown): this {
    this.segments.push(`${TOOL_MARK}call:${String(id ?? '')}:${String(name ?? '')}:${canonicalArguments(args)}`);
    return this;
  }

  toolResult(id: unknown, content: string): this {
    this.segments.push(`${TOOL_MARK}result:${String(id ?? '')}:${content.trim()}`);
    return this;
  }

  /** Images count by a digest of their source (URL or base64 data): length and both ends, never all bytes. */
  image(source: string): this {
    this.segments.push(`${TOOL_MARK}image:${source.length}:${source.slice(0, 64)}:${source.slice(-64)}`);
    return this;
  }

  build(role: Role): CanonicalMessage {
    return { role, text: this.segments.join(SEP), sketch: undefined };
  }
}

/** The words a person typed in a message: text segments only, never tool results or call arguments. */
export function spokenText(message: CanonicalMessage): string {
  if (!message.text.includes(TOOL_MARK)) return message.text;
  return message.text
    .split(SEP)
    .filter((segment) => !segment.startsWith(TOOL_MARK))
    .join('\n');
}

/** A conversation over already-canonical messages (Responses API items, tests). */
export function conversationOf(messages: CanonicalMessage[]): Conversation {
  return { length: messages.length, role: (i) => messages[i].role, message: (i) => messages[i] };
}

/**
 * A conversation over raw provider messages: roles are read directly, canonical forms are built only for
 * the messages the engine asks about, each at most once.
 */
export function lazyConversation<T>(raw: T[], roleOf: (message: T) => Role, canonical: (message: T) => CanonicalMessage): Conversation {
  const memo: (CanonicalMessage | undefined)[] = new Array(raw.length);
  return {
    length: raw.length,
    role: (i) => roleOf(raw[i]),
    message: (i) => (memo[i] ??= canonical(raw[i])),
  };
}
