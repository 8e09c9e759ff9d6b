/**
 * Canonical form of a message: what two messages must share to count as the same (SESSIONS.md vocabulary).
 * Clients echo replies in different shapes (string vs. text parts, extra SDK fields such as `refusal` or
 * `annotations`, blocks vs. text); adapters feed only the parts that matter (role, text, tool calls, tool
 * results, image digests) into a builder, so those differences vanish before anything is hashed.
 */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface CanonicalMessage {
  role: Role;
  /** Segments joined by a separator that cannot appear in JSON text; ends trimmed. */
  text: string;
}

export interface ConversationHistory {
  /** System prompt segments (OpenAI system/developer messages, Anthropic top-level `system`). */
  system: string[];
  /** Non-system messages in order. */
  messages: CanonicalMessage[];
}

const SEP = '\u0001';

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
    const argText = typeof args === 'string' ? args.trim() : JSON.stringify(args ?? {});
    this.segments.push(`\u0002call:${String(id ?? '')}:${String(name ?? '')}:${argText}`);
    return this;
  }

  toolResult(id: unknown, content: string): this {
    this.segments.push(`\u0002result:${String(id ?? '')}:${content.trim()}`);
    return this;
  }

  /** Images count by digest of their source (URL or base64 data), never by their bytes in full. */
  image(source: string): this {
    this.segments.push(`\u0002image:${source.length}:${source.slice(0, 64)}:${source.slice(-64)}`);
    return this;
  }

  build(role: Role): CanonicalMessage {
    return { role, text: this.segments.join(SEP) };
  }
}
