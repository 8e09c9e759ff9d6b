import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errors } from './errors.js';

/** The web page's cookie: a digest of the token, so the cookie is not the API credential itself. */
export const ADMIN_COOKIE = 'cylestio_admin';
const COOKIE = ADMIN_COOKIE;

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares in constant time (equal-length digests), so the token cannot be guessed byte by byte. */
function same(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** A small page that asks for the token and trades it for the cookie (served with the 401 of `/ui`). */
const loginPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cylestio Gateway: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}label,input,button{display:block;width:100%;margin:.5rem 0;font:inherit}input,button{padding:.5rem}</style>
</head><body><main><h1>Cylestio Gateway</h1><form id="login"><label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required><button type="submit">Sign in</button>
<p id="error" role="alert"></p></form></main><script>
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch('/ui/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: document.getElementById('token').value }) });
  if (response.ok) location.reload(); else document.getElementById('error').textContent = 'That is not the admin token.';
});
</script></body></html>`;

/**
 * Protects the admin endpoints with `server.admin_token` when it is set: `Authorization: Bearer <token>`
 * (scrapers, curl) or the web page's cookie. Without either: 401 in the standard error shape, or for the web
 * page, the sign-in page. Registered as a hook of the admin scope only, so proxy routes never pay for it.
 */
export function protectAdmin(scope: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  const expected = digest(token);
  const expectedCookie = digest(createHash('sha256').update(`${token}\0ui`).digest('hex'));
  const cookieFor = createHash('sha256').update(`${token}\0ui`).digest('hex');

  scope.post('/ui/login', async (request: FastifyRequest, reply: FastifyReply) => {
    let given = '';
    try {
      const body = JSON.parse(String(request.body ?? '')) as { token?: unknown };
      if (typeof body.token === 'string') given = body.token;
    } catch {
      // not JSON: treated as a wrong token below
    }
    if (!given || !same(given, expected)) return reply.code(401).type('application/json').send(errorBody(errors.unauthorized(), request.id));
    reply.header('set-cookie', `${COOKIE}=${cookieFor}; HttpOnly; SameSite=Strict; Path=/`);
    return reply.code(204).send();
  });

  scope.addHook('onRequest', async (request, reply) => {
    if (request.url === '/ui/login' && request.method === 'POST') return;
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ') && same(auth.slice(7).trim(), expected)) return;
    const cookie = cookieValue(request.headers.cookie, COOKIE);
    if (cookie && same(cookie, expectedCookie)) return;
    reply.header('www-authenticate', 'Bearer realm="cylestio-gateway"');
    if (request.method === 'GET' && (request.url === '/ui' || request.url.startsWith('/ui/') || request.url.startsWith('/ui?'))) {
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage);
    }
    return reply.code(401).type('application/json').send(errorBody(errors.unauthorized(), request.id));
  });
}
