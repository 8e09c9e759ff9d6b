import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import { adapterFor } from '../providers/registry.js';
import { buildInterceptorChain } from '../interceptors/registry.js';
import type { InterceptorChain } from '../interceptors/chain.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { DetectionEngine } from '../sessions/engine.js';
import { openPersistence, type Persistence } from '../sessions/store/open-persistence.js';
import { SessionTimelines } from '../sessions/timeline.js';
import { version } from '../version.js';
import { newRequestId } from '../sessions/ids.js';
import type { SessionEngine } from '../sessions/types.js';
import { createUpstream } from '../upstream/pool.js';
import { registerAdminRoutes } from './admin-routes.js';
import { answerUnknownExpectations, handleClientError, handleFrameworkError } from './client-errors.js';
import { ServerLifecycle, type DrainOptions } from './lifecycle.js';
import { lingerAfterAnswer } from './linger.js';
import { registerCors } from './cors.js';
import { errorBody, errors, type GatewayError } from './errors.js';
import { createProxyPipeline, type ProxyPipeline } from '../proxy/pipeline.js';
import { resolveOtlpSettings } from '../telemetry/otlp/settings.js';
import { OtlpTelemetry } from '../telemetry/otlp/telemetry.js';

export interface Gateway {
  app: FastifyInstance;
  sessions: SessionEngine | null;
  interceptors: InterceptorChain;
  /** The session store and Postgres record, when persistence is on. */
  persistence: Persistence | null;
  /** OpenTelemetry export, when on. */
  telemetry: OtlpTelemetry | null;
  /** Readiness, and the drain that answers every request on an accepted connection before closing. */
  lifecycle: ServerLifecycle;
  /**
   * Stops taking connections, answers every request on the accepted ones and lets in-flight ones finish
   * (up to `server.shutdown_timeout_seconds`), then flushes interceptor queues (traces) and closes the stores.
   */
  close(options?: Partial<DrainOptions>): Promise<void>;
}

/** Fastify's own errors (body too large, bad framing) answered in the gateway's standard shape. */
function toGatewayError(error: FastifyError, maxBody: number): GatewayError {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) return errors.tooLarge(maxBody);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, type: 'invalid_request_error', code: 'bad_request', message: error.message };
  }
  return errors.internal();
}

export interface GatewayOptions {
  /** Milliseconds clock for interceptors (rate-limit windows); tests inject one. */
  now?: () => number;
  /** Where OTEL_* variables are read (default: process.env); the config's `telemetry.otlp` wins over them. */
  env?: NodeJS.ProcessEnv;
}

export async function buildGateway(config: GatewayConfig, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const adapter = adapterFor(config.llm.type);
  const upstream = createUpstream(config.llm);
  const interceptors = await buildInterceptorChain(config, log, options.now);
  // A store that cannot be opened fails the start, with the backend and address in the message.
  const persistence = config.session.enabled ? await openPersistence(config.session, log) : null;
  const sessions: SessionEngine | null = config.session.enabled
    ? new DetectionEngine(config.session, { store: persistence?.link, secret: persistence?.secret })
    : null;
  const startedAt = new Date();
  const otlp = resolveOtlpSettings(config.telemetry.otlp, options.env ?? process.env);
  const telemetry = otlp ? new OtlpTelemetry(otlp, config.llm.base_url, log) : null;

  const timeouts = config.server.timeouts;
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // A client must finish sending its request in time: a stalled body or a trickle of headers would
    // otherwise hold a connection (and its memory) forever. Responses (long streams) are not bounded here.
    requestTimeout: Math.round(timeouts.request_seconds * 1000),
    keepAliveTimeout: Math.round(timeouts.keep_alive_seconds * 1000),
    http: {
      headersTimeout: Math.round(Math.min(timeouts.headers_seconds, timeouts.request_seconds) * 1000),
      // Node checks those timeouts on this period (30 s by default): a stalled request is closed within a second of its limit.
      connectionsCheckingInterval: 1000,
      // Node would answer a request without Host with a bare 400 of its own; HTTP/1.0 clients send none, and
      // the gateway never routes by it (the provider's host comes from llm.base_url).
      requireHostHeader: false,
    },
    clientErrorHandler: handleClientError,
    frameworkErrors: handleFrameworkError,
    routerOptions: {
      // Session names of up to 128 characters (percent-encoded, with their tenant tag) fit in /sessions/:id.
      maxParamLength: 1024,
    },
    // One line per request is written by the relay, with the session in it; Fastify's pair would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // Every log line the gateway writes names its request_id itself; a pino child per request is waste.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.server.max_body_size,
    genReqId: newRequestId,
    // Shutdown is the lifecycle's: requests on accepted connections are served through the drain.
    return503OnClosing: false,
    forceCloseConnections: false,
  });

  // Bodies stay raw bytes: the proxy forwards the client's original bytes and parses JSON itself, once.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const gatewayError = toGatewayError(error, config.server.max_body_size);
    if (gatewayError.status >= 500) request.log.error({ err: error, request_id: request.id }, 'unhandled error');
    if (gatewayError.status === 413) {
      reply.header('connection', 'close');
      lingerAfterAnswer(request.raw);
    }
    reply
      .code(gatewayError.status)
      .header('x-request-id', request.id)
      .header('x-provider', adapter.name)
      .type('application/json')
      .send(errorBody(gatewayError, request.id));
  });

  registerCors(app);

  const metrics = new GatewayMetrics({ service: 'cylestio-gateway', version, startedAt });
  // Recent requests per session for GET /sessions/:id, unless the Postgres record keeps them all.
  const timelines = new SessionTimelines({ maxRequests: config.session.timeline.max_requests, perSession: config.session.timeline.per_session });
  const pipeline: ProxyPipeline = createProxyPipeline({
    config,
    adapter,
    upstream,
    sessions,
    interceptors,
    metrics,
    persistence,
    timelines,
    telemetry,
    log,
  });
  const lifecycle = new ServerLifecycle(app.server);
  answerUnknownExpectations(app.server);
  registerAdminRoutes(app, {
    config,
    startedAt,
    sessions,
    interceptors,
    metrics,
    persistence,
    timelines,
    pipeline: pipeline.figures,
    telemetry,
    ready: () => lifecycle.ready,
  });

  // One route for every proxied path: the pipeline's route stage resolves the operation (and refuses
  // targets that are not plain paths), so every spelling of a route is handled by the same rules.
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'], url: '/*', handler: pipeline.handle });
  // Targets the router cannot place (absolute-form, asterisk-form) reach the pipeline too, which refuses them.
  app.setNotFoundHandler(pipeline.handle);

  return {
    app,
    sessions,
    interceptors,
    persistence,
    telemetry,
    lifecycle,
    async close(options: Partial<DrainOptions> = {}) {
      // Every request on an accepted connection is answered; then the queues are flushed (traces, rows,
      // store writes) before the stores close.
      await lifecycle.drain({ graceMs: 0, timeoutMs: Math.round(config.server.shutdown_timeout_seconds * 1000), quietMs: 100, ...options });
      await app.close();
      await interceptors.close();
      await telemetry?.shutdown(); // spans and metrics still queued, bounded by the export timeout
      await upstream.dispatcher.close();
      await persistence?.close();
      await sessions?.close(); // waits for store writes in flight, then closes the store
    },
  };
}
