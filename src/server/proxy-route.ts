import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import type { Operation, ParsedRequest, ProviderAdapter } from '../providers/types.js';
import { explicitIdFinder } from '../sessions/explicit.js';
import type { SessionDecision, SessionEngine } from '../sessions/types.js';
import { forward, type UpstreamCall } from '../upstream/forward.js';
import type { UpstreamTarget } from '../upstream/pool.js';
import { corsHeaders } from './cors.js';
import { errors } from './errors.js';
import { upstreamRequestHeaders } from './headers.js';
import { relayTo, writeGatewayError, type RelayContext } from '../capture/relay.js';

export interface ProxyDeps {
  config: GatewayConfig;
  adapter: ProviderAdapter;
  upstream: UpstreamTarget;
  sessions: SessionEngine | null;
  log: Logger;
}

/** Parses the body once; returns the parsed request or the error to answer with. */
function parseBody(operation: Operation, raw: Buffer | undefined): ParsedRequest | ReturnType<typeof errors.malformedJson> {
  let body: unknown;
  try {
    body = JSON.parse(raw ? raw.toString('utf8') : '');
  } catch (err) {
    return errors.malformedJson((err as Error).message);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return errors.notAnObject();
  return operation.parse!(body);
}

/**
 * The one proxy handler behind every route: what differs per API lives in the operation the adapter gave
 * (null for pass-through paths, which are forwarded untouched and not tracked).
 */
export function proxyHandler(deps: ProxyDeps, operation: Operation | null) {
  const { config, adapter, upstream, sessions } = deps;
  const findExplicitId = explicitIdFinder(config.session.explicit_id_headers);
  const configuredKey = config.llm.api_key || undefined;
  const tracked = Boolean(sessions && operation?.conversational);

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
      parsed = result;
    }

    const clientKey = adapter.clientCredential(request.headers);
    let decision: SessionDecision | null = null;
    if (tracked && parsed && sessions) {
      const credential = clientKey ?? configuredKey ?? '';
      const partitionBy = config.session.partition_by;
      decision = sessions.decide({
        partition: partitionBy === 'none' ? '' : partitionBy === 'credential' ? credential : `${credential}|${request.ip}`,
        explicitId: findExplicitId(request.headers, parsed.explicitSessionId),
        previousResponseId: parsed.previousResponseId,
        conversation: parsed.conversation(),
      });
      ownHeaders['x-session-id'] = decision.sessionId;
      log.debug({ request_id: request.id, session_id: decision.sessionId, rule: decision.rule, is_new: decision.isNew, reason: decision.reason }, 'session decision');
    }

    const ctx: RelayContext = {
      requestId: request.id,
      method: request.method,
      path: request.url,
      operation,
      decision,
      sessions,
      ownHeaders,
      timeoutSeconds: config.llm.timeout,
      startedAt,
      log,
    };
    let call: UpstreamCall | null = null;
    const sink = relayTo(res, ctx, () => call);
    call = forward(
      upstream,
      {
        method: request.method,
        path: request.url,
        headers: upstreamRequestHeaders(request.headers, clientKey || !configuredKey ? null : adapter.authHeaders(configuredKey), tracked),
        body: raw && raw.length > 0 ? raw : null,
      },
      sink,
    );
  };
}
