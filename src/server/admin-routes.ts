import type { FastifyInstance } from 'fastify';
import { redactConfig } from '../config/redact.js';
import type { GatewayConfig } from '../config/schema.js';
import type { SessionEngine } from '../sessions/types.js';

export interface AdminDeps {
  config: GatewayConfig;
  startedAt: Date;
  sessions: SessionEngine | null;
}

/** The gateway's own endpoints; registered before the catch-all so they never reach the provider. */
export function registerAdminRoutes(app: FastifyInstance, { config, startedAt, sessions }: AdminDeps): void {
  const uptimeSeconds = () => Math.round((Date.now() - startedAt.getTime()) / 1000);

  app.get('/health', async () => ({
    status: 'healthy',
    service: 'llm-proxy', // the name the guide's users already check for
    timestamp: new Date().toISOString(),
    uptime_seconds: uptimeSeconds(),
  }));

  // Interceptor configs may hold credentials of their own, so only their type and state are shown.
  const redacted = { ...redactConfig(config), interceptors: config.interceptors.map(({ type, enabled }) => ({ type, enabled })) };
  app.get('/config', async () => redacted);

  app.get('/metrics', async () => {
    const { performance, ...sessionFigures } = sessions?.metrics() ?? { performance: null };
    return {
      service: { name: 'cylestio-gateway', uptime_seconds: uptimeSeconds(), start_time: startedAt.toISOString() },
      sessions: sessions ? sessionFigures : null,
      performance,
    };
  });
}
