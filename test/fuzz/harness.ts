// Fuzz harness: a real gateway process per wire format in front of an in-process simulator, two ways to
// talk to it (undici for well-formed HTTP, raw sockets for anything else) and the invariants every answer
// must satisfy. Knobs (all optional, see README.md here): FUZZ_SEED and FUZZ_PATH (replay a run),
// FUZZ_RUNS (runs per property), FUZZ_TIMEOUT_MS (bound per request, default 5000), FUZZ_BUDGET_MS (wall
// time per property, shrinking included, default 12000).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { serverSchema } from '../../src/config/schema.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { configFile, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';

export type WireFormat = 'openai' | 'anthropic';

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${raw}`);
  return value;
}

/** One seed per test file unless FUZZ_SEED pins it; fast-check prints it (and the path) with every failure. */
export const SEED = envInt('FUZZ_SEED') ?? randomBytes(4).readInt32LE(0) | 0;
/** A request must be answered completely (status, headers, whole body or stream) within this. */
export const REQUEST_TIMEOUT_MS = envInt('FUZZ_TIMEOUT_MS') ?? 5000;
/** Wall time one property may take, shrinking included (fast-check then reports the smallest case so far). */
export const PROPERTY_BUDGET_MS = envInt('FUZZ_BUDGET_MS') ?? 12_000;
/** vitest timeout for one property test: its budget, one request still in flight, the health check. */
export const TEST_TIMEOUT_MS = PROPERTY_BUDGET_MS + 3 * REQUEST_TIMEOUT_MS + 5000;

/** fast-check parameters for a property of `runs` runs by default (FUZZ_RUNS overrides every property). */
export function fuzzParams<T>(runs: number): fc.Parameters<T> {
  // FUZZ_PATH (with FUZZ_SEED, and -t to select one property) replays a reported counterexample directly.
  const path = process.env.FUZZ_PATH?.trim() || undefined;
  return {
    seed: SEED,
    path,
    numRuns: envInt('FUZZ_RUNS') ?? runs,
    plugins: [fc.interruptAfterTimeLimit(PROPERTY_BUDGET_MS)],
  };
}

// Secrets the gateway is configured with: neither may ever appear in an answer, header or body. Random per
// file so a hit can only come from the gateway (no test ever sends them).
export const API_KEY = `sk-fuzz-${randomBytes(12).toString('hex')}`;
export const ADMIN_TOKEN = `adm-fuzz-${randomBytes(12).toString('hex')}`;

/**
 * How the configuration bounds the time a client may take to send its request (a stalled body), if it can:
 * `server.timeouts.{request,headers}_seconds`, or a flat `server.*timeout*` key. Found by asking the schema,
 * so the suite follows the configuration as it changes. Null when the gateway has no such bound.
 */
export const SERVER_BODY_TIMEOUT: { seconds: number; yaml: string } | null = (() => {
  const seconds = 2;
  const candidates: Array<[Record<string, unknown>, string]> = [
    [{ timeouts: { request_seconds: seconds, headers_seconds: seconds } }, `timeouts: {request_seconds: ${seconds}, headers_seconds: ${seconds}}`],
    [{ timeouts: { request_seconds: seconds } }, `timeouts: {request_seconds: ${seconds}}`],
  ];
  const shape = (serverSchema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  for (const key of Object.keys(shape).filter((name) => /timeout/i.test(name) && name !== 'timeouts')) {
    const value = /_ms$/i.test(key) ? seconds * 1000 : seconds;
    candidates.push([{ [key]: value }, `${key}: ${value}`]);
  }
  for (const [candidate, yaml] of candidates) if (serverSchema.safeParse(candidate).success) return { seconds, yaml };
  return null;
})();

/**
 * How long a client that stalls in the middle of its body waits to be answered or closed: the server's
 * bound plus Node's checking period (it looks for stalled requests once a second here), else the request bound.
 */
export const STALLED_BODY_DEADLINE_MS = SERVER_BODY_TIMEOUT ? SERVER_BODY_TIMEOUT.seconds * 1000 + 2500 : REQUEST_TIMEOUT_MS;

/** `server.max_body_size` of the fuzzed gateways. */
export const MAX_BODY_SIZE = 8 * 1024 * 1024;

export interface FuzzGateway {
  type: WireFormat;
  url: string;
  host: string;
  port: number;
  process: GatewayProcess;
  /** The gateway's own chat route for this format and a body the provider answers with 200. */
  chatPath: string;
  validChat(text?: string): Record<string, unknown>;
}

export const CHAT_PATH: Record<WireFormat, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };

export function validChat(type: WireFormat, text = 'hello'): Record<string, unknown> {
  return type === 'openai'
    ? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }
    : { model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: text }] };
}

function gatewayYaml(type: WireFormat, simUrl: string, traceDir: string): string {
  const timeout = SERVER_BODY_TIMEOUT ? `, ${SERVER_BODY_TIMEOUT.yaml}` : '';
  return [
    `server: {host: 127.0.0.1, port: 0, max_body_size: ${MAX_BODY_SIZE}, admin_token: "${ADMIN_TOKEN}"${timeout}}`,
    // llm.timeout well inside the per-request bound, so a slow provider becomes a 504 the client still sees.
    `llm: {type: ${type}, base_url: "${simUrl}", api_key: "${API_KEY}", timeout: 3, max_retries: 1}`,
    'session: {enabled: true}',
    'interceptors:',
    // As in production: rate limits first (generous: fuzzing must not trip them), then traces.
    '  - type: rate_limit',
    '    config:',
    '      per_session: {requests_per_minute: 1000000, tokens_per_hour: 1000000000000, max_requests: 1000000000}',
    '      per_client: {key: ip, requests_per_minute: 1000000}',
    '  - type: trace',
    `    config: {directory: "${traceDir}", max_body_size: 65536}`,
    'logging: {level: info, format: json}',
    '',
  ].join('\n');
}

/**
 * For a test file: one simulator and one gateway process per wire format, started once (beforeAll) and
 * stopped in afterAll. `restart` replaces a gateway that died or stopped answering, so one property
 * that kills it does not fail every later one.
 */
export class FuzzFleet {
  sim!: Simulator;
  readonly gateways = new Map<WireFormat, FuzzGateway>();
  readonly agent = new Agent({ connections: 8, keepAliveTimeout: 2000, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  private traceDir = '';
  private readonly sockets = new Set<net.Socket>();

  async start(types: WireFormat[]): Promise<void> {
    // Recording off: fuzz bodies are large and many; nothing here reads them back.
    this.sim = await startSimulator({ record: false });
    this.traceDir = await mkdtemp(join(tmpdir(), 'cylestio-fuzz-traces-'));
    await Promise.all(types.map((type) => this.launch(type)));
  }

  private async launch(type: WireFormat): Promise<FuzzGateway> {
    const config = await configFile(gatewayYaml(type, this.sim.url, join(this.traceDir, type)));
    const process = await startGatewayProcess(config, type);
    const { hostname, port } = new URL(process.url);
    const gateway: FuzzGateway = {
      type,
      url: process.url,
      host: hostname,
      port: Number(port),
      process,
      chatPath: CHAT_PATH[type],
      validChat: (text) => validChat(type, text),
    };
    this.gateways.set(type, gateway);
    return gateway;
  }

  get(type: WireFormat): FuzzGateway {
    const gateway = this.gateways.get(type);
    if (!gateway) throw new Error(`no ${type} gateway`);
    return gateway;
  }

  /** Raw sockets opened by tests, destroyed at the end whatever happened. */
  track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Replaces a gateway (one that died or stopped answering), so later properties get a working one. */
  async restart(type: WireFormat): Promise<void> {
    const gateway = this.gateways.get(type);
    if (!gateway) return;
    await gateway.process.stop('SIGKILL');
    await this.launch(type);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([...this.gateways.values()].map((gateway) => gateway.process.stop('SIGKILL')));
    this.gateways.clear();
    await this.agent.destroy().catch(() => {}); // nothing in flight is worth waiting for
    await this.sim?.close();
    if (this.traceDir) await rm(this.traceDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Talking to the gateway

export interface Answer {
  method: string;
  target: string;
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  elapsedMs: number;
}

export interface HttpRequest {
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/** A well-formed request through undici; rejects when no complete answer (whole body) came in time. */
export async function send(fleet: FuzzFleet, gateway: FuzzGateway, req: HttpRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(gateway.url + req.path, {
      method: req.method as 'POST',
      headers: req.headers,
      body: req.body,
      signal,
      dispatcher: fleet.agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name] = value;
    return { method: req.method, target: req.path, status: response.statusCode, headers, body: Buffer.concat(chunks), elapsedMs: performance.now() - started };
  } catch (err) {
    const elapsed = Math.round(performance.now() - started);
    const what = signal.aborted ? `no complete answer within ${timeoutMs} ms` : `request failed after ${elapsed} ms: ${(err as Error).message}`;
    throw new Error(`${req.method} ${req.path.slice(0, 200)}: ${what}`);
  }
}

export type RawOutcome =
  /** `answer` is the first final answer; `answers` all of them when several were asked for (pipelining). */
  | { kind: 'response'; answer: Answer; answers: Answer[]; interim: number[] }
  /** The gateway closed the connection without a complete answer (bytes it did send, if any). */
  | { kind: 'closed'; received: Buffer; elapsedMs: number }
  /** Neither an answer nor a close within the deadline. */
  | { kind: 'timeout'; received: Buffer; elapsedMs: number };

export interface RawRequest {
  /** Request line + headers (+ body, unless `afterContinue`), written as soon as the socket connects. */
  bytes: Buffer | string;
  /** Written once a `100 Continue` arrives (or after `continueFallbackMs` without one, as curl does). */
  afterContinue?: Buffer | string;
  continueFallbackMs?: number;
  /** The method, for the framing of the answer (HEAD answers carry no body). */
  method: string;
  target: string;
  /** Half-close the socket (FIN) once everything was written. */
  endAfterWrite?: boolean;
  /** Final answers to wait for (pipelined requests); default 1. */
  answers?: number;
  deadlineMs?: number;
}

interface ParsedHead {
  status: number;
  headers: Record<string, string | string[]>;
  headLength: number;
}

function parseHead(buffer: Buffer): ParsedHead | null | 'bad' {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return buffer.length > 1 << 20 ? 'bad' : null;
  const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!match) return 'bad';
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'bad';
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prior = headers[name];
    headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return { status: Number(match[1]), headers, headLength: end + 4 };
}

/** Length of a complete chunked body at the start of `buffer` (its decoded bytes), or null if incomplete. */
function parseChunked(buffer: Buffer): { consumed: number; body: Buffer } | null | 'bad' {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1').split(';')[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) return 'bad';
    at = lineEnd + 2;
    if (size === 0) {
      // trailers, then an empty line
      for (;;) {
        const trailerEnd = buffer.indexOf('\r\n', at);
        if (trailerEnd < 0) return null;
        const empty = trailerEnd === at;
        at = trailerEnd + 2;
        if (empty) return { consumed: at, body: Buffer.concat(parts) };
      }
    }
    if (buffer.length < at + size + 2) return null;
    parts.push(buffer.subarray(at, at + size));
    at += size + 2;
  }
}

function header(headers: Record<string, string | string[]>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Any bytes over a raw TCP connection to the gateway; the first complete final answer is parsed (1xx
 * interim answers are skipped and listed). Never rejects: the outcome says what happened.
 */
export function sendRaw(fleet: FuzzFleet, gateway: FuzzGateway, req: RawRequest): Promise<RawOutcome> {
  const deadline = req.deadlineMs ?? REQUEST_TIMEOUT_MS;
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: gateway.host, port: gateway.port });
    fleet.track(socket);
    let received: Buffer = Buffer.alloc(0);
    let offset = 0; // start of the not-yet-consumed answer (after interim 1xx answers)
    const interim: number[] = [];
    const answers: Answer[] = [];
    const wanted = req.answers ?? 1;
    let continued = req.afterContinue === undefined;
    let settled = false;

    const finish = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(fallback);
      socket.destroy();
      resolve(outcome);
    };
    const elapsed = () => performance.now() - started;
    const timer = setTimeout(() => finish({ kind: 'timeout', received, elapsedMs: elapsed() }), deadline);
    const sendRest = () => {
      if (continued) return;
      continued = true;
      socket.write(req.afterContinue!);
      if (req.endAfterWrite) socket.end();
    };
    const fallback = req.afterContinue === undefined ? undefined : setTimeout(sendRest, req.continueFallbackMs ?? 1000);

    const tryParse = (closed: boolean) => {
      for (;;) {
        const rest = received.subarray(offset);
        const head = parseHead(rest);
        if (head === 'bad') return finish({ kind: 'closed', received, elapsedMs: elapsed() });
        if (head === null) {
          if (closed) finish({ kind: 'closed', received, elapsedMs: elapsed() });
          return;
        }
        if (head.status >= 100 && head.status < 200) {
          interim.push(head.status);
          offset += head.headLength;
          if (head.status === 100) sendRest();
          continue;
        }
        const bodyBytes = rest.subarray(head.headLength);
        // Records one final answer whose body took `consumed` bytes; true when more are awaited.
        const done = (body: Buffer, consumed: number): boolean => {
          answers.push({ method: req.method, target: req.target, status: head.status, headers: head.headers, body, elapsedMs: elapsed() });
          if (answers.length < wanted) {
            offset += head.headLength + consumed;
            return true;
          }
          finish({ kind: 'response', interim, answer: answers[0], answers });
          return false;
        };
        if (req.method.toUpperCase() === 'HEAD' || head.status === 204 || head.status === 304) {
          if (done(Buffer.alloc(0), 0)) continue;
          return;
        }
        const te = header(head.headers, 'transfer-encoding');
        if (te && /chunked/i.test(te)) {
          const chunked = parseChunked(bodyBytes);
          if (chunked === 'bad') return finish({ kind: 'closed', received, elapsedMs: elapsed() });
          if (chunked) {
            if (done(chunked.body, chunked.consumed)) continue;
            return;
          }
          if (closed) finish({ kind: 'closed', received, elapsedMs: elapsed() });
          return;
        }
        const cl = header(head.headers, 'content-length');
        if (cl !== undefined) {
          const length = Number(cl);
          if (!Number.isSafeInteger(length)) return finish({ kind: 'closed', received, elapsedMs: elapsed() });
          if (bodyBytes.length >= length) {
            if (done(bodyBytes.subarray(0, length), length)) continue;
            return;
          }
          if (closed) finish({ kind: 'closed', received, elapsedMs: elapsed() });
          return;
        }
        // Neither: the body runs to the close (so no answer can follow it).
        if (closed && !done(bodyBytes, bodyBytes.length)) return;
        if (closed) finish({ kind: 'closed', received, elapsedMs: elapsed() });
        return;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    socket.on('error', () => {}); // a reset shows as the close that follows
    socket.on('connect', () => {
      socket.write(req.bytes);
      if (continued && req.endAfterWrite) socket.end();
    });
  });
}

/** `METHOD target HTTP/1.1` + headers (name/value pairs, in order, duplicates kept) + body. */
export function rawRequest(method: string, target: string, headers: Array<[string, string]>, body?: Buffer | string): Buffer {
  const head = `${method} ${target} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  const parts: Buffer[] = [Buffer.from(head, 'latin1')];
  if (body !== undefined) parts.push(typeof body === 'string' ? Buffer.from(body) : body);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------------
