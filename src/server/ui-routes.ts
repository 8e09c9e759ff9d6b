import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody, errors, type GatewayError } from './errors.js';

/**
 * The page's folder next to the compiled code: `src/ui/` when running from source (tests, tsx), `dist/ui/`
 * when running the build (scripts/copy-ui.mjs puts the files there).
 */
const UI_DIR = new URL('../ui/', import.meta.url);

/** The page's own files: a fixed list, so a request path never reaches the file system. */
const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;
type UiFile = keyof typeof FILES;

/**
 * Same-origin only, nothing inline: the page is plain files from this folder and JSON from the admin API.
 * Scripts set SVG geometry through attributes and styles through the CSSOM, which this policy allows.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Read once, at the first request: every later answer is a buffer already in memory, and a gateway whose
 * build lacks the folder still starts (only the page is missing, which the answer says).
 */
let loaded: Map<UiFile, Buffer> | Error | undefined;
function files(): Map<UiFile, Buffer> | Error {
  if (loaded) return loaded;
  try {
    loaded = new Map((Object.keys(FILES) as UiFile[]).map((name) => [name, readFileSync(new URL(name, UI_DIR))]));
  } catch (err) {
    loaded = err instanceof Error ? err : new Error(String(err));
  }
  return loaded;
}

function send(reply: FastifyReply, name: UiFile): FastifyReply {
  const all = files();
  if (all instanceof Error) {
    const error: GatewayError = {
      status: 500,
      type: 'server_error',
      code: 'ui_missing',
      message: `The web page's files are missing from ${fileURLToPath(UI_DIR)}: ${all.message}`,
    };
    return reply.code(500).type('application/json').send(errorBody(error, reply.request.id));
  }
  return (
    reply
      .type(FILES[name])
      // Revalidated on every load, so a gateway upgrade is never shown with an old script.
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(all.get(name))
  );
}

/**
 * The web page at `/ui`. Registered inside the admin scope, so it sits behind `server.admin_token` like the
 * API it reads; every path is a real route, since anything else would fall through to the provider proxy.
 */
export function registerUiRoutes(scope: FastifyInstance): void {
  scope.get('/ui', async (_request, reply) => send(reply, 'index.html'));
  scope.get('/ui/', async (_request, reply) => send(reply, 'index.html'));
  for (const name of Object.keys(FILES) as UiFile[]) {
    if (name !== 'index.html') scope.get(`/ui/${name}`, async (_request, reply) => send(reply, name));
  }
  // Browsers ask every origin for /favicon.ico (the sign-in page names no icon): answered here, not by the provider.
  scope.get('/favicon.ico', async (_request, reply) => send(reply, 'favicon.svg'));
  // The page's namespace is the gateway's: a mistyped asset is a 404 here, never a request to the provider.
  scope.get('/ui/*', async (request, reply) =>
    reply
      .code(404)
      .type('application/json')
      .send(errorBody(errors.notFound(`page file ${request.url.split('?')[0]}`), request.id)),
  );
}
