// The few fields of one trace file that the session table needs. A trace is written by the trace interceptor
// (src/interceptors/trace/trace-record.ts) in a fixed key order: small session fields (the parent's among
// them), then `request` (headers and body), then `response` (status, headers, body, duration_ms,
// time_to_first_byte_ms), then usage, session_usage and failure. The fast path parses the small head and tail as JSON and steps over the
// bodies in between without building them; anything that does not look exactly like that layout (another
// key order, a field added in a later version, a truncated file) falls back to a full JSON.parse, so the
// fast path only ever changes the speed, never the answer.

import { skipJsonValue } from './json-skip.js';

export interface TraceSummary {
  /** File name inside the traces directory. */
  file: string;
  /** null when the exchange had no session (sessions off, or a path sessions do not apply to). */
  sessionId: string | null;
  /** The session this one is a sub-agent of (its tenant-scoped key when the trace has one); null for a root. */
  parentSessionId: string | null;
  /** Request arrival, epoch milliseconds. */
  timestamp: number;
  model: string | null;
  provider: string | null;
  status: number | null;
  failure: string | null;
  durationMs: number | null;
  inputTokens: number;
  outputTokens: number;
  /** USD by the gateway's price catalog; null when not priced (unknown model, or a trace from before pricing). */
  costUsd: number | null;
}

