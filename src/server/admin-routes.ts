import type { FastifyInstance } from 'fastify';
import { redactConfig } from '../config/redact.js';
import type { GatewayConfig } from '../config/schema.js';

/** The gateway's own endpoints; registered before the catch-all so they never reach the provider. */
export function registerAdminRoutes(app: FastifyInstance, config: GatewayConfig, startedAt: Date): void {
  app.get('/health', async () => ({
    status: 'healthy',
    service: 'llm-proxy', // the name the guide's users already check for
    timestamp: new Date().toISOString(),
    uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  }));

  // Interceptor configs may hold credentials of their own, so only their type and state are shown.
  const redacted = { ...redactConfig(config), interceptors: config.interceptors.map(({ type, enabled }) => ({ type, enabled })) };
  app.get('/config', async () => redacted);
}
