/**
 * Tool-call arguments in the canonical form. Arguments compare as JSON with sorted keys (`stableJson`), so
 * a client that re-serialises them (other spacing, other key order) still matches. Above LONG_TEXT of
 * that form, sorting would need the whole value, so long arguments stand as `json:<length>:<digest>`
 * instead: the length of `stableJson(value)` and a structural digest that does not depend on key order
 * (an object's digest hashes the sum of its members' digests). The request side computes it from the value
 * it parsed (`argumentsForm`), the reply side from the streamed text (`JsonFold`), both the same way.
 * Arguments that are not JSON compare as trimmed text, long ones by the long-text form.
 */
import { createHash, hash, type Hash } from 'node:crypto';
import { FoldedString } from './folded.js';
import { JsonTokenizer, type JsonSink } from './json-tokens.js';
import { LONG_TEXT, trimmedForm } from './long-text.js';
import { stableJson } from './json-text.js';

export const longJsonForm = (length: number, digestHex: string): string => `json:${length}:${digestHex}`;

const sha256 = (text: string): Buffer => hash('sha256', text, 'buffer');

/** A 256-bit sum modulo 2^256: members added in any order give the same total. */
class Sum256 {
  private readonly words = new Uint32Array(8);

  add(digest: Buffer): void {
    let carry = 0;
    for (let i = 0; i < 8; i++) {
      const total = this.words[i] + digest.readUInt32LE(i * 4) + carry;
      this.words[i] = total >>> 0;
      carry = total > 0xffffffff ? 1 : 0;
    }
  }

  hex(): string {
    const out = Buffer.alloc(32);
    for (let i = 0; i < 8; i++) out.writeUInt32LE(this.words[i], i * 4);
    return out.toString('hex');
  }
}

/*
 * The structural digest, defined on encodings that both sides can produce in one pass:
 *   scalar   its canonical JSON text (`JSON.stringify`); a string longer than LONG_TEXT that way stands
 *            as `$` + SHA-256 of that text (so a folded string, which no longer has it, can take part)
 *   array    `#` + SHA-256 of `[` and each item's encoding followed by `,`
 *   object   `#` + SHA-256 of `{` and the hex sum of SHA-256(name encoding `:` value encoding) over its
 *            members: the same whatever their order
 * and the digest of a value is its encoding's hash (a container's, the one in its encoding).
 */
