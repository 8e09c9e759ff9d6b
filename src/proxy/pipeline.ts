import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import type { InterceptorChain } from '../interceptors/chain.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { PriceCatalog } from '../pricing/catalog.js';
import type { ProviderAdapter } from '../providers/types.js';
import { corsHeaders } from '../server/cors.js';
import type { Persistence } from '../sessions/store/open-persistence.js';
import type { SessionTimelines } from '../sessions/timeline.js';
import type { SessionEngine } from '../sessions/types.js';
import type { OtlpTelemetry } from '../telemetry/otlp/telemetry.js';
import type { UpstreamTarget } from '../upstream/pool.js';
import { credentialResolver } from './credential.js';
import { Exchange } from './exchange.js';
import { PipelineFigures, StageRunner, type Stage } from './runner.js';
import { finisher, metricsSink, otlpSink, requestLogSink, requestRowsSink, timelineSink, type Sink } from './sinks.js';
import { decideSessionStage } from './stages/decide-session.js';
import { forwardStage } from './stages/forward.js';
import { parseStage } from './stages/parse.js';
import { requestHooksStage } from './stages/request-hooks.js';
import { routeStage } from './stages/route.js';

export interface PipelineDeps {
  config: GatewayConfig;
  adapter: ProviderAdapter;
  upstream: UpstreamTarget;
  sessions: SessionEngine | null;
  interceptors: InterceptorChain;
  metrics: GatewayMetrics;
  persistence: Persistence | null;
  timelines: SessionTimelines;
  /** OpenTelemetry export; null when off (then it costs nothing per request). */
  telemetry: OtlpTelemetry | null;
  log: Logger;
}

export interface ProxyPipeline {
  /** The Fastify handler of every proxied route. */
  handle(request: FastifyRequest, reply: FastifyReply): void;
  figures: PipelineFigures;
}

/**
 * The request path, in order. Stages: route → parse → decide session → request hooks → forward (relay and
 * reassemble, recording the reply with the session engine before the client's last byte). Then the finish
 * step: interceptors' response hooks, the request log line, metrics, and the session's request rows or
 * timeline. Stages that have nothing to do for a gateway (no sessions, no hooks) are left out of the list.
 */
const sharedBackend = (backend: string): boolean => backend === 'redis' || backend === 'postgres';

export function createProxyPipeline(deps: PipelineDeps): ProxyPipeline {
  const { config, adapter, sessions, interceptors, telemetry, log } = deps;
  const stageDeadlineMs = Math.round(config.server.timeouts.stage_seconds * 1000);
  const figures = new PipelineFigures();
  const prices = new PriceCatalog(config.pricing.overrides);

  const stages: Stage[] = [
    routeStage(adapter.operations),
    parseStage(
      credentialResolver(adapter, {
        configuredKey: config.llm.api_key || undefined,
        adminToken: config.server.admin_token,
        allowOrigins: config.server.cors.allow_origins,
      }),
    ),
  ];
  if (sessions) stages.push(decideSessionStage(sessions, config.session, config.llm.api_key || undefined, stageDeadlineMs, log));
  if (interceptors.hasRequestHooks) stages.push(requestHooksStage(interceptors, stageDeadlineMs));
  stages.push(
    forwardStage(
      deps.upstream,
      {
        timeoutSeconds: config.llm.timeout,
        captureLimit: Math.max(interceptors.needsBodies ? interceptors.maxBodyBytes : 0, telemetry?.contentBytes ?? 0),
        // Record reply: the next request of the conversation must find this reply, so it is recorded
        // before the client can send that request.
        // The reply is priced here, once, so the session's total and the exchange record agree.
        onReply: (ex, reply) => {
          reply.costUsd = prices.cost(ex.provider, reply.model ?? ex.model, reply.usage);
          if (sessions && ex.decision) return sessions.recordReply(ex.decision, reply);
        },
        // With a shared store, a follow-up may reach another gateway or worker the moment the client has
        // its answer: the last bytes wait for the store's write, at most the store's own timeout. A store
        // only this process uses (memory, file: one gateway per directory) has nobody else to serve, and
        // this process's own engine holds the reply already.
        holdMs: deps.persistence?.link && sharedBackend(deps.persistence.link.store.backend) ? config.session.persistence.timeout_ms : 0,
        log,
      },
      telemetry,
    ),
  );

  const requestLog = deps.persistence?.requestLog;
  const sinks: Sink[] = [requestLogSink(log), metricsSink(deps.metrics)];
  if (requestLog) sinks.push(requestRowsSink(requestLog));
  else if (sessions) sinks.push(timelineSink(deps.timelines));
  if (telemetry) sinks.push(otlpSink(telemetry));

  const runner = new StageRunner(stages, finisher(interceptors, sinks, sessions, figures, log), figures, log);

  return {
    figures,
    handle(request, reply) {
      reply.hijack();
      const ownHeaders: Record<string, string> = { ...corsHeaders, 'x-request-id': request.id, 'x-provider': adapter.name };
      const body = request.body instanceof Buffer ? request.body : null;
      const ex = new Exchange(
        { id: request.id, method: request.method, path: request.url, headers: request.headers, body, ip: request.ip },
        reply.raw,
        adapter,
        ownHeaders,
      );
      runner.start(ex);
    },
  };
}
