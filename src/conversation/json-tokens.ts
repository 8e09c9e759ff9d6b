/**
 * An incremental JSON tokenizer: fed text in pieces cut anywhere, it reports tokens to a sink as they
 * complete, and string contents piece by piece (decoded), so a consumer can fold a value of any size
 * without holding it. It accepts exactly what JSON.parse accepts (whitespace around the value included);
 * anything else, or nesting deeper than MAX_DEPTH, makes it `failed` and it reads no further.
 */

export interface JsonSink {
  open(kind: 'object' | 'array'): void;
  close(): void;
  /** A string starts; `key` when it is an object member's name. */
  stringStart(key: boolean): void;
  /** Decoded characters of the current string; a surrogate pair may arrive split across two calls. */
  stringPiece(text: string): void;
  stringEnd(): void;
  /** A number, as JSON.parse reads it. */
  number(value: number): void;
  literal(value: boolean | null): void;
}

/**
 * Deepest nesting read. JSON.parse accepts more, but a reply's reader keeps a little state per open level;
 * this bounds it (tens of bytes each) while staying far past anything but deliberately nested values.
 */
export const MAX_DEPTH = 20_000;
/** A number literal longer than this is refused (JSON allows it; no tool argument needs it). */
const MAX_NUMBER = 1024;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LITERALS: Record<string, boolean | null> = { true: true, false: false, null: null };
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

enum State {
  /** A value is expected (top level, after `:` or `,` in an array, or first in an array). */
  Value,
  /** A member name or `}` right after `{`. */
  FirstKey,
  /** A member name after `,`. */
  Key,
  Colon,
  /** After a value: `,`, a closing bracket, or (at top level) only whitespace. */
  After,
  String,
  Escape,
  Unicode,
  Number,
  Literal,
  Failed,
}

const isSpace = (code: number) => code === 32 || code === 10 || code === 13 || code === 9;

export class JsonTokenizer {
  private state = State.Value;
  /** Open containers: true for objects. */
  private readonly stack: boolean[] = [];
  /** After `[`: a `]` may close it at once. */
  private emptyArray = false;
  private token = '';
  /** The string being read is a member name. */
  private inKey = false;
  private done = false;

  constructor(private readonly sink: JsonSink) {}

  get failed(): boolean {
    return this.state === State.Failed;
  }

  /** True once a whole value was read (only whitespace may follow). */
  get complete(): boolean {
    return this.done && this.state !== State.Failed;
  }

  write(text: string): void {
    let i = 0;
    const n = text.length;
    while (i < n && this.state !== State.Failed) {
      switch (this.state) {
        case State.String: {
          let j = i;
          while (j < n) {
            const code = text.charCodeAt(j);
            if (code === 34 || code === 92 || code < 32) break;
            j++;
          }
          if (j > i) this.sink.stringPiece(text.slice(i, j));
          if (j === n) return;
          const code = text.charCodeAt(j);
          if (code < 32) {
            this.fail();
            return;
          }
          if (code === 92) this.state = State.Escape;
          else {
            this.sink.stringEnd();
            this.afterString();
          }
          i = j + 1;
          break;
        }
        case State.Escape: {
          const c = text[i++];
          if (c === 'u') {
            this.state = State.Unicode;
            this.token = '';
          } else if (c in ESCAPES) {
            this.sink.stringPiece(ESCAPES[c]);
            this.state = State.String;
          } else {
            this.fail();
            return;
          }
          break;
        }
        case State.Unicode: {
          while (i < n && this.token.length < 4) this.token += text[i++];
          if (this.token.length < 4) return;
          if (!/^[0-9a-fA-F]{4}$/.test(this.token)) {
            this.fail();
            return;
          }
          this.sink.stringPiece(String.fromCharCode(parseInt(this.token, 16)));
          this.state = State.String;
          break;
        }
        case State.Number: {
          let j = i;
          while (j < n && isNumberChar(text.charCodeAt(j))) j++;
          this.token += text.slice(i, j);
          if (this.token.length > MAX_NUMBER) {
            this.fail();
            return;
          }
          if (j === n) return;
          if (!this.endNumber()) return;
          i = j;
          break;
        }
        case State.Literal: {
          const word = LITERAL_WORD[this.token[0]];
          while (i < n && this.token.length < word.length) this.token += text[i++];
          if (!word.startsWith(this.token)) {
            this.fail();
            return;
          }
          if (this.token.length < word.length) return;
          this.sink.literal(LITERALS[word]);
          this.afterValue();
          break;
        }
        default:
          i = this.structural(text, i);
      }
    }
  }

  /** Ends the input: a number at the very end completes; anything unfinished fails. */
  end(): void {
    if (this.state === State.Number) this.endNumber();
    if (this.state !== State.After || this.stack.length > 0) this.fail();
  }

  /** Reads one character outside strings and literals; returns the next index. */
  private structural(text: string, i: number): number {
    const code = text.charCodeAt(i);
    if (isSpace(code)) return i + 1;
    const c = text[i];
    switch (this.state) {
      case State.Value:
        if (c === ']' && this.emptyArray) {
          this.emptyArray = false;
          this.closeContainer();
        } else this.startValue(c);
        return i + 1;
      case State.FirstKey:
      case State.Key:
        if (c === '"') {
          this.sink.stringStart(true);
          this.state = State.String;
          this.inKey = true;
        } else if (c === '}' && this.state === State.FirstKey) this.closeContainer();
        else this.fail();
        return i + 1;
      case State.Colon:
        if (c === ':') this.state = State.Value;
        else this.fail();
        return i + 1;
      case State.After: {
        const top = this.stack.length === 0 ? undefined : this.stack[this.stack.length - 1];
        if (top === undefined)
          this.fail(); // something after the top-level value
        else if (c === ',') this.state = top ? State.Key : State.Value;
        else if (c === (top ? '}' : ']')) this.closeContainer();
        else this.fail();
        return i + 1;
      }
      default:
        this.fail();
        return i + 1;
    }
  }

  private startValue(c: string): void {
    this.emptyArray = false;
    if (c === '"') {
      this.sink.stringStart(false);
      this.state = State.String;
    } else if (c === '{' || c === '[') {
      if (this.stack.length >= MAX_DEPTH) {
        this.fail();
        return;
      }
      this.stack.push(c === '{');
      this.sink.open(c === '{' ? 'object' : 'array');
      this.state = c === '{' ? State.FirstKey : State.Value;
      this.emptyArray = c === '[';
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      this.state = State.Number;
      this.token = c;
    } else if (c in LITERAL_WORD) {
      this.state = State.Literal;
      this.token = c;
    } else this.fail();
  }

  private closeContainer(): void {
    this.stack.pop();
    this.sink.close();
    this.afterValue();
  }

  private afterString(): void {
    if (this.inKey) {
      this.inKey = false;
      this.state = State.Colon;
    } else this.afterValue();
  }

  private endNumber(): boolean {
    if (!NUMBER.test(this.token)) {
      this.fail();
      return false;
    }
    this.sink.number(Number(this.token));
    this.afterValue();
    return true;
  }

  private afterValue(): void {
    this.token = '';
    this.state = State.After;
    if (this.stack.length === 0) this.done = true;
  }

  private fail(): void {
    this.state = State.Failed;
  }
}

const LITERAL_WORD: Record<string, string> = { t: 'true', f: 'false', n: 'null' };

function isNumberChar(code: number): boolean {
  return (code >= 48 && code <= 57) || code === 45 || code === 43 || code === 46 || code === 101 || code === 69;
}
