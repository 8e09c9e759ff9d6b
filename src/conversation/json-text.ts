/**
 * JSON text of a parsed JSON value of any depth. `JSON.stringify` and a recursive writer both overflow the
 * stack a few thousand levels down, and JSON.parse accepts far deeper input: a client could send a tool
 * result nested 10,000 levels deep and the request would never be answered. This writer keeps its own
 * stack of open arrays and objects instead of recursing, so the depth it handles is bounded by memory only.
 *
 * For values JSON.parse gives (no cycles, no `toJSON`, no undefined), `jsonText` writes exactly what
 * `JSON.stringify` writes and `stableJson` writes the same with every object's keys sorted.
 */

interface ArrayFrame {
  items: unknown[];
  index: number;
}

interface ObjectFrame {
  object: Record<string, unknown>;
  keys: string[];
  index: number;
  written: number;
}

type Frame = ArrayFrame | ObjectFrame;

/** What JSON.stringify writes for a value that is not an array or object (`undefined` and functions as null). */
const scalar = (value: unknown): string => JSON.stringify(value) ?? 'null';

/** Object members JSON.stringify leaves out. */
const omitted = (value: unknown): boolean => value === undefined || typeof value === 'function' || typeof value === 'symbol';

function write(root: unknown, sortKeys: boolean): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  let next: unknown = root;
  let pending = true; // `next` is still to be written
  for (;;) {
    if (pending) {
      pending = false;
      if (next !== null && typeof next === 'object') {
        if (Array.isArray(next)) {
          out.push('[');
          stack.push({ items: next, index: 0 });
        } else {
          const keys = Object.keys(next);
          if (sortKeys) keys.sort();
          out.push('{');
          stack.push({ object: next as Record<string, unknown>, keys, index: 0, written: 0 });
        }
      } else out.push(scalar(next));
    }
    const top = stack[stack.length - 1];
    if (!top) return out.join('');
    if ('items' in top) {
      if (top.index < top.items.length) {
        if (top.index > 0) out.push(',');
        next = top.items[top.index++];
        pending = true;
      } else {
        out.push(']');
        stack.pop();
      }
      continue;
    }
    while (top.index < top.keys.length && omitted(top.object[top.keys[top.index]])) top.index++;
    if (top.index < top.keys.length) {
      const key = top.keys[top.index++];
      out.push(`${top.written++ > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      next = top.object[key];
      pending = true;
    } else {
      out.push('}');
      stack.pop();
    }
  }
}

/** `JSON.stringify(value)` for any depth. */
export const jsonText = (value: unknown): string => write(value, false);

/** JSON with object keys sorted, so re-serialised tool arguments (other spacing, key order) compare equal. */
export const stableJson = (value: unknown): string => write(value, true);
