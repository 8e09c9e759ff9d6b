// Structural skipping of one JSON value, without building it. The summary only needs the small fields
// around the request and response bodies, so the bodies (most of a trace's bytes, up to 1 MB each) are
// stepped over: strings by searching for their closing quote, everything else by counting brackets. This
// finds where a value ends; it does not validate what is inside.
//
// The text is the file decoded as latin1: one character per byte, so indexes are byte offsets, and the
// search runs on V8's string indexOf, several times faster per call than Buffer#indexOf (a native binding
// call per string, and a request body has hundreds of short strings).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index just past the string whose opening quote is at `start`; -1 when the string never closes. */
function skipString(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    // A quote preceded by an odd number of backslashes is escaped and does not end the string.
    let backslashes = 0;
    for (let i = quote - 1; i > start && text.charCodeAt(i) === BACKSLASH; i--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/**
 * Index just past the JSON value that starts at `start` (leading whitespace allowed); -1 when the text ends
 * before the value does (a truncated file) or no value starts there.
 */
export function skipJsonValue(text: string, start: number): number {
  const length = text.length;
  let i = start;
  while (i < length && isSpace(text.charCodeAt(i))) i++;
  if (i >= length) return -1;
  const first = text.charCodeAt(i);
  if (first === QUOTE) return skipString(text, i);
  if (first === 0x7b /* { */ || first === 0x5b /* [ */) {
    let depth = 0;
    while (i < length) {
      const code = text.charCodeAt(i);
      if (code === QUOTE) {
        i = skipString(text, i);
        if (i < 0) return -1;
        continue;
      }
      if (code === 0x7b || code === 0x5b) depth++;
      else if (code === 0x7d /* } */ || code === 0x5d /* ] */) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A number or a literal (true, false, null): it runs to the next delimiter.
  const begin = i;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code === 0x2c /* , */ || code === 0x7d || code === 0x5d || isSpace(code)) break;
    i++;
  }
  return i > begin ? i : -1;
}
