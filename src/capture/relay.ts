import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CapturedReply, Operation, ReplyDecoder } from '../providers/types.js';
import type { SessionDecision, SessionEngine } from '../sessions/types.js';
import { classifyFailure } from '../upstream/failure.js';
import type { ResponseSink, UpstreamCall } from '../upstream/forward.js';
import { errorBody, errors, type GatewayError } from '../server/errors.js';
import { clientResponseHeaders } from '../server/headers.js';
import { BodyCapture } from './body-capture.js';
import type { ExchangeRecord } from './record.js';

type Headers = Record<string, string | string[] | undefined>;

/** One proxied exchange as the response side sees it. */
export interface RelayContext {
  requestId: string;
  /** ISO time the request arrived. */
  timestamp: string;
  method: string;
  path: string;
  provider: string;
  operation: Operation | null;
  model: string | null;
  stream: boolean;
  requestHeaders: Headers;
  requestBody: Buffer | null;
  decision: SessionDecision | null;
  sessions: SessionEngine | null;
  /** Headers the gateway adds to every answer (request id, provider, session, CORS). */
  ownHeaders: Headers;
  timeoutSeconds: number;
  startedAt: number;
  /** Bytes of the response body to keep for the record; 0 keeps none. */
  captureLimit: number;
  log: Logger;
  /** Receives the finished exchange (interceptors, metrics); absent when nobody listens. */
  finish?: (record: ExchangeRecord) => void;
}

/** Writes a gateway-made error in the standard shape on a response that has not started yet. */
export function writeGatewayError(res: ServerResponse, ctx: Pick<RelayContext, 'ownHeaders' | 'requestId'>, error: GatewayError): void {
  const body = errorBody(error, ctx.requestId);
  res.writeHead(error.status, clientResponseHeaders({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, ctx.ownHeaders));
  res.end(body);
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** What the relay knows when an exchange ends, turned into the record interceptors and metrics get. */
export function exchangeRecord(ctx: RelayContext, outcome: { status: number; responseHeaders: Headers; firstByteAt: number; capture: BodyCapture | null; reply: CapturedReply | null; failure: string | null }): ExchangeRecord {
  return {
    requestId: ctx.requestId,
    timestamp: ctx.timestamp,
    method: ctx.method,
    path: ctx.path,
    operation: ctx.operation?.name ?? null,
    provider: ctx.provider,
    model: ctx.model ?? outcome.reply?.model ?? null,
    stream: ctx.stream,
    status: outcome.status,
    durationMs: round(performance.now() - ctx.startedAt),
    ttfbMs: outcome.firstByteAt ? round(outcome.firstByteAt - ctx.startedAt) : null,
    sessionId: ctx.decision?.sessionId ?? null,
    isNewSession: ctx.decision?.isNew ?? null,
    sessionRule: ctx.decision?.rule ?? null,
    usage: outcome.reply?.usage ?? null,
    sessionUsage: (ctx.decision && ctx.sessions?.usage(ctx.decision)) ?? null,
    failure: outcome.failure,
    traceFile: null,
    request: { headers: ctx.requestHeaders, body: ctx.requestBody },
    response: { headers: outcome.responseHeaders, body: outcome.capture?.bytes() ?? null, truncated: outcome.capture?.truncated ?? false, reply: outcome.reply },
  };
}

/**
 * Streams the provider's answer to the client as it arrives (backpressure: a slow client pauses the
 * provider), while a decoder reassembles the reply from the same bytes. The reply is recorded with the
 * session engine before the client's last byte, so a follow-up request always finds it; the finished
 * exchange goes to `finish` after the last byte.
 */
export function relayTo(res: ServerResponse, ctx: RelayContext, getCall: () => UpstreamCall | null): ResponseSink {
  let decoder: ReplyDecoder | null = null;
  let capture: BodyCapture | null = null;
  let status = 0;
  let responseHeaders: Headers = {};
  let firstByteAt = 0;
  let done = false;

  const end = (code: number, reply: CapturedReply | null, failure: string | null, note?: string) => {
    if (done) return;
    done = true;
    ctx.log.info(
      {
        request_id: ctx.requestId,
        method: ctx.method,
        path: ctx.path,
        status: code,
        duration_ms: round(performance.now() - ctx.startedAt),
        ttfb_ms: firstByteAt ? round(firstByteAt - ctx.startedAt) : undefined,
        session_id: ctx.decision?.sessionId,
        session_rule: ctx.decision?.rule,
        note,
      },
      'request',
    );
    ctx.finish?.(exchangeRecord(ctx, { status: code, responseHeaders, firstByteAt, capture, reply, failure }));
  };

  res.on('close', () => {
    if (res.writableFinished) return;
    getCall()?.abort();
    end(status || 499, null, 'client_closed', 'client closed the connection');
  });

  return {
    onStart(code, headers) {
      status = code;
      responseHeaders = headers;
      const contentType = String(headers['content-type'] ?? '');
      if (ctx.operation?.decoder && code >= 200 && code < 300) decoder = ctx.operation.decoder(contentType);
      if (ctx.captureLimit > 0) capture = new BodyCapture(ctx.captureLimit);
      res.writeHead(code, clientResponseHeaders(headers, ctx.ownHeaders));
      // Event streams: send the status line now, so clients see the stream open before the first token.
      if (contentType.includes('text/event-stream')) res.flushHeaders();
    },
    onData(chunk) {
      if (!firstByteAt) firstByteAt = performance.now();
      decoder?.onChunk(chunk);
      capture?.add(chunk);
      if (res.write(chunk)) return true;
      res.once('drain', () => getCall()?.resume());
      return false;
    },
    onEnd() {
      const reply = decoder ? decoder.end() : null;
      if (reply && ctx.decision && ctx.sessions) ctx.sessions.recordReply(ctx.decision, reply);
      res.end();
      end(status, reply, null);
    },
    onError(error, started, attempts) {
      if (done) return;
      const failure = classifyFailure(error);
      if (started) {
        // The status line is gone already: the only honest signal left is to cut the stream.
        res.destroy(error);
        end(status, null, failure, `upstream failed mid-response: ${failure}`);
        return;
      }
      const gatewayError = failure === 'timeout' ? errors.gatewayTimeout(ctx.timeoutSeconds) : errors.badGateway(failure === 'unreachable' ? 'connection_failed' : failure, attempts);
      writeGatewayError(res, ctx, gatewayError);
      end(gatewayError.status, null, failure, `upstream ${failure}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
    },
  };
}