const arrayEncoding = (items: string): string => `#${sha256(`[${items}`).toString('hex')}`;
const objectEncoding = (sum: Sum256): string => `#${sha256(`{${sum.hex()}`).toString('hex')}`;
const memberDigest = (name: string, value: string): Buffer => sha256(`${name}:${value}`);
const digestOf = (encoding: string): string => (encoding.startsWith('#') ? encoding.slice(1) : sha256(encoding).toString('hex'));

/** The encoding of a string from its canonical JSON text (quotes included). */
export const stringEncoding = (json: string): string => (json.length > LONG_TEXT ? `$${sha256(json).toString('hex')}` : json);

const isContainer = (value: unknown): value is object => value !== null && typeof value === 'object' && !(value instanceof FoldedString);

function scalarEncoding(value: unknown): string {
  if (typeof value === 'string') return stringEncoding(JSON.stringify(value));
  if (value instanceof FoldedString) return value.leafEncoding();
  return JSON.stringify(value) ?? 'null';
}

interface WalkFrame {
  items: unknown[];
  /** Objects: their member names, in the order of `items`. */
  keys: string[] | null;
  index: number;
}

function frameOf(value: object): WalkFrame {
  if (Array.isArray(value)) return { items: value, keys: null, index: 0 };
  const keys = Object.keys(value);
  return { items: keys.map((key) => (value as Record<string, unknown>)[key]), keys, index: 0 };
}

/**
 * The structural digest (hex) of a parsed JSON value; folded strings take part by their encoding. Walked
 * with its own stack, not by recursion: JSON.parse accepts values nested deeper than the call stack allows.
 */
export function jsonDigest(root: unknown): string {
  const stack: (WalkFrame & { encodings: string; sum: Sum256 | null })[] = [];
  let next = root;
  for (;;) {
    let encoding: string | null = null;
    if (isContainer(next)) {
      const frame = frameOf(next);
      stack.push({ ...frame, encodings: '', sum: frame.keys ? new Sum256() : null });
    } else encoding = scalarEncoding(next);
    for (;;) {
      const top = stack[stack.length - 1];
      if (encoding !== null) {
        if (!top) return digestOf(encoding);
        if (top.keys) top.sum!.add(memberDigest(stringEncoding(JSON.stringify(top.keys[top.index - 1])), encoding));
        else top.encodings += `${encoding},`;
        encoding = null;
      }
      if (top.index < top.items.length) {
        next = top.items[top.index++];
        break;
      }
      stack.pop();
      encoding = top.keys ? objectEncoding(top.sum!) : arrayEncoding(top.encodings);
    }
  }
}

/** `stableJson(value).length`, or any number above `limit` as soon as it is sure to exceed it (no recursion). */
export function canonicalLength(root: unknown, limit = Infinity): number {
  const stack: WalkFrame[] = [];
  let length = 0;
  let next = root;
  for (;;) {
    if (isContainer(next)) {
      const frame = frameOf(next);
      length += 2 + Math.max(0, frame.items.length - 1); // brackets and commas
      for (const key of frame.keys ?? []) length += JSON.stringify(key).length + 1; // names and colons
      stack.push(frame);
    } else if (typeof next === 'string') length += next.length > limit ? next.length : JSON.stringify(next).length;
    else if (next instanceof FoldedString) length += next.leafLength();
    else length += (JSON.stringify(next) ?? 'null').length;
    if (length > limit) return length;
    let top = stack[stack.length - 1];
    while (top && top.index === top.items.length) {
      stack.pop();
      top = stack[stack.length - 1];
    }
    if (!top) return length;
    next = top.items[top.index++];
  }
}

/** The canonical form of a parsed value as arguments: stableJson, or the long form above LONG_TEXT. */
export function jsonValueForm(value: unknown): string {
  if (canonicalLength(value, LONG_TEXT) <= LONG_TEXT) return stableJson(value);
  return longJsonForm(canonicalLength(value), jsonDigest(value));
}

/** The canonical form of tool-call arguments as a client or provider gives them (JSON text or a value). */
export function argumentsForm(args: unknown): string {
  if (args instanceof FoldedString) return args.argumentsForm();
  if (typeof args !== 'string') return jsonValueForm(args ?? {});
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return trimmedForm(args).text; // not JSON (a partial stream, a custom tool): compare as given
  }
  return jsonValueForm(value);
}

/** One open container; kept small, as there may be thousands (tokenizer MAX_DEPTH). */
interface Frame {
  object: boolean;
  /** Items or members read so far (for the commas of the compact text). */
  count: number;
  /** Arrays: their items' encodings not hashed yet, and (once those outgrow SLICE) the hash of the rest. */
  encodings: string;
  hash: Hash | null;
  /** Objects: the sum of their members' digests (from the first member on), and the name being read. */
  sum: Sum256 | null;
  name: string | null;
}

/** Items' encodings an array fold holds before hashing them. */
const SLICE = 16 * 1024;

/**
 * The reply side of `argumentsForm` for JSON text streamed in pieces: tokenizes as it goes, keeping the
 * structural digest, the canonical length, and (while that is at most LONG_TEXT) the value re-serialised
 * compactly, from which the short form is rebuilt at the end. Holds about 2 × LONG_TEXT characters plus
 * a digest per open container, whatever the size of the value.
 */
export class JsonFold implements JsonSink {
  private readonly tokenizer = new JsonTokenizer(this);
  private readonly frames: Frame[] = [];
  private length = 0;
  private compact: string | null = '';
  private root: string | null = null;
  /** The string being read: its canonical JSON text while short, then a hash of it. */
  private string = '';
  private stringHash: Hash | null = null;
  private stringIsName = false;
  /** A high surrogate held back until the next piece shows whether it is half of a pair. */
  private carry = '';
  private ended = false;

  write(text: string): void {
    this.tokenizer.write(text);
  }

  /** Characters held, for the caller's memory accounting. */
  get heldChars(): number {
    return (this.compact?.length ?? 0) + this.string.length;
  }

  /** The arguments form, or null when the text was not one JSON value (the caller compares it as text). */
  result(): string | null {
    if (!this.ended) {
      this.ended = true;
      this.tokenizer.end();
    }
    if (!this.tokenizer.complete) return null;
    if (this.compact !== null) return stableJson(JSON.parse(this.compact));
    return longJsonForm(this.length, digestOf(this.root!));
  }

  open(kind: 'object' | 'array'): void {
    this.beforeValue();
    const object = kind === 'object';
    this.frames.push({ object, count: 0, encodings: '', hash: null, sum: null, name: null });
    this.emit(object ? '{' : '[');
  }

  close(): void {
    const frame = this.frames.pop()!;
    this.emit(frame.object ? '}' : ']');
    if (frame.object) this.value(objectEncoding(frame.sum ?? new Sum256()));
    else this.value(frame.hash ? `#${frame.hash.update(frame.encodings).digest('hex')}` : arrayEncoding(frame.encodings));
  }

  stringStart(name: boolean): void {
    if (!name) this.beforeValue();
    else if (this.frames[this.frames.length - 1].count > 0) this.emit(',');
    this.stringIsName = name;
    this.string = '';
    this.stringHash = null;
    this.carry = '';
    this.addToString('"');
  }

  stringPiece(text: string): void {
    if (this.carry) {
      text = this.carry + text;
      this.carry = '';
    }
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.carry = text[text.length - 1];
      text = text.slice(0, -1);
    }
    if (text) this.addToString(JSON.stringify(text).slice(1, -1));
  }

  stringEnd(): void {
    if (this.carry) this.addToString(JSON.stringify(this.carry).slice(1, -1));
    this.carry = '';
    this.addToString('"');
    const encoding = this.stringHash ? `$${this.stringHash.digest('hex')}` : stringEncoding(this.string);
    this.string = '';
    this.stringHash = null;
    if (this.stringIsName) {
      this.frames[this.frames.length - 1].name = encoding;
      this.emit(':');
    } else this.value(encoding);
  }

  number(value: number): void {
    this.scalar(JSON.stringify(value) ?? 'null');
  }

  literal(value: boolean | null): void {
    this.scalar(String(value));
  }

  private scalar(text: string): void {
    this.beforeValue();
    this.emit(text);
    this.value(text);
  }

  /** Escaped string text: kept while the string's JSON is short, hashed once it is not. */
  private addToString(escaped: string): void {
    this.emit(escaped);
    if (this.stringHash) this.stringHash.update(escaped);
    else if (this.string.length + escaped.length <= LONG_TEXT) this.string += escaped;
    else {
      this.stringHash = createHash('sha256').update(this.string).update(escaped);
      this.string = '';
    }
  }

  /** A comma before an array's second and later items (members get theirs before their name). */
  private beforeValue(): void {
    const top = this.frames[this.frames.length - 1];
    if (top && !top.object && top.count > 0) this.emit(',');
  }

  private value(encoding: string): void {
    const top = this.frames[this.frames.length - 1];
    if (!top) {
      this.root = encoding;
      return;
    }
    top.count++;
    if (top.object) {
      (top.sum ??= new Sum256()).add(memberDigest(top.name!, encoding));
      top.name = null;
      return;
    }
    top.encodings += `${encoding},`;
    if (top.encodings.length > SLICE) {
      (top.hash ??= createHash('sha256').update('[')).update(top.encodings);
      top.encodings = '';
    }
  }

  private emit(text: string): void {
    this.length += text.length;
    if (this.compact === null) return;
    if (this.compact.length + text.length > LONG_TEXT) this.compact = null;
    else this.compact += text;
  }
}
