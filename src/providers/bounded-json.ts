import { JsonTokenizer, type JsonSink } from '../conversation/json-tokens.js';
import { LONG_TEXT } from '../conversation/long-text.js';
import { BoundedString, detached } from './bounded-string.js';
import type { ReplyBudget } from './reply-budget.js';

/** What a parsed value costs the hold budget besides its strings (an object, an array slot, a number). */
const NODE_CHARS = 16;

type Container = unknown[] | Record<string, unknown>;

/**
 * JSON.parse for bodies and events too large to parse whole: fed text in pieces, it builds the same value,
 * except that a string longer than LONG_TEXT becomes a BoundedString (its start kept, its canonical forms
 * folded) instead of being held. Everything else counts against the reply's hold budget; past it, or on
 * anything JSON.parse would refuse, the result is undefined (the reply is then not read, as before for
 * unparseable bodies).
 */
export class BoundedJsonParser implements JsonSink {
  private readonly tokenizer = new JsonTokenizer(this);
  private readonly stack: { container: Container; name: string | null }[] = [];
  private root: unknown = undefined;
  private string = '';
  private long: BoundedString | null = null;
  private stringIsName = false;
  private overflow = false;

  constructor(private readonly budget: ReplyBudget) {}

  write(text: string): void {
    if (!this.overflow) this.tokenizer.write(text);
  }

  /** The value, or undefined when the text was not JSON or did not fit the budget. */
  end(): unknown {
    if (this.overflow) return undefined;
    this.tokenizer.end();
    return this.tokenizer.complete && !this.overflow ? this.root : undefined;
  }

  open(kind: 'object' | 'array'): void {
    if (this.overflow) return; // the value is abandoned: the rest of this piece is skipped
    const container: Container = kind === 'object' ? {} : [];
    this.place(container);
    this.stack.push({ container, name: null });
  }

  close(): void {
    if (this.overflow) return;
    this.stack.pop();
  }

  stringStart(name: boolean): void {
    this.string = '';
    this.long = null;
    this.stringIsName = name;
  }

  stringPiece(text: string): void {
    if (this.overflow) return;
    if (this.long) {
      this.long.append(text);
      return;
    }
    if (this.string.length + text.length <= LONG_TEXT) {
      this.charge(text.length);
      this.string += text;
      return;
    }
    if (this.stringIsName) {
      this.fail(); // member names that long are not worth reading
      return;
    }
    this.long = new BoundedString(this.budget, { json: true, leaf: true });
    this.long.append(this.string);
    this.long.append(text);
    this.string = '';
  }

  stringEnd(): void {
    if (this.overflow) return;
    // Copied out of the pieces of text it was read from, so the value keeps none of them alive.
    if (this.stringIsName) this.stack[this.stack.length - 1].name = detached(this.string);
    else this.place(this.long ?? detached(this.string));
    this.string = '';
    this.long = null;
  }

  number(value: number): void {
    this.place(value);
  }

  literal(value: boolean | null): void {
    this.place(value);
  }

  private place(value: unknown): void {
    this.charge(NODE_CHARS);
    if (this.overflow) return;
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.root = value;
      return;
    }
    if (Array.isArray(top.container)) {
      top.container.push(value);
      return;
    }
    // As JSON.parse does: `__proto__` is an own member, never the prototype.
    Object.defineProperty(top.container, top.name!, { value, enumerable: true, writable: true, configurable: true });
    top.name = null;
  }

  private charge(chars: number): void {
    if (!this.budget.hold(chars)) this.fail();
  }

  private fail(): void {
    this.overflow = true;
  }
}

/**
 * A value from the bounded parser as plain JSON for records: each BoundedString becomes the start records
 * keep of it; `onCut` is told when one was cut. Copied with its own stack (values may nest thousands deep).
 */
export function plainJson(root: unknown, onCut: () => void): unknown {
  const leaf = (value: unknown): unknown => {
    if (!(value instanceof BoundedString)) return value;
    const { text, truncated } = value.display();
    if (truncated) onCut();
    return text;
  };
  const copyOf = (value: unknown): unknown =>
    Array.isArray(value) ? [] : value !== null && typeof value === 'object' && !(value instanceof BoundedString) ? {} : leaf(value);
  const out = copyOf(root);
  const stack: { from: object; to: object }[] = [];
  if (out !== null && typeof out === 'object') stack.push({ from: root as object, to: out });
  while (stack.length > 0) {
    const { from, to } = stack.pop()!;
    for (const [key, value] of Object.entries(from)) {
      const copy = copyOf(value);
      if (Array.isArray(to)) to.push(copy);
      else Object.defineProperty(to, key, { value: copy, enumerable: true, writable: true, configurable: true });
      if (copy !== null && typeof copy === 'object') stack.push({ from: value as object, to: copy });
    }
  }
  return out;
}
