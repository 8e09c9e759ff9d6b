import { randomBytes } from 'node:crypto';
import { cappedJson } from '../../capture/capped-json.js';
import type { ExchangeRecord } from '../../capture/record.js';

export interface TraceShape {
  includeHeaders: boolean;
  includeBody: boolean;
  maxBodySize: number;
  includeRawStream: boolean;
  redact(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]>;
}

/**
 * A body known to be valid JSON, embedded as its own bytes when the trace is rendered: no decoding, no
 * re-encoding and no copy of what may be a megabyte of agent history.
 */
class RawJson {
  constructor(readonly json: Buffer | string) {}

  /**
   * JSON.stringify calls this for the body. Inside render() it leaves a marker where the bytes go, spliced
   * in afterwards; a stringify with a replacer function instead would call back into JavaScript for every
   * value of the trace. Anywhere else the body is serialised as the value it is.
   */
  toJSON(): unknown {
    if (splicing) {
      splicing.push(this.json);
      return `${marker}${splicing.length - 1}__`;
    }
    const text = this.json.toString();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
}

/** The raw bodies of the render in progress (render is synchronous, so one at a time). */
let splicing: Array<Buffer | string> | null = null;

/**
 * A body as the trace shows it: JSON when it is JSON, else text; cut at the limit, and saying so. Bodies
 * the gateway already parsed (`knownJson`) are embedded as they are, which saves a parse and a serialise
 * of the largest part of every trace.
 */
function traceBody(raw: Buffer | null, truncatedAlready: boolean, limit: number, knownJson: boolean): { body: unknown; truncated: boolean; bytes: number } {
  if (!raw || raw.length === 0) return { body: null, truncated: truncatedAlready, bytes: 0 };
  if (raw.length > limit) return { body: raw.subarray(0, limit).toString('utf8'), truncated: true, bytes: raw.length };
  if (knownJson && !truncatedAlready) return { body: new RawJson(raw), truncated: false, bytes: raw.length };
  const text = raw.toString('utf8');
  if (!truncatedAlready) {
    try {
      return { body: JSON.parse(text), truncated: false, bytes: raw.length };
    } catch {
      // not JSON: kept as text
    }
  }
  return { body: text, truncated: truncatedAlready, bytes: raw.length };
}

/** Per-process marker for raw bodies in the rendered skeleton; no client can predict it. */
const marker = `__cylestio_raw_${randomBytes(8).toString('hex')}_`;

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');
const LINE_BREAKS = /[\r\n]/g;
/** Raw bodies up to this size are spliced as text; larger ones as bytes, never decoded. */
const SMALL_RAW_BYTES = 8 * 1024;

/** The trace as JSON bytes (a file of the `files` layout): compact, since `jq` and `grep` need no indentation. */
export function renderTrace(trace: Record<string, unknown>): Buffer {
  return render(trace, false);
}

/**
 * The trace as one JSON line, line break included, for a segment. A raw body is the client's own JSON and may
 * be pretty-printed; in valid JSON a line break can only be whitespace between tokens (inside a string it
 * must be escaped), and in UTF-8 those bytes never occur inside a multi-byte character, so turning each
 * into a space keeps the value and makes the record a single line.
 */
export function renderTraceLine(trace: Record<string, unknown>): Buffer {
  return render(trace, true);
}

/** A raw body's bytes as they go in the trace; a copy only when a line break must become a space. */
function rawBytes(json: Buffer | string, line: boolean): Buffer {
  const bytes = typeof json === 'string' ? Buffer.from(json) : json;
  if (!line || (bytes.indexOf(LINE_FEED) === -1 && bytes.indexOf(CARRIAGE_RETURN) === -1)) return bytes;
  const copy = Buffer.from(bytes);
  for (const code of [LINE_FEED, CARRIAGE_RETURN]) for (let at = copy.indexOf(code); at !== -1; at = copy.indexOf(code, at + 1)) copy[at] = SPACE;
  return copy;
}

/**
 * The skeleton is serialised with a marker string for each raw body, then cut at the markers and the bodies'
 * bytes put between the pieces. The markers come out in the order toJSON made them (serialisation order),
 * each as a whole JSON string: a client's value could only equal one by knowing the process's random marker.
 */
function render(trace: Record<string, unknown>, line: boolean): Buffer {
  const raws: Array<Buffer | string> = [];
  const outer = splicing; // a render inside a render (none today) gets its own markers and gives them back
  splicing = raws;
  let skeleton: string;
  try {
    skeleton = JSON.stringify(trace);
  } finally {
    splicing = outer;
  }
  // The skeleton's text between the markers: pieces[i] comes before raws[i], the last piece after them all.
  const pieces: string[] = [];
  let from = 0;
  let rawTotal = 0;
  for (let i = 0; i < raws.length; i++) {
    const token = `"${marker}${i}__"`;
    const at = skeleton.indexOf(token, from);
    pieces.push(skeleton.slice(from, at));
    from = at + token.length;
    rawTotal += raws[i].length;
  }
  pieces.push(skeleton.slice(from));
  // Small bodies (a chat turn): one string and one encode cost less than a buffer per piece.
  if (rawTotal <= SMALL_RAW_BYTES) {
    let text = pieces[0];
    for (let i = 0; i < raws.length; i++) {
      const raw = raws[i].toString();
      text += (line ? raw.replace(LINE_BREAKS, ' ') : raw) + pieces[i + 1];
    }
    return Buffer.from(line ? `${text}\n` : text);
  }
  const parts: Buffer[] = [Buffer.from(pieces[0])];
  for (let i = 0; i < raws.length; i++) parts.push(rawBytes(raws[i], line), Buffer.from(pieces[i + 1]));
  if (line) parts.push(NEWLINE);
  return Buffer.concat(parts);
}

/**
 * The trace file's content: the session fields at the top (so `grep sess_…`, `jq .session_id` and
 * `jq .parent_session_id` work), then request and response with secrets redacted. A streamed response's
 * body is the reply reassembled in the provider's non-streaming shape; the raw events follow when
 * `include_raw_stream` is set.
 */
export function buildTrace(record: ExchangeRecord, shape: TraceShape): Record<string, unknown> {
  const request: Record<string, unknown> = { method: record.method, path: record.path };
  const response: Record<string, unknown> = { status: record.status };
  if (shape.includeHeaders) {
    request.headers = shape.redact(record.request.headers);
    response.headers = shape.redact(record.response.headers);
  }
  if (shape.includeBody) {
    // A body the gateway parsed is valid JSON and goes in as it is; one it refused (malformed) is text.
    const req = traceBody(record.request.body, false, shape.maxBodySize, record.request.json === true);
    request.body = req.body;
    if (req.truncated) Object.assign(request, { body_truncated: true, body_bytes: req.bytes });
    const reply = record.response.reply;
    if (record.stream && reply?.assembled !== undefined) {
      // The reply reassembled: it holds only the start of long fields (reply.truncated), and as a whole
      // is cut at the limit like any body. body_bytes is what the client received.
      const body = cappedJson(reply.assembled, shape.maxBodySize);
      response.body = new RawJson(body.json);
      if (body.cut || reply.truncated) Object.assign(response, { body_truncated: true, body_bytes: reply.bodyBytes ?? body.bytes });
      if (shape.includeRawStream) {
        const raw = traceBody(record.response.body, record.response.truncated, shape.maxBodySize, false);
        response.raw_stream = typeof raw.body === 'string' ? raw.body : JSON.stringify(raw.body);
        if (raw.truncated) response.raw_stream_truncated = true;
      }
    } else {
      // A JSON reply the decoder read back is valid JSON.
      const res = traceBody(record.response.body, record.response.truncated, shape.maxBodySize, reply !== null && !record.stream);
      response.body = res.body;
      if (res.truncated) Object.assign(response, { body_truncated: true, ...(reply?.bodyBytes !== undefined ? { body_bytes: reply.bodyBytes } : {}) });
    }
  }
  response.duration_ms = record.durationMs;
  response.time_to_first_byte_ms = record.ttfbMs;
  return {
    timestamp: record.timestamp,
    request_id: record.requestId,
    session_id: record.sessionId,
    // A client-named session's identity across tenants (`name~tag`); absent when it is the session id itself.
    ...(record.sessionKey && record.sessionKey !== record.sessionId ? { session_key: record.sessionKey } : {}),
    // The session this one is a sub-agent of (null for a root), its identity across tenants likewise.
    parent_session_id: record.parentSessionId ?? null,
    ...(record.parentSessionKey && record.parentSessionKey !== record.parentSessionId ? { parent_session_key: record.parentSessionKey } : {}),
    is_new_session: record.isNewSession,
    session_rule: record.sessionRule,
    provider: record.provider,
    model: record.model,
    stream: record.stream,
    request,
    response,
    usage: record.usage,
    cost_usd: record.costUsd ?? null,
    session_usage: record.sessionUsage,
    failure: record.failure,
  };
}
