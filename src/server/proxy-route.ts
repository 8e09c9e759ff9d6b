import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ExchangeRecord } from '../capture/record.js';
import { exchangeRecord, relayTo, writeGatewayError, type RelayContext } from '../capture/relay.js';
import type { GatewayConfig } from '../config/schema.js';
import type { InterceptorChain } from '../interceptors/chain.js';
import type { InterceptorAnswer, RequestContext } from '../interceptors/types.js';
import type { Operation, ParsedRequest, ProviderAdapter } from '../providers/types.js';
import { explicitIdFinder } from '../sessions/explicit.js';
import type { SessionDecision, SessionEngine } from '../sessions/types.js';
import { forward, type UpstreamCall } from '../upstream/forward.js';
import type { UpstreamTarget } from '../upstream/pool.js';
import { corsHeaders } from './cors.js';
import { errors } from './errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

export interface ProxyDeps {
  config: GatewayConfig;
  adapter: ProviderAdapter;
  upstream: UpstreamTarget;
  sessions: SessionEngine | null;
  interceptors: InterceptorChain;
  /** Sees every finished exchange (metrics). */
  observe?: (record: ExchangeRecord) => void;
  log: Logger;
}

/** Parses the body once; returns the parsed request, or the error to answer with. */
function parseBody(operation: Operation, raw: Buffer | undefined): { parsed: ParsedRequest } | ReturnType<typeof errors.malformedJson> {
  let body: unknown;
  try {
    body = JSON.parse(raw ? raw.toString('utf8') : '');
  } catch (err) {
    return errors.malformedJson((err as Error).message);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return errors.notAnObject();
  return { parsed: operation.parse!(body) };
}

/** Parses the body again only if an interceptor asks for it (see RequestContext.body). */
function lazyJson(raw: Buffer | null): () => unknown {
  let parsed: unknown;
  let done = false;
  return () => {
    if (!done) {
      done = true;
      parsed = raw ? JSON.parse(raw.toString('utf8')) : undefined;
    }
    return parsed;
  };
}

/** An interceptor's own answer (a 429, a 401), with the gateway's headers. */
function writeAnswer(res: ServerResponse, answer: InterceptorAnswer, ownHeaders: RelayContext['ownHeaders']): void {
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...answer.headers };
  res.writeHead(answer.status, clientResponseHeaders(headers, ownHeaders));
  res.end(body);
}

/**
 * The one proxy handler behind every route: what differs per API lives in the operation the adapter gave
 * (null for pass-through paths, which are forwarded untouched and not tracked). Order: parse once, decide
 * the session, run the interceptors' request hooks (which may answer), forward, relay.
 */
