import type { FastifyInstance } from 'fastify';

/**
 * CORS as the guide specifies it: any origin, a fixed list of methods and headers. The policy never
 * changes, so its headers are constants the proxy handler adds itself, rather than a plugin's hook that
 * would resolve the same options on every proxied request.
 */
export const corsHeaders: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'X-Request-ID, X-Session-ID, X-Parent-Session-ID, X-Provider',
};

const preflightHeaders: Readonly<Record<string, string>> = {
  ...corsHeaders,
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'Content-Type, Authorization',
  'access-control-max-age': '86400',
};

/**
 * Preflight (`OPTIONS` on any path) is answered by the gateway, never forwarded. Answers that go through
 * Fastify's `send` (admin routes, errors) get the headers in `onSend`; proxied answers are written by the
 * relay, which never calls `send`, so this hook costs the proxy path nothing.
 */
export function registerCors(app: FastifyInstance): void {
  app.options('/*', (_request, reply) => {
    reply.code(204).headers(preflightHeaders).header('content-length', '0').send();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(corsHeaders);
    return payload;
  });
}
