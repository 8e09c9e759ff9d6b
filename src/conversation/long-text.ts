/**
 * Long texts in the canonical form. The gateway keeps only a bounded part of a reply, yet the next request
 * echoes the whole reply and must canonicalise to the same message. So an assistant text whose trimmed
 * form is longer than LONG_TEXT stands in the canonical form as `TOOL_MARK long:<length>:<sha256 hex>`
 * (length in UTF-16 units, SHA-256 of its UTF-8): the request side computes it from the string it holds
 * (`trimmedForm`, `LongText`), the reply side as the text streams by (`TrimmedTextFold`), holding at most
 * about 2 × LONG_TEXT characters. The mark keeps the digest out of "spoken text" (paragraphs, topic words,
 * reset phrases read text only), so a reply that long is not quoted by a compaction summary or matched by
 * the fuzzy rule. Other roles never need to match a reply: their long texts stay text.
 */
import { createHash, type Hash } from 'node:crypto';
import { FoldedString } from './folded.js';
import { encodeText, TOOL_MARK } from './segments.js';

/** Longest trimmed text kept as itself in the canonical form (UTF-16 units). */
export const LONG_TEXT = 64 * 1024;

/** A text's canonical form before segment encoding: the trimmed text, or (`long`) its digest form. */
export interface TrimmedForm {
  text: string;
  long: boolean;
}

export const longTextForm = (length: number, digestHex: string): string => `${TOOL_MARK}long:${length}:${digestHex}`;

/** The request side: `value.trim()`, or its digest form when that is longer than LONG_TEXT. */
export function trimmedForm(value: string): TrimmedForm {
  const text = value.trim();
  if (text.length <= LONG_TEXT) return { text, long: false };
  return { text: longTextForm(text.length, createHash('sha256').update(text).digest('hex')), long: true };
}

/** The segment a form stands as in a message (null for a text that trims to nothing). */
export function textSegmentOf(form: TrimmedForm): string | null {
  if (form.long) return form.text;
  return form.text ? encodeText(form.text) : null;
}

/**
 * A text over LONG_TEXT on the request side, whose segment depends on the message's role: in an assistant
 * message (an echoed reply, which must match what the reply side folded) it is the digest form; in any
 * other it stays the text itself, so the rules that read words (reset phrases, quoted summaries, topic
 * words) still see a long user message, as they did before long forms.
 */
export class LongText {
  constructor(private readonly trimmed: string) {}

  segment(digest: boolean): string {
    return digest ? longTextForm(this.trimmed.length, createHash('sha256').update(this.trimmed).digest('hex')) : encodeText(this.trimmed);
  }
}

/**
 * The segment a text stands as (null when it trims to nothing): a short string's trimmed text, a long
 * string's LongText (its form chosen by role), or the form a reply side folded (replies are assistants).
 */
export function textSegment(value: unknown): string | LongText | null {
  if (typeof value === 'string') {
    const text = value.trim();
    if (!text) return null;
    return text.length > LONG_TEXT ? new LongText(text) : encodeText(text);
  }
  if (value instanceof FoldedString) return textSegmentOf(value.textForm());
  return null;
}

/** Whitespace exactly as String.prototype.trim sees it (WhiteSpace and LineTerminator). */
export function isTrimmedSpace(code: number): boolean {
  if (code <= 32) return code === 32 || (code >= 9 && code <= 13);
  if (code < 160) return false;
  return (
    code === 160 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * The reply side of `trimmedForm`: fed a text piece by piece, gives the same form without holding the text.
 * Leading whitespace is skipped as it arrives; whitespace after the last visible character is held back
 * (it is trimmed if nothing follows it), and once more than LONG_TEXT of it has piled up it is hashed with
 * a copy of the digest taken before it. Pieces must not split a surrogate pair (the caller carries a
 * trailing high surrogate over to the next piece), since each is hashed as UTF-8 on its own.
 */
export class TrimmedTextFold {
  private started = false;
  /** The text from its first to its last visible character, while that is at most LONG_TEXT. */
  private exact: string | null = '';
  /** Length of that text (UTF-16 units), also once it is no longer held. */
  private committed = 0;
  /** Whitespace after the last visible character, held back. */
  private pending = '';
  /** Whitespace beyond `pending`, already hashed; `saved` is the digest state before it. */
  private spilled = 0;
  private hash: Hash | null = null;
  private saved: Hash | null = null;
  private form: TrimmedForm | null = null;

  append(piece: string): void {
    let start = 0;
    if (!this.started) {
      while (start < piece.length && isTrimmedSpace(piece.charCodeAt(start))) start++;
      if (start === piece.length) return;
      this.started = true;
    }
    let end = piece.length;
    while (end > start && isTrimmedSpace(piece.charCodeAt(end - 1))) end--;
    if (end > start) this.commit(start === 0 && end === piece.length ? piece : piece.slice(start, end));
    if (end < piece.length) this.whitespace(end === 0 ? piece : piece.slice(end));
  }

  /** Held, for the caller's memory accounting: characters this fold keeps. */
  get heldChars(): number {
    return (this.exact?.length ?? 0) + this.pending.length;
  }

  result(): TrimmedForm {
    if (this.form) return this.form;
    if (this.exact !== null) this.form = { text: this.exact, long: false };
    else this.form = { text: longTextForm(this.committed, (this.spilled > 0 ? this.saved! : this.hash!).digest('hex')), long: true };
    return this.form;
  }

  /** A visible run (starting and ending with a visible character), after whatever whitespace was held. */
  private commit(text: string): void {
    if (this.spilled > 0) {
      // The held whitespace is already in the digest: it is inside the text after all.
      this.hash!.update(this.pending);
      this.committed += this.spilled + this.pending.length;
      this.spilled = 0;
      this.saved = null;
      this.exact = null; // more than LONG_TEXT of whitespace went by
    } else if (this.pending) {
      text = this.pending + text;
    }
    this.pending = '';
    if (this.exact !== null) {
      if (this.committed + text.length <= LONG_TEXT) {
        this.exact += text;
        this.committed += text.length;
        return;
      }
      this.hash = createHash('sha256').update(this.exact);
      this.exact = null;
    }
    this.hash!.update(text);
    this.committed += text.length;
  }

  private whitespace(run: string): void {
    if (this.spilled > 0) {
      this.hash!.update(run);
      this.spilled += run.length;
      return;
    }
    this.pending += run;
    if (this.pending.length <= LONG_TEXT) return;
    // Too much to hold: hash it now, keeping the digest as of the last visible character aside (while the
    // exact text is still held, it is that answer already).
    if (this.exact !== null) this.hash = createHash('sha256').update(this.exact);
    else this.saved = this.hash!.copy();
    this.hash!.update(this.pending);
    this.spilled = this.pending.length;
    this.pending = '';
  }
}
