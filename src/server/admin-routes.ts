import type { FastifyInstance } from 'fastify';
import { redactConfig } from '../config/redact.js';
import type { GatewayConfig } from '../config/schema.js';
import type { InterceptorChain } from '../interceptors/chain.js';
import { metricsFormat, type GatewayMetrics, type MetricsSources } from '../metrics/gateway-metrics.js';
import type { OtlpFiguresView, PipelineFiguresView } from '../metrics/exposition.js';
import type { Persistence } from '../sessions/store/open-persistence.js';
import type { SessionTimelines } from '../sessions/timeline.js';
import type { SessionEngine } from '../sessions/types.js';
import { protectAdmin, type AdminAuthFigures } from './admin-auth.js';
import { registerSessionsRoutes } from './sessions-routes.js';
import { registerUiRoutes } from './ui-routes.js';

export interface AdminDeps {
  config: GatewayConfig;
  startedAt: Date;
  sessions: SessionEngine | null;
  interceptors: InterceptorChain;
  metrics: GatewayMetrics;
  persistence: Persistence | null;
  timelines: SessionTimelines;
  /** False while the gateway drains for shutdown. */
  ready(): boolean;
  /** The request pipeline's failure counters. */
  pipeline: { figures(): PipelineFiguresView };
  /** OpenTelemetry export, when on. */
  telemetry: { toJSON(): OtlpFiguresView & Record<string, unknown> } | null;
}

/** The gateway's own endpoints; registered before the catch-all so they never reach the provider. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { config, startedAt } = deps;
  const uptimeSeconds = () => Math.round((Date.now() - startedAt.getTime()) / 1000);

  app.get('/health', async () => ({
    status: 'healthy',
    service: 'llm-proxy', // the name the guide's users already check for
    timestamp: new Date().toISOString(),
    uptime_seconds: uptimeSeconds(),
  }));

  // Readiness for load balancers and orchestrators: 503 from the moment a shutdown starts, while requests
  // on accepted connections are still served. Like /health, open: it tells nothing secret.
  app.get('/ready', async (_request, reply) => {
    if (deps.ready()) return { status: 'ready' };
    return reply.code(503).send({ status: 'draining' });
  });

  // Everything else may be protected by server.admin_token (a scope of its own: proxy routes never see the hook).
  void app.register(async (scope) => {
    const auth = protectAdmin(scope, config.server.admin_token, { cookieLifetimeSeconds: Math.round(config.server.admin_session_hours * 3600) });
    registerProtected(scope, deps, auth.figures);
    if (deps.sessions) registerSessionsRoutes(scope, { sessions: deps.sessions, timelines: deps.timelines, persistence: deps.persistence });
    registerUiRoutes(scope);
  });
}

function registerProtected(
  app: FastifyInstance,
  { config, sessions, interceptors, metrics, persistence, pipeline, telemetry, timelines }: AdminDeps,
  admin: () => AdminAuthFigures,
): void {
  // Interceptor configs may hold credentials of their own, so only their type and state are shown.
  const redacted = { ...redactConfig(config), interceptors: config.interceptors.map(({ type, enabled }) => ({ type, enabled })) };
  app.get('/config', async () => redacted);

  const sources = (): MetricsSources => ({
    sessions: sessions?.metrics() ?? null,
    interceptors: interceptors.figures(),
    persistence: persistence?.metrics() ?? null,
    pipeline: pipeline.figures(),
    otlp: telemetry?.toJSON() ?? null,
    // Kept only when no Postgres record holds the requests.
    timelines: sessions && !persistence?.requestLog ? timelines.figures() : null,
    admin: admin(),
    memory: process.memoryUsage(),
  });
  // JSON (the guide's shape) by default; Prometheus or OpenMetrics text when the client asks for it.
  app.get('/metrics', async (request, reply) => {
    reply.header('vary', 'accept');
    const format = metricsFormat(request.headers.accept);
    if (format === 'json') return metrics.json(sources());
    const { contentType, body } = await metrics.render(format, sources());
    return reply.type(contentType).send(body);
  });
  app.get('/metrics/prometheus', async (request, reply) => {
    const format = metricsFormat(request.headers.accept) === 'openmetrics' ? 'openmetrics' : 'prometheus';
    const { contentType, body } = await metrics.render(format, sources());
    return reply.header('vary', 'accept').type(contentType).send(body);
  });
}
