/**
 * Server-sent events framing (the WHATWG event-stream format) in bounded memory. Fed decoded text cut
 * anywhere, it hands each event to its handler: whole when its data is small (the usual case: one token),
 * or, once the data outgrows `wholeChars`, as a stream of data pieces, so an event of any size (a provider's
 * final event repeating a 50 MB reply, or a malformed stream with no blank line) never sits in memory.
 * Lines end with CRLF, LF or CR; `data:` lines are joined with LF; `event:` names the event; comments,
 * `id:`, `retry:` and unknown fields are skipped; an unfinished event at the end is dropped, as browsers do.
 */
export interface LargeEvent {
  write(data: string): void;
  /** The event is complete; `type` is its `event:` name, read last (it may follow the data). */
  end(type: string | undefined): void;
}

export interface SseHandler {
  event(type: string | undefined, data: string): void;
  /** An event whose data is too large to hold: what came so far, then the rest, piece by piece. */
  large(): LargeEvent;
}

/** The index of `char` in `text` from `from` on, or the text's length when there is none. */
function indexOrEnd(text: string, char: string, from: number): number {
  const at = text.indexOf(char, from);
  return at === -1 ? text.length : at;
}

/** Longest field name read (`data`, `event`, `id`, `retry`); longer ones are unknown fields. */
const NAME_LIMIT = 16;
/** Longest event name kept. */
const TYPE_LIMIT = 256;

enum Line {
  /** At the start of a line. */
  Start,
  /** Reading the field name. */
  Name,
  /** Reading the value of `data`, `event` or an ignored field. */
  Value,
}

export class SseFramer {
  private line = Line.Start;
  private name = '';
  private field: 'data' | 'event' | null = null;
  /** Right after the colon: one leading space is dropped. */
  private valueStart = false;
  private type = '';
  private hasType = false;
  private data = '';
  private dataLines = 0;
  private largeEvent: LargeEvent | null = null;
  /** The previous piece ended with CR: an LF starting this one belongs to the same line end. */
  private afterCR = false;

  constructor(
    private readonly handler: SseHandler,
    private readonly wholeChars: number,
  ) {}

  // The piece being read and its next line ends, found with indexOf (native), each position searched for
  // once per piece. Fields rather than a closure: write() runs for every chunk of every stream.
  private piece = '';
  private nextLF = -1;
  private nextCR = -1;

  private lineEndFrom(from: number): number {
    const text = this.piece;
    const n = text.length;
    if (this.nextLF !== n && this.nextLF < from) this.nextLF = indexOrEnd(text, '\n', from);
    if (this.nextCR !== n && this.nextCR < from) this.nextCR = indexOrEnd(text, '\r', from);
    return Math.min(this.nextLF, this.nextCR);
  }

  write(text: string): void {
    this.piece = text;
    this.nextLF = -1;
    this.nextCR = -1;
    try {
      this.read(text, 0, text.length);
    } finally {
      this.piece = ''; // never pin a chunk's text between pieces
    }
  }

  private read(text: string, i: number, n: number): void {
    if (this.afterCR && n > 0) {
      this.afterCR = false;
      if (text.charCodeAt(0) === 10) i = 1;
    }
    while (i < n) {
      if (this.line === Line.Start) {
        const code = text.charCodeAt(i);
        if (code === 10 || code === 13) {
          i = this.lineEnd(text, i);
          this.dispatch();
          continue;
        }
        const end = this.lineEndFrom(i);
        if (end < n) {
          i = this.wholeLine(text, i, end);
          continue;
        }
        this.line = Line.Name;
        this.name = '';
      }
      if (this.line === Line.Name) {
        const end = this.lineEndFrom(i);
        let j = i;
        while (j < end && text.charCodeAt(j) !== 58 /* : */) j++;
        if (this.name.length < NAME_LIMIT) this.name += text.slice(i, Math.min(j, i + NAME_LIMIT));
        if (j === n) return;
        this.field = this.name === 'data' ? 'data' : this.name === 'event' ? 'event' : null;
        this.line = Line.Value;
        this.valueStart = true;
        this.startValue();
        if (text.charCodeAt(j) === 58) {
          i = j + 1;
          continue;
        }
        i = j; // a line with no colon: the whole line is the field name, its value empty
      }
      // Line.Value
      if (this.valueStart && i < n) {
        this.valueStart = false;
        if (text.charCodeAt(i) === 32) i++;
      }
      const j = this.lineEndFrom(i);
      if (j > i) this.value(text.slice(i, j));
      if (j === n) return;
      i = this.lineEnd(text, j);
      this.line = Line.Start;
      if (this.field === 'event') this.hasType = true;
    }
  }

  /**
   * A line that is whole in this piece (the usual case), read without the character states: its field
   * name is at most NAME_LIMIT characters before the colon. Returns the index after its line end.
   */
  private wholeLine(text: string, start: number, end: number): number {
    let colon = start;
    const limit = Math.min(end, start + NAME_LIMIT + 1);
    while (colon < limit && text.charCodeAt(colon) !== 58) colon++;
    const name = colon === limit && colon !== end ? '' : text.slice(start, colon);
    this.field = name === 'data' ? 'data' : name === 'event' ? 'event' : null;
    if (this.field !== null) {
      this.startValue();
      let from = colon + 1;
      if (from < end && text.charCodeAt(from) === 32) from++;
      if (from < end) this.value(text.slice(from, end));
      if (this.field === 'event') this.hasType = true;
    }
    return this.lineEnd(text, end);
  }

  /** Skips one line end (CRLF, LF or CR) at `i`; a CR at the very end may pair with the next piece's LF. */
  private lineEnd(text: string, i: number): number {
    if (text.charCodeAt(i) === 13) {
      if (i + 1 === text.length) this.afterCR = true;
      else if (text.charCodeAt(i + 1) === 10) return i + 2;
    }
    return i + 1;
  }

  private startValue(): void {
    if (this.field === 'event') this.type = '';
    else if (this.field === 'data' && this.dataLines++ > 0) this.appendData('\n');
  }

  private value(text: string): void {
    if (this.field === 'data') this.appendData(text);
    else if (this.field === 'event' && this.type.length < TYPE_LIMIT) this.type += text.slice(0, TYPE_LIMIT - this.type.length);
  }

  private appendData(text: string): void {
    if (this.largeEvent) {
      this.largeEvent.write(text);
      return;
    }
    if (this.data.length + text.length <= this.wholeChars) {
      this.data += text;
      return;
    }
    this.largeEvent = this.handler.large();
    this.largeEvent.write(this.data);
    this.largeEvent.write(text);
    this.data = '';
  }

  /** A blank line: the event read so far is complete. */
  private dispatch(): void {
    const type = this.hasType && this.type !== '' ? this.type : undefined;
    if (this.largeEvent) this.largeEvent.end(type);
    else if (this.dataLines > 0) this.handler.event(type, this.data);
    this.data = '';
    this.dataLines = 0;
    this.largeEvent = null;
    this.type = '';
    this.hasType = false;
  }
}
