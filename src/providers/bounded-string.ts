import { createHash, randomUUID, type Hash } from 'node:crypto';
import { FoldedString } from '../conversation/folded.js';
import { argumentsForm, JsonFold, stringEncoding } from '../conversation/long-json.js';
import { LONG_TEXT, TrimmedTextFold, trimmedForm, type TrimmedForm } from '../conversation/long-text.js';
import { TOOL_MARK } from '../conversation/segments.js';
import type { ReplyBudget } from './reply-budget.js';
import { TextBuffer } from './text-buffer.js';

/**
 * A copy of `text` that keeps nothing else alive. V8 makes a slice of a long string point into it, so a
 * short string sliced out of a 64 KB chunk of a stream would keep the whole chunk. Flattening a
 * concatenation copies the characters instead.
 */
export function detached(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1); // V8 never slices strings under 13 characters
}

export interface BoundedStringOptions {
  /** The string may be tool-call arguments: fold it as JSON too. */
  json?: boolean;
  /** The string is a value inside parsed JSON: keep its leaf encoding too. */
  leaf?: boolean;
}

/**
 * One text or tool-argument field of a reply, appended piece by piece (stream deltas, or a long JSON string
 * as it is parsed), in bounded memory. Up to LONG_TEXT characters it is simply held, and every canonical
 * form is computed from it exactly as the request side does; past that it is folded (long-text.ts,
 * long-json.ts) and no longer held. Records get its start, as much as the reply's budget lets them keep.
 */
export class BoundedString extends FoldedString {
  /** Characters appended (UTF-16 units). */
  length = 0;
  /** The whole string, while it is at most LONG_TEXT (pieces joined in flat chunks: text-buffer.ts). */
  private raw: TextBuffer | null = new TextBuffer();
  /** Characters of `raw` records keep, while it is held; then the kept start itself. */
  private keptLength = 0;
  private kept = new TextBuffer();
  /** A high surrogate held back, so no digest sees half a pair (pieces may split one). */
  private carry = '';
  private text: TrimmedTextFold | null = null;
  private json: JsonFold | null = null;
  private leafHash: Hash | null = null;
  private leafChars = 0;
  private flushed = false;
  /** The reply's hold budget ran out: the canonical forms cannot be known. */
  private lost = false;

  constructor(
    private readonly budget: ReplyBudget,
    private readonly options: BoundedStringOptions = {},
  ) {
    super();
  }

  append(piece: string): void {
    if (!piece || this.flushed) return;
    this.length += piece.length;
    const keep = this.budget.keep(piece.length);
    if (this.raw !== null && this.raw.length + piece.length <= LONG_TEXT) {
      if (!this.budget.hold(piece.length)) {
        this.lose(piece.slice(0, keep));
        return;
      }
      this.raw.append(piece);
      this.keptLength += keep;
      return;
    }
    if (this.raw !== null) this.startFolding();
    if (keep > 0) this.kept.append(piece.slice(0, keep));
    if (!this.lost) this.fold(piece);
  }

  /**
   * Appends a value a reassembler read from an event: a string, or a string that was itself too long to
   * hold (a huge single event). The latter's characters are gone: its start is kept, the forms are lost.
   */
  appendValue(value: unknown): void {
    if (typeof value === 'string') this.append(value);
    else if (value instanceof BoundedString) {
      const { text } = value.display();
      this.length += value.length;
      this.lost = true;
      if (this.raw !== null) this.startFolding();
      this.kept.append(text.slice(0, this.budget.keep(value.length)));
    }
  }

  /** The string's start as records keep it, and whether that is all of it. */
  display(): { text: string; truncated: boolean } {
    const text = this.raw !== null ? this.raw.toString().slice(0, this.keptLength) : this.kept.toString();
    return { text, truncated: text.length < this.length };
  }

  /** The whole string when it is still held (at most LONG_TEXT), else undefined. */
  whole(): string | undefined {
    return this.raw?.toString();
  }

  textForm(): TrimmedForm {
    if (this.lost) return { text: lostMark(), long: true };
    if (this.raw !== null) return trimmedForm(this.raw.toString());
    this.flush();
    return this.text!.result();
  }

  argumentsForm(): string {
    if (this.lost) return lostMark();
    if (this.raw !== null) return argumentsForm(this.raw.toString());
    this.flush();
    return this.json?.result() ?? this.text!.result().text;
  }

  leafLength(): number {
    if (this.raw !== null) return JSON.stringify(this.raw.toString()).length;
    this.flush();
    return this.leafChars;
  }

  leafEncoding(): string {
    if (this.lost || (this.raw === null && !this.leafHash)) return lostMark();
    if (this.raw !== null) return stringEncoding(JSON.stringify(this.raw.toString()));
    this.flush();
    return `$${this.leafHash!.digest('hex')}`;
  }

  private startFolding(): void {
    const start = this.raw!.toString();
    this.raw = null;
    this.kept.append(start.slice(0, this.keptLength));
    if (this.lost) return;
    this.text = new TrimmedTextFold();
    if (this.options.json) this.json = new JsonFold();
    if (this.options.leaf) {
      this.leafHash = createHash('sha256').update('"');
      this.leafChars = 1;
    }
    this.fold(start);
  }

  private fold(piece: string): void {
    if (this.carry) {
      piece = this.carry + piece;
      this.carry = '';
    }
    const last = piece.charCodeAt(piece.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.carry = piece[piece.length - 1];
      piece = piece.slice(0, -1);
    }
    if (piece) this.foldWhole(piece);
  }

  private foldWhole(piece: string): void {
    this.text!.append(piece);
    this.json?.write(piece);
    if (this.leafHash) {
      const escaped = JSON.stringify(piece).slice(1, -1);
      this.leafHash.update(escaped);
      this.leafChars += escaped.length;
    }
  }

  /** The end of the string: a lone high surrogate held back is part of it after all. */
  private flush(): void {
    if (this.flushed) return;
    this.flushed = true;
    if (this.lost) return;
    if (this.carry) this.foldWhole(this.carry);
    this.carry = '';
    if (this.leafHash) {
      this.leafHash.update('"');
      this.leafChars += 1;
    }
  }

  private lose(keptStart: string): void {
    if (this.raw !== null) this.kept.append(this.raw.toString().slice(0, this.keptLength));
    this.kept.append(keptStart);
    this.raw = null;
    this.lost = true;
  }
}

/** A form that matches nothing: for a field whose form could not be computed within the budget. */
const lostMark = (): string => `${TOOL_MARK}lost:${randomUUID()}`;

/** A text whose canonical form cannot be known (e.g. parts too long to join): it matches nothing. */
export class UnreadableString extends FoldedString {
  textForm(): TrimmedForm {
    return { text: lostMark(), long: true };
  }

  argumentsForm(): string {
    return lostMark();
  }

  leafLength(): number {
    return 0;
  }

  leafEncoding(): string {
    return lostMark();
  }
}