export type SummaryResult = { summary: TraceSummary; reason?: undefined } | { summary?: undefined; reason: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const tokens = (usage: unknown, key: string): number => (isObject(usage) ? (numberOrNull(usage[key]) ?? 0) : 0);

/**
 * The summary of a parsed trace, or why the value is not one. A trace needs a parseable `timestamp` and a
 * `response` object; every other field is optional (a missing session is "no session", missing usage is
 * zero tokens, a missing duration is left out of the means).
 */
function summaryFromObject(file: string, value: unknown): SummaryResult {
  if (!isObject(value)) return { reason: 'not a trace record (not a JSON object)' };
  const timestamp = typeof value.timestamp === 'string' ? Date.parse(value.timestamp) : NaN;
  if (Number.isNaN(timestamp)) return { reason: 'not a trace record (no timestamp)' };
  const response = value.response;
  if (!isObject(response)) return { reason: 'not a trace record (no response)' };
  return {
    summary: {
      file,
      // Two tenants may name their sessions alike: the tenant-scoped key keeps them apart.
      sessionId: stringOrNull(value.session_key) ?? stringOrNull(value.session_id),
      parentSessionId: stringOrNull(value.parent_session_key) ?? stringOrNull(value.parent_session_id),
      timestamp,
      model: stringOrNull(value.model),
      provider: stringOrNull(value.provider),
      status: numberOrNull(response.status),
      failure: stringOrNull(value.failure),
      durationMs: numberOrNull(response.duration_ms),
      inputTokens: tokens(value.usage, 'input_tokens'),
      outputTokens: tokens(value.usage, 'output_tokens'),
      costUsd: numberOrNull(value.cost_usd),
    },
  };
}

const REQUEST_KEY = Buffer.from(',"request":');
const RESPONSE_STATUS = Buffer.from(',"response":{"status":');
const DURATION_KEY = Buffer.from(',"duration_ms":');
/** What may sit between the response status and duration_ms (trace-record.ts writes them in this order). */
const RESPONSE_KEYS = new Set(['headers', 'body', 'raw_stream', 'raw_stream_truncated', 'body_truncated', 'body_bytes']);
/** The keys the tail may hold; any other means a layout this parser does not know: full parse instead. */
const TAIL_KEYS = new Set(['duration_ms', 'time_to_first_byte_ms', 'usage', 'cost_usd', 'session_usage', 'failure']);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The status of the response object that starts at `candidate` (the offset of `,"response":{"status":`) and
 * whose members run exactly to `tailStart` (the offset of `,"duration_ms":`), or undefined when the bytes
 * there are not such an object. A look-alike inside the response body fails this check: skipping its
 * members ends at its own closing brace, inside the body, never at `tailStart`.
 */
function responseStatus(buf: Buffer, candidate: number, tailStart: number): unknown {
  // latin1: one character per byte, so offsets stay byte offsets; strings are skipped, never decoded.
  const text = buf.toString('latin1', candidate + RESPONSE_STATUS.length, tailStart);
  let i = skipJsonValue(text, 0);
  if (i < 0) return undefined;
  const status = parseJson(text.slice(0, i));
  while (i < text.length) {
    if (text.charCodeAt(i) !== 0x2c /* , */ || text.charCodeAt(i + 1) !== 0x22 /* " */) return undefined;
    const keyEnd = text.indexOf('"', i + 2);
    if (keyEnd < 0 || !RESPONSE_KEYS.has(text.slice(i + 2, keyEnd)) || text.charCodeAt(keyEnd + 1) !== 0x3a /* : */) return undefined;
    i = skipJsonValue(text, keyEnd + 2);
    if (i < 0) return undefined;
  }
  return i === text.length ? status : undefined;
}

/**
 * The trace's small fields without its bodies, or undefined when the bytes are not laid out as the trace
 * interceptor writes them. Head: every key before `"request"` (session fields, model: written by the
 * gateway, no body text can be among them). Tail: from the last `,"duration_ms":`; nothing after the
 * response body can contain that text unescaped, so the last occurrence is the response's own. Status:
 * the last `,"response":{"status":` before the tail whose object runs exactly to the tail; found from the
 * end because request bodies (the whole conversation) are usually much larger than response bodies.
 */
export function fastSkeleton(buf: Buffer): Json | undefined {
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x20 || buf[end - 1] === 0x0a || buf[end - 1] === 0x0d || buf[end - 1] === 0x09)) end--;
  if (buf[0] !== 0x7b || buf[end - 1] !== 0x7d) return undefined; // cut short: the full parse names the problem
  const headEnd = buf.indexOf(REQUEST_KEY);
  if (headEnd < 0) return undefined;
  const tailStart = buf.lastIndexOf(DURATION_KEY);
  if (tailStart < headEnd) return undefined;
  let status: unknown;
  for (let candidate = buf.lastIndexOf(RESPONSE_STATUS, tailStart); candidate > headEnd; candidate = buf.lastIndexOf(RESPONSE_STATUS, candidate - 1)) {
    status = responseStatus(buf, candidate, tailStart);
    if (status !== undefined) break;
  }
  if (status === undefined) return undefined;
  const head = parseJson(`${buf.toString('utf8', 0, headEnd)}}`);
  if (!isObject(head)) return undefined;
  // `"duration_ms":1,"time_to_first_byte_ms":2},"usage":{…},…}`: the first `}` closes the response object
  // (both values are numbers or null); dropping it leaves one flat object of the tail fields.
  const tail = buf.toString('utf8', tailStart + 1, end);
  const close = tail.indexOf('}');
  const fields = parseJson(`{${tail.slice(0, close)}${tail.slice(close + 1)}`);
  if (!isObject(fields) || !('duration_ms' in fields) || !('failure' in fields)) return undefined;
  for (const key of Object.keys(fields)) if (!TAIL_KEYS.has(key)) return undefined;
  return { ...head, response: { status, duration_ms: fields.duration_ms }, usage: fields.usage, cost_usd: fields.cost_usd, failure: fields.failure };
}

/** Why JSON.parse refused the text, in words a user can act on: a file cut short, or not JSON at all. */
function parseFailure(err: unknown, length: number): string {
  const message = err instanceof Error ? err.message : String(err);
  // V8 says "Unexpected end of JSON input", or names the position where it gave up: at the very end means
  // the document stopped before it was complete.
  const position = /at position (\d+)/.exec(message);
  const cut = /end of JSON input/i.test(message) || (position !== null && Number(position[1]) >= length);
  return cut ? 'truncated JSON' : 'invalid JSON';
}

/** The summary of one trace file's bytes (`fullParse` skips the fast path, for checking it). */
export function summarizeTrace(file: string, buf: Buffer, fullParse = false): SummaryResult {
  if (buf.length === 0) return { reason: 'empty file' };
  if (!fullParse) {
    const skeleton = fastSkeleton(buf);
    if (skeleton) {
      const fast = summaryFromObject(file, skeleton);
      if (fast.summary) return fast;
    }
  }
  const text = buf.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { reason: parseFailure(err, text.length) };
  }
  return summaryFromObject(file, value);
}
