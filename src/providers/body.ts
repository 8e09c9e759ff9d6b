/** Small readers over a parsed JSON body, shared by every adapter. */
export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asNumber(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** `metadata.session_id` is how a client names its session in the body (OpenAI and Anthropic alike). */
export function metadataSessionId(body: Json): string | undefined {
  return asString(asObject(body.metadata)?.session_id);
}

/** Text of a content value that may be a string or a list of text parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  for (const part of asArray(content)) {
    const text = asString(asObject(part)?.text);
    if (text !== undefined) texts.push(text);
  }
  return texts.join('\n');
}

/** A valid array index below `limit`, else undefined: a provider cannot make the gateway allocate a huge array. */
export function boundedIndex(index: unknown, limit: number): number | undefined {
  const n = asNumber(index);
  return Number.isInteger(n) && n >= 0 && n < limit ? n : undefined;
}

/** The reasons generation stopped, strings only (an upstream may send anything). */
export function finishReasonsOf(values: unknown[]): string[] | undefined {
  const reasons = values.filter((value): value is string => typeof value === 'string' && value !== '');
  return reasons.length > 0 ? reasons : undefined;
}
