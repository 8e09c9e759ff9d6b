import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Operation, ReplyDecoder } from '../providers/types.js';
import type { SessionDecision, SessionEngine } from '../sessions/types.js';
import { classifyFailure } from '../upstream/failure.js';
import type { ResponseSink, UpstreamCall } from '../upstream/forward.js';
import { errorBody, errors, type GatewayError } from '../server/errors.js';
import { clientResponseHeaders } from '../server/headers.js';

/** One proxied exchange as the response side sees it. */
export interface RelayContext {
  requestId: string;
  method: string;
  path: string;
  operation: Operation | null;
  decision: SessionDecision | null;
  sessions: SessionEngine | null;
  /** Headers the gateway adds to every answer (request id, provider, session, CORS). */
  ownHeaders: Record<string, string | string[] | undefined>;
  timeoutSeconds: number;
  startedAt: number;
  log: Logger;
}

/** Writes a gateway-made error in the standard shape on a response that has not started yet. */
export function writeGatewayError(res: ServerResponse, ctx: Pick<RelayContext, 'ownHeaders' | 'requestId'>, error: GatewayError): void {
  const body = errorBody(error, ctx.requestId);
  res.writeHead(error.status, clientResponseHeaders({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, ctx.ownHeaders));
  res.end(body);
}

/**
 * Streams the provider's answer to the client as it arrives (backpressure: a slow client pauses the
 * provider), while a decoder reassembles the reply from the same bytes. The reply is recorded with the
 * session engine before the client's last byte, so a follow-up request always finds it.
 */
export function relayTo(res: ServerResponse, ctx: RelayContext, getCall: () => UpstreamCall | null): ResponseSink {
  let decoder: ReplyDecoder | null = null;
  let status = 0;
  let firstByteAt = 0;
  let clientGone = false;

  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    getCall()?.abort();
    logLine(res.statusCode || 499, 'client closed the connection');
  });

  const logLine = (code: number, note?: string) => {
    const durationMs = Math.round((performance.now() - ctx.startedAt) * 100) / 100;
    ctx.log.info(
      {
        request_id: ctx.requestId,
        method: ctx.method,
        path: ctx.path,
        status: code,
        duration_ms: durationMs,
        ttfb_ms: firstByteAt ? Math.round((firstByteAt - ctx.startedAt) * 100) / 100 : undefined,
        session_id: ctx.decision?.sessionId,
        session_rule: ctx.decision?.rule,
        note,
      },
      'request',
    );
  };

  return {
    onStart(code, headers) {
      status = code;
      const contentType = String(headers['content-type'] ?? '');
      if (ctx.decision && ctx.operation?.decoder && code >= 200 && code < 300) decoder = ctx.operation.decoder(contentType);
      res.writeHead(code, clientResponseHeaders(headers, ctx.ownHeaders));
      // Event streams: send the status line now, so clients see the stream open before the first token.
      if (contentType.includes('text/event-stream')) res.flushHeaders();
    },
    onData(chunk) {
      if (!firstByteAt) firstByteAt = performance.now();
      decoder?.onChunk(chunk);
      if (res.write(chunk)) return true;
      res.once('drain', () => getCall()?.resume());
      return false;
    },
    onEnd() {
      if (decoder && ctx.decision && ctx.sessions) {
        const captured = decoder.end();
        if (captured) ctx.sessions.recordReply(ctx.decision, captured);
      }
      res.end();
      logLine(status);
    },
    onError(error, started, attempts) {
      if (clientGone) return;
      const failure = classifyFailure(error);
      if (started) {
        // The status line is gone already: the only honest signal left is to cut the stream.
        res.destroy(error);
        logLine(status, `upstream failed mid-response: ${failure}`);
        return;
      }
      const gatewayError = failure === 'timeout' ? errors.gatewayTimeout(ctx.timeoutSeconds) : errors.badGateway(failure === 'unreachable' ? 'connection_failed' : failure, attempts);
      writeGatewayError(res, ctx, gatewayError);
      logLine(gatewayError.status, `upstream ${failure}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
    },
  };
}
