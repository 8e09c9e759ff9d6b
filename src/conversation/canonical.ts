/**
 * Canonical form of a message: what two messages must share to count as the same (docs/sessions.md).
 * Clients echo replies in different shapes (string vs. text parts, extra SDK fields such as `refusal` or
 * `annotations`, blocks vs. text); adapters feed only the parts that matter (role, text, tool calls, tool
 * results, image digests) into a builder, so those differences vanish before anything is hashed. The
 * providers build canonical messages, the session engine compares them: this module belongs to neither.
 */
import { argumentsForm } from './long-json.js';
import { type LongText, textSegment } from './long-text.js';
import { encodeCall, encodeImage, encodeResult, joinSegments } from './segments.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface CanonicalMessage {
  role: Role;
  /** The message's segments in their string encoding (segments.ts). */
  text: string;
  /** The message's 16-bit sketch, computed once on first use (see src/sessions/fingerprint.ts). */
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

/** Accumulates one message's meaningful segments in order. */
export class CanonicalBuilder {
  private readonly segments: (string | LongText)[] = [];

  /** A string, or a long one the reply side folded; an assistant's texts over 64 KB stand as a digest. */
  text(value: unknown): this {
    const segment = textSegment(value);
    if (segment) this.segments.push(segment);
    return this;
  }

  toolCall(id: unknown, name: unknown, args: unknown): this {
    this.segments.push(encodeCall(String(id ?? ''), String(name ?? ''), argumentsForm(args)));
    return this;
  }

  toolResult(id: unknown, content: string): this {
    this.segments.push(encodeResult(String(id ?? ''), content.trim()));
    return this;
  }

  image(source: string): this {
    this.segments.push(encodeImage(source));
    return this;
  }

  build(role: Role): CanonicalMessage {
    const segments = this.segments.map((segment) => (typeof segment === 'string' ? segment : segment.segment(role === 'assistant')));
    return { role, text: joinSegments(segments), sketch: undefined };
  }
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