export function proxyHandler(deps: ProxyDeps, operation: Operation | null) {
  const { config, adapter, upstream, sessions, interceptors, observe } = deps;
  const findExplicitId = explicitIdFinder(config.session.explicit_id_headers);
  const configuredKey = config.llm.api_key || undefined;
  const tracked = Boolean(sessions && operation?.conversational);
  const intercepting = !interceptors.empty;
  const captureLimit = interceptors.needsBodies ? interceptors.maxBodyBytes : 0;

  return (request: FastifyRequest, reply: FastifyReply): void => {
    const startedAt = performance.now();
    const raw = request.body as Buffer | undefined;
    const ownHeaders: RelayContext['ownHeaders'] = { ...corsHeaders, 'x-request-id': request.id, 'x-provider': adapter.name };
    reply.hijack();
    const res = reply.raw;
    const log = deps.log;

    let parsed: ParsedRequest | null = null;
    if (operation?.jsonBody && operation.parse) {
      const result = parseBody(operation, raw);
      if ('status' in result) {
        writeGatewayError(res, { ownHeaders, requestId: request.id }, result);
        log.info({ request_id: request.id, method: request.method, path: request.url, status: result.status }, 'request rejected');
        return;
      }
      parsed = result.parsed;
    }

    const clientKey = adapter.clientCredential(request.headers);
    if (!tracked || !parsed || !sessions) return proceed(request, res, parsed, clientKey, ownHeaders, startedAt, null);
    const credential = clientKey ?? configuredKey ?? '';
    const partitionBy = config.session.partition_by;
    const decided = sessions.decide({
      partition: partitionBy === 'none' ? '' : partitionBy === 'credential' ? credential : `${credential}|${request.ip}`,
      explicitId: findExplicitId(request.headers, parsed.explicitSessionId),
      previousResponseId: parsed.previousResponseId,
      conversation: parsed.conversation(),
    });
    // A promise only when a shared store was asked (a local miss); never rejects.
    if (decided instanceof Promise) {
      decided
        .then((decision) => {
          if (res.destroyed) return; // the client left while the store was asked
          proceed(request, res, parsed, clientKey, ownHeaders, startedAt, decision);
        })
        .catch((err: unknown) => {
          deps.log.error({ err, request_id: request.id }, 'session decision failed');
          if (!res.headersSent) writeGatewayError(res, { ownHeaders, requestId: request.id }, errors.internal());
        });
    }
    else proceed(request, res, parsed, clientKey, ownHeaders, startedAt, decided);
  };

  function proceed(request: FastifyRequest, res: ServerResponse, parsed: ParsedRequest | null, clientKey: string | undefined, ownHeaders: RelayContext['ownHeaders'], startedAt: number, decision: SessionDecision | null): void {
    const log = deps.log;
    const raw = request.body as Buffer | undefined;
    if (decision) {
      ownHeaders['x-session-id'] = decision.sessionId;
      log.debug({ request_id: request.id, session_id: decision.sessionId, rule: decision.rule, is_new: decision.isNew, reason: decision.reason }, 'session decision');
    }

    const timestamp = new Date().toISOString();
    const rawBody = raw && raw.length > 0 ? raw : null;
    const ctx: RelayContext = {
      requestId: request.id,
      timestamp,
      method: request.method,
      path: request.url,
      provider: adapter.name,
      operation,
      model: parsed?.model ?? null,
      stream: parsed?.stream ?? false,
      requestHeaders: request.headers,
      requestBody: rawBody,
      decision,
      sessions,
      ownHeaders,
      timeoutSeconds: config.llm.timeout,
      startedAt,
      captureLimit,
      log,
    };

    let interceptCtx: RequestContext | null = null;
    if (intercepting) {
      const seen: RequestContext = {
        requestId: request.id,
        timestamp,
        method: request.method,
        path: request.url,
        provider: adapter.name,
        operation: operation?.name ?? null,
        headers: request.headers,
        rawBody,
        body: lazyJson(operation?.jsonBody ? rawBody : null),
        model: ctx.model,
        stream: ctx.stream,
        sessionId: decision?.sessionId ?? null,
        isNewSession: decision?.isNew ?? null,
        clientIp: request.ip,
        credential: clientKey ?? configuredKey ?? null,
        responseHeaders: ownHeaders as Record<string, string>, // the gateway's own headers are plain strings
        errorBody: adapter.errorBody,
      };
      interceptCtx = seen;
      ctx.finish = (record) => {
        interceptors.finished(seen, record);
        observe?.(record);
      };
    } else if (observe) ctx.finish = observe;

    const send = () => {
      let call: UpstreamCall | null = null;
      const sink = relayTo(res, ctx, () => call);
      call = forward(
        upstream,
        {
          method: request.method,
          path: request.url,
          headers: upstreamRequestHeaders(request.headers, clientKey || !configuredKey ? null : adapter.authHeaders(configuredKey), Boolean(operation?.conversational)),
          body: rawBody,
        },
        sink,
      );
    };

    const answered = (answer: InterceptorAnswer | undefined) => {
      if (!answer) return send();
      writeAnswer(res, answer, ownHeaders);
      log.info({ request_id: request.id, method: request.method, path: request.url, status: answer.status, session_id: decision?.sessionId }, 'request answered by an interceptor');
      ctx.finish?.(exchangeRecord(ctx, { status: answer.status, responseHeaders: answer.headers ?? {}, firstByteAt: 0, capture: null, reply: null, failure: null }));
    };

    if (!interceptCtx || !interceptors.hasRequestHooks) return send();
    const result = interceptors.onRequest(interceptCtx);
    if (result instanceof Promise) {
      result.then(answered, (err: unknown) => {
        log.error({ err, request_id: request.id }, 'interceptor failed');
        writeGatewayError(res, { ownHeaders, requestId: request.id }, errors.internal());
      });
    } else answered(result);
  }
}
