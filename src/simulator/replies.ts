// Deterministic reply text, token accounting and id generation shared by every simulated route.
// Everything here is pure and cheap: the benchmark uses the simulator as its upstream, so a request
// must cost little more than a JSON parse and a few string operations.

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Random base62 id body. Math.random is enough: ids only need to be unique-looking, not secret. */
export function randomId(length = 24): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ID_ALPHABET[Math.floor(Math.random() * ID_ALPHABET.length)];
  return out;
}

/** Prompt tokens are approximated from the request size, as the brief asks (≈ 4 bytes per token). */
export function promptTokens(rawBody: Buffer): number {
  return Math.ceil(rawBody.length / 4);
}

/** Completion tokens = number of whitespace-separated words, so tests can predict the figure. */
export function wordCount(text: string): number {
  const words = text.match(/\S+/g);
  return words ? words.length : 0;
}

/**
 * Splits a reply into stream pieces on spaces, keeping each space in front of the word that follows it
 * (the way real tokenizers emit " word"), so concatenating the pieces gives back the exact text.
 */
export function splitForStream(text: string): string[] {
  if (text === '') return [];
  return text.split(/(?= )/);
}

/**
 * The default reply names the last user message so different conversations get different answers,
 * and a turn counter so successive turns of the same conversation differ too (session grouping tests
 * rely on that). An `x-sim-reply` override wins over both.
 */
export function replyText(lastUserText: string, assistantTurns: number, override?: string): string {
  if (override !== undefined) return override;
  const base = `Reply to: ${lastUserText}`;
  return assistantTurns > 0 ? `${base} (turn ${assistantTurns + 1})` : base;
}

/** Joins the text of a message content that may be a plain string or an array of typed parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const part of content) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      texts.push((part as { text: string }).text);
    }
  }
  return texts.join(' ');
}

interface JsonSchemaLike {
  type?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaLike>;
}

/** A plausible value for one schema property: enum's first value, else a type-appropriate constant. */
function sampleValue(name: string, schema: JsonSchemaLike | undefined): unknown {
  if (schema && Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = Array.isArray(schema?.type) ? schema?.type[0] : schema?.type;
  switch (type) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'null':
      return null;
    default:
      return `sim-${name}`;
  }
}

/** Tool-call arguments built from the tool's parameter property names, so they validate loosely against it. */
export function argumentsFromSchema(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = (schema as JsonSchemaLike | undefined)?.properties;
  if (!props || typeof props !== 'object') return out;
  for (const [name, propSchema] of Object.entries(props)) out[name] = sampleValue(name, propSchema);
  return out;
}

/** Splits a JSON string into a few pieces so streamed tool arguments arrive as real partial JSON. */
export function splitJson(json: string, pieces = 3): string[] {
  if (json.length === 0) return [];
  const size = Math.max(1, Math.ceil(json.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < json.length; i += size) out.push(json.slice(i, i + size));
  return out;
}

/** Completion tokens charged for a tool call: its arguments JSON at ≈ 4 characters per token, plus the name. */
export function toolCallTokens(argumentsJson: string): number {
  return Math.ceil(argumentsJson.length / 4) + 1;
}

/** FNV-1a: a tiny stable hash so embeddings are the same for the same input across runs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export const EMBEDDING_DIMENSIONS = 8;

/** Deterministic unit-length vector of 8 floats derived from the input (mulberry32 seeded by its hash). */
export function embeddingVector(input: string): number[] {
  let seed = fnv1a(input);
  const values: number[] = [];
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values.push(((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5);
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1;
  // Rounded through Float32 so the float and base64 encodings of the same input decode to equal numbers.
  return values.map((v) => Math.fround(v / norm));
}
