import { hash, randomBytes } from 'node:crypto';
import type { CanonicalMessage, Conversation } from '../conversation/canonical.js';
import { spokenText, toolCallNames } from '../conversation/segments.js';

/** Two 32-bit halves of a keyed digest. */
export interface DigestKey {
  hi: number;
  lo: number;
}

/**
 * Keyed digests of message content. The per-deployment secret goes in first and the partition next, so
 * nobody can compute (and so craft) the key of another client's message, and equal messages under two
 * credentials never share a key. 64 bits keep accidental collisions out of reach of a bounded index
 * (below one in a million with a million live keys).
 */
export class Fingerprinter {
  /**
   * The secret, hashed in front of every input: SHA-256 over the secret's UTF-8 bytes then the input's,
   * in one call (`crypto.hash`), which costs half of copying a pre-keyed hash state and finishing it. A
   * random secret (no hash_key, no store) is base64 text, so it is valid UTF-8 like a configured one.
   */
  private readonly secret: string;

  constructor(secret?: string) {
    this.secret = secret || randomBytes(32).toString('base64');
  }

  /** 64-bit key for the typed index (reply and loose-form lookups). */
  key(partition: string, kind: string, text: string): DigestKey {
    const digest = hash('sha256', `${this.secret}${partition}\0${kind}\0${text}`, 'buffer');
    return { hi: digest.readUInt32LE(0), lo: digest.readUInt32LE(4) };
  }

  /** 96-bit key as a short string, for the small Map-based indexes (paragraphs, response ids). */
  keyString(partition: string, kind: string, text: string): string {
    return hash('sha256', `${this.secret}${partition}\0${kind}\0${text}`, 'buffer').toString('latin1', 0, 12);
  }

  messageKey(partition: string, message: CanonicalMessage): DigestKey {
    return this.key(partition, message.role, message.text);
  }

  /**
   * A second key for the same message in another role (a session's first reply as its anchor), derived
   * from the first instead of hashed again: still unforgeable, never equal to a message key.
   */
  static derived(key: DigestKey): DigestKey {
    return { hi: (key.hi ^ 0x9e3779b9) >>> 0, lo: (key.lo ^ 0x7f4a7c15) >>> 0 };
  }
}

/** 32-bit FNV-1a over a short string: cheap, unkeyed, only ever compared inside one session's own sketch. */
export function fnv32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Word characters: ASCII letters and digits, and every character from U+00C0 up (the letters of every other
 * script, at the price of counting a few symbols as letters). A character test, not a Unicode regex: this
 * runs on every reply and was the hottest function of the engine as a regex.
 */
function isWordChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code >= 0xc0;
}

/** Lower-case words of a text, punctuation and markup dropped (what survives reformatting); stops at `limit`. */
export function words(text: string, limit = Infinity): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length && out.length < limit; i++) {
    const inWord = i < text.length && isWordChar(text.charCodeAt(i));
    if (inWord && start === -1) start = i;
    else if (!inWord && start !== -1) {
      out.push(text.slice(start, i).toLowerCase());
      start = -1;
    }
  }
  return out;
}

/**
 * What an altered echo of a reply still shares with the original: its first three words (apps shorten
 * replies to their first words, reflow or strip markdown) and the names of the tools it called.
 */
export function looseForm(message: CanonicalMessage): string {
  const head = spokenText(message.text.length > 200 ? { role: message.role, text: message.text.slice(0, 200) } : message);
  return `${message.role}:${words(head, 3).join(' ')}|${toolCallNames(message).join(',')}`;
}

/**
 * A message's 16-bit sketch value, for fuzzy similarity and for telling branches apart. Assistant messages
 * use their loose form (apps may alter them); other messages are echoed verbatim, so their length and both
 * ends identify them well. 16 bits: a stray equality costs a tie-break, never a link, and a session keeps
 * its sketch as one character per message.
 */
export function sketchValue(message: CanonicalMessage): number {
  if (message.sketch !== undefined) return message.sketch; // several rules ask about the same message
  const text = message.text;
  const hash = message.role === 'assistant' ? fnv32(looseForm(message)) : fnv32(`${message.role}:${text.length}:${text.slice(0, 64)}:${text.slice(-32)}`);
  message.sketch = hash % NO_SKETCH; // 0..65534: 65535 is kept free to mean "none"
  return message.sketch;
}

/** The sketch value that no message has: "no message" (nothing before a reply, no follow-up yet). */
export const NO_SKETCH = 0xffff;

/** One 16-bit value for up to three sketch values in order: the context a reply was given in. */
function combineSketches(values: number[]): number {
  if (values.length === 0) return NO_SKETCH;
  return fnv32(values.join(',')) % NO_SKETCH;
}

/** Messages before a reply that make up its context (tells apart equal replies in different sessions). */
const CONTEXT_SIZE = 3;

/** Combined sketch of the messages ending at `end` (the context a reply was given in). */
export function contextSketch(c: Conversation, end: number): number {
  const values: number[] = [];
  for (let i = Math.max(0, end - CONTEXT_SIZE + 1); i <= end; i++) values.push(sketchValue(c.message(i)));
  return combineSketches(values);
}

/**
 * The first paragraphs (blank-line separated) long enough to identify a reply when it reappears inside a
 * compacted history. A summary is quoted verbatim, so paragraphs are only trimmed, not normalised, and a
 * few of them identify it: scanning stops at `limit`.
 */
export function paragraphs(text: string, minLength = 80, limit = 4): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length && out.length < limit) {
    let end = text.indexOf('\n\n', start);
    if (end === -1) end = text.length;
    if (end - start >= minLength) {
      const paragraph = text.slice(start, end).trim();
      if (paragraph.length >= minLength) out.push(paragraph);
    }
    start = end + 2;
  }
  return out;
}
