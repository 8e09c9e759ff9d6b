/**
 * The string encoding of a canonical message, written and read only here. A message's `text` is its
 * segments joined by SEP; text segments are the trimmed text itself, every other segment starts with
 * TOOL_MARK and its kind (`call:id:name:args`, `result:id:content`, `image:length:head:tail`). Keeping the
 * message a single string lets the session engine hash and compare it cheaply; everything that wants the
 * parts back (spoken text, transcripts, tool names) decodes through `segmentsOf`.
 */
const SEP = '\u0001';
export const TOOL_MARK = '\u0002';

export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'call'; id: string; name: string; args: string }
  | { kind: 'result'; id: string; content: string }
  | { kind: 'image' }
  /** A marked segment of a kind this decoder does not know, or one cut short: never spoken text. */
  | { kind: 'other'; text: string };

/** Anything that carries an encoded text (a CanonicalMessage). */
interface Encoded {
  text: string;
}

// Text that a client sends may itself contain the two control characters; replaced, they can neither split
// a segment nor pose as a tool call, so decoding a message always gives back the segments it was built from.
const CONTROL = /[\u0001\u0002]/g;
const clean = (value: string): string => (value.includes(SEP) || value.includes(TOOL_MARK) ? value.replace(CONTROL, '\uFFFD') : value);

export const encodeText = (text: string): string => clean(text);
export const encodeCall = (id: string, name: string, args: string): string => `${TOOL_MARK}call:${clean(id)}:${clean(name)}:${clean(args)}`;
export const encodeResult = (id: string, content: string): string => `${TOOL_MARK}result:${clean(id)}:${clean(content)}`;
/** Images count by a digest of their source (URL or base64 data): length and both ends, never all bytes. */
export const encodeImage = (source: string): string => `${TOOL_MARK}image:${source.length}:${clean(source.slice(0, 64))}:${clean(source.slice(-64))}`;
export const joinSegments = (encoded: string[]): string => encoded.join(SEP);

function decode(segment: string): Segment {
  if (!segment.startsWith(TOOL_MARK)) return { kind: 'text', text: segment };
  const [kind, ...rest] = segment.slice(1).split(':');
  if (kind === 'call') return { kind: 'call', id: rest[0] ?? '', name: rest[1] ?? '', args: rest.slice(2).join(':') };
  if (kind === 'result') return { kind: 'result', id: rest[0] ?? '', content: rest.slice(1).join(':') };
  if (kind === 'image') return { kind: 'image' };
  return { kind: 'other', text: segment.slice(1) }; // e.g. cut short: the fuzzy rule decodes a message's first 200 characters
}

/** The segments of a message, in order. */
export function segmentsOf(message: Encoded): Segment[] {
  if (!message.text) return [];
  return message.text.split(SEP).map(decode);
}

/** Whether a message has anything besides text (most have not: the callers below skip decoding then). */
const hasToolSegments = (message: Encoded): boolean => message.text.includes(TOOL_MARK);

/** The words a person typed in a message: text segments only, never tool results or call arguments. */
export function spokenText(message: Encoded): string {
  if (!hasToolSegments(message)) return message.text;
  const out: string[] = [];
  for (const segment of segmentsOf(message)) if (segment.kind === 'text') out.push(segment.text);
  return out.join('\n');
}

/** Tool call names of a message, in order (arguments may be re-serialised, names are not). */
export function toolCallNames(message: Encoded): string[] {
  if (!hasToolSegments(message)) return [];
  const names: string[] = [];
  for (const segment of segmentsOf(message)) if (segment.kind === 'call') names.push(segment.name);
  return names;
}