// Invariants

/** Statuses a client may see: 2xx relayed from the provider, and the documented error statuses. */
export const DOCUMENTED_ERRORS = new Set([400, 401, 404, 405, 408, 409, 413, 414, 415, 417, 429, 431, 500, 502, 504]);

const GATEWAY_ERROR_TYPES = new Set(['invalid_request_error', 'authentication_error', 'rate_limit_error', 'server_error', 'provider_error']);

/** The simulated provider stamps every answer with its rate-limit headers (one set per wire format). */
function fromProvider(answer: Answer): boolean {
  return answer.headers['x-ratelimit-limit-requests'] !== undefined || answer.headers['anthropic-ratelimit-requests-limit'] !== undefined;
}

function isProviderErrorShape(json: unknown): boolean {
  if (!json || typeof json !== 'object') return false;
  const body = json as { type?: unknown; error?: { message?: unknown; type?: unknown } };
  if (!body.error || typeof body.error !== 'object') return false;
  return typeof body.error.message === 'string' && typeof body.error.type === 'string';
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** What is wrong with a gateway-made error body, or null when it has the standard shape. */
function standardShapeProblem(answer: Answer): string | null {
  const json = parseJson(answer.body) as Record<string, any> | undefined;
  if (!json || typeof json !== 'object' || Array.isArray(json)) return 'the body is not a JSON object';
  const error = json.error;
  if (!error || typeof error !== 'object' || Array.isArray(error)) return 'no `error` object';
  if (typeof error.message !== 'string' || error.message === '') return '`error.message` is not a non-empty string';
  if (typeof error.type !== 'string' || !GATEWAY_ERROR_TYPES.has(error.type))
    return `\`error.type\` ${JSON.stringify(error.type)} is not one of the gateway's types`;
  if (typeof error.code !== 'string' || error.code === '') return '`error.code` is not a non-empty string';
  if (!('details' in error) || (error.details !== null && (typeof error.details !== 'object' || Array.isArray(error.details))))
    return '`error.details` is missing (must be an object or null)';
  if (typeof json.timestamp !== 'string' || Number.isNaN(Date.parse(json.timestamp))) return '`timestamp` is not an ISO time';
  if (typeof json.request_id !== 'string' || !json.request_id.startsWith('req_')) return '`request_id` is not a req_ id';
  const headerId = answer.headers['x-request-id'];
  if (typeof headerId === 'string' && headerId !== json.request_id) return `\`request_id\` ${json.request_id} differs from X-Request-ID ${headerId}`;
  return null;
}

/** A reassembled SSE stream ends with its format's final event. */
function streamProblem(body: Buffer): string | null {
  const text = body.toString('utf8');
  if (!/\r?\n\r?\n$/.test(text)) return 'the event stream does not end at an event boundary';
  if (!/data: \[DONE\]|event: message_stop|event: response\.(completed|failed|incomplete)/.test(text))
    return 'the event stream has no final event ([DONE], message_stop, response.completed)';
  return null;
}

/** What admin content a body looks like (/config, /metrics, /sessions, the web page), or null. */
function adminContent(answer: Answer): string | null {
  const text = answer.body.toString('utf8');
  if (/cylestio_[a-z_]+|^# (HELP|TYPE) /m.test(text)) return 'Prometheus metrics';
  if (/<html/i.test(text) && !/id="login"/.test(text)) return 'a web page other than the sign-in page';
  const json = parseJson(answer.body);
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const keys = ['llm', 'server', 'interceptors', 'sessions', 'requests', 'performance', 'persistence', 'session', 'timeline', 'conversation'].filter(
      (key) => key in json,
    );
    if (keys.length > 0) return `JSON with ${keys.join(', ')}`;
  }
  return null;
}

function preview(buffer: Buffer, max = 300): string {
  const text = buffer.toString('utf8');
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…(${buffer.length} bytes)` : text);
}

/** The invariants of every complete answer; throws an Error naming the broken one. */
export function checkAnswer(answer: Answer, extra: { admin?: boolean } = {}): void {
  const where = `${answer.method} ${answer.target.slice(0, 160)}${answer.target.length > 160 ? '…' : ''} → ${answer.status}`;
  const fail = (what: string) => {
    throw new Error(`${where}: ${what}; headers ${JSON.stringify(answer.headers).slice(0, 400)}; body ${preview(answer.body)}`);
  };

  // No secret, anywhere.
  const headerText = JSON.stringify(answer.headers);
  const bodyText = answer.body.toString('latin1');
  for (const [name, secret] of [
    ['llm.api_key', API_KEY],
    ['server.admin_token', ADMIN_TOKEN],
  ] as const) {
    if (headerText.includes(secret)) fail(`${name} leaked in a response header`);
    if (bodyText.includes(secret)) fail(`${name} leaked in the response body`);
  }

  const status = answer.status;
  const ok = status >= 200 && status < 300;
  if (!ok && !DOCUMENTED_ERRORS.has(status)) fail(`status ${status} is not a documented one`);

  const provider = fromProvider(answer);
  if (ok) {
    // The gateway's own 2xx (health, readiness, the CORS preflight) never shows admin content without the token.
    if (!provider && !extra.admin) {
      const leak = adminContent(answer);
      if (leak) fail(`the gateway served admin content (${leak}) without the admin token`);
    }
    const type = String(header(answer.headers, 'content-type') ?? '');
    if (answer.method.toUpperCase() !== 'HEAD' && status !== 204) {
      if (type.startsWith('text/event-stream')) {
        const problem = streamProblem(answer.body);
        if (problem) fail(problem);
      } else if (type.startsWith('application/json') && parseJson(answer.body) === undefined) fail('a 2xx JSON body that does not parse (truncated?)');
    }
    return;
  }

  if (answer.method.toUpperCase() === 'HEAD') return; // no body to judge
  if (provider) {
    if (!isProviderErrorShape(parseJson(answer.body))) fail("a provider error not in the provider's shape (altered on the way?)");
    return;
  }
  // Opening the web page without the token shows its sign-in form, with the 401 (docs/ui.md).
  if (status === 401 && /^text\/html/.test(String(header(answer.headers, 'content-type') ?? '')) && /id="login"/.test(answer.body.toString('utf8'))) return;
  // The rate_limit interceptor answers 429 in the provider's own shape, by design (docs/rate-limiting.md).
  if (status === 429 && answer.headers['retry-after'] !== undefined && isProviderErrorShape(parseJson(answer.body))) return;
  const problem = standardShapeProblem(answer);
  if (problem) fail(`a gateway error not in the standard shape: ${problem}`);
  // The simulated provider is up and answers at once: a 5xx of the gateway's own means it failed on the
  // request itself (a stage threw, or it could not forward what the provider would have answered).
  if (status >= 500) fail('a 5xx made by the gateway while the provider is up and answering (the request broke the gateway or its forwarding)');
}

/** A raw outcome must be a complete answer satisfying the invariants (or, when `mayClose`, a close). */
export function checkRaw(outcome: RawOutcome, what: string, options: { mayClose?: boolean; deadlineMs?: number } = {}): void {
  if (outcome.kind === 'timeout') {
    throw new Error(`${what}: neither answered nor closed within ${options.deadlineMs ?? REQUEST_TIMEOUT_MS} ms (received ${preview(outcome.received, 200)})`);
  }
  if (outcome.kind === 'closed') {
    if (options.mayClose && outcome.received.length === 0) return;
    throw new Error(
      `${what}: connection closed without a complete answer after ${Math.round(outcome.elapsedMs)} ms (received ${preview(outcome.received, 300)})`,
    );
  }
  for (const answer of outcome.answers) checkAnswer(answer);
}

/** Why the gateway is not healthy (process gone, or a plain valid chat request not answered 200), or null. */
export async function healthProblem(fleet: FuzzFleet, gateway: FuzzGateway): Promise<string | null> {
  const child = gateway.process.child;
  if (child.exitCode !== null || child.signalCode !== null)
    return `the ${gateway.type} gateway process exited (code ${child.exitCode}, signal ${child.signalCode})`;
  try {
    const answer = await send(fleet, gateway, {
      method: 'POST',
      path: gateway.chatPath,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(gateway.validChat(`health check ${Math.random()}`)),
    });
    if (answer.status !== 200) return `a plain valid chat request answered ${answer.status}: ${preview(answer.body)}`;
    checkAnswer(answer);
    return null;
  } catch (err) {
    return `a plain valid chat request failed: ${(err as Error).message}`;
  }
}

/**
 * Runs a property, then checks the gateway still serves a normal request and is alive; fails with both
 * when both went wrong. A gateway left unhealthy is replaced for the next property.
 */
export async function assertProperty<T>(fleet: FuzzFleet, gateway: FuzzGateway, property: fc.IAsyncProperty<T>, runs: number): Promise<void> {
  let failure: unknown = null;
  try {
    await fc.assert(property, fuzzParams<T>(runs));
  } catch (err) {
    failure = err;
  }
  const health = await healthProblem(fleet, gateway);
  if (health) await fleet.restart(gateway.type).catch(() => {});
  if (failure && health) throw new Error(`${(failure as Error).message}\n\nAfterwards the gateway was unhealthy: ${health}`);
  if (failure) throw failure;
  if (health) throw new Error(`after the property the gateway was unhealthy: ${health}`);
}
