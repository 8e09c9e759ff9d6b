import { jsonText } from '../conversation/json-text.js';

/**
 * A value in a record (trace file, message-log line) within the record's `max_body_size`: its JSON text
 * when that fits, else the start of that text as a JSON string, cut so that the string as written (quotes
 * and escapes included) fits too. Either way `json` is JSON text, ready to be spliced into the record.
 */
export interface CappedJson {
  json: string;
  cut: boolean;
  /** Bytes of the whole value's JSON text. */
  bytes: number;
}

export function cappedJson(value: unknown, limit: number): CappedJson {
  const text = jsonText(value); // any depth: a record must not throw on a deeply nested body
  const bytes = Buffer.byteLength(text);
  if (bytes <= limit) return { json: text, cut: false, bytes };
  return { json: JSON.stringify(startWithin(text, limit)), cut: true, bytes };
}

/** The longest start of `text` whose JSON string (quotes included) is at most `limit` bytes of UTF-8. */
export function startWithin(text: string, limit: number): string {
  let size = 2;
  let i = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let add: number;
    if (code === 34 || code === 92) add = 2;
    else if (code < 0x20) add = code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
    else if (code < 0x80) add = 1;
    else if (code < 0x800) add = 2;
    else if (code >= 0xd800 && code <= 0xdfff)
      add = 6; // a lone one is escaped as \uXXXX; a pair takes less
    else add = 3;
    if (size + add > limit) break;
    size += add;
  }
  const last = text.charCodeAt(i - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? i - 1 : i); // never half a pair
}
