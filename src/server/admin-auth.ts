import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_COOKIE_LIFETIME_SECONDS, adminCookieSigner } from './admin-cookie.js';
import { errorBody, errors, type GatewayError } from './errors.js';
import { LoginAttempts } from './login-attempts.js';

/** The web page's cookie: signed with the token and dated (admin-cookie.ts), never the token itself. */
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
  const error = document.getElementById('error');
  if (response.ok) location.reload();
  else if (response.status === 429) error.textContent = 'Too many wrong tokens: try again in ' + Math.ceil(Number(response.headers.get('retry-after')) / 60) + ' min.';
  else error.textContent = 'That is not the admin token.';
});
</script></body></html>`;

export interface AdminAuthOptions {
  /** Milliseconds clock (tests). */
  now?: () => number;
  cookieLifetimeSeconds?: number;
}

/** What the admin sign-in counted: wrong tokens, and attempts refused for too many of them. */
export interface AdminAuthFigures {
  login_failures: number;
  login_limited: number;
}

const LOGIN_PATH = '/ui/login';

/**
 * Protects the admin endpoints with `server.admin_token` when it is set: `Authorization: Bearer <token>`
 * (scrapers, curl) or the web page's cookie. Without either: 401 in the standard error shape, or for the web
 * page, the sign-in page. Registered as a hook of the admin scope only, so proxy routes never pay for it.
 * Wrong tokens, at the sign-in or in the header, are limited per client (login-attempts.ts); the cookie
 * lasts ADMIN_COOKIE_LIFETIME_SECONDS, enforced here (admin-cookie.ts). Returns the counts, for /metrics.
 */
export function protectAdmin(scope: FastifyInstance, token: string | undefined, options: AdminAuthOptions = {}): { figures(): AdminAuthFigures } {
  const attempts = new LoginAttempts(options.now);
  const figures = () => ({ login_failures: attempts.counts.failures, login_limited: attempts.counts.limited });
  if (!token) return { figures };
  const now = options.now ?? Date.now;
  const lifetime = options.cookieLifetimeSeconds ?? ADMIN_COOKIE_LIFETIME_SECONDS;
  const expected = digest(token);
  const cookies = adminCookieSigner(token, lifetime);

  const failed = (request: FastifyRequest) => {
    if (attempts.failed(request.ip)) request.log.warn({ client: request.ip }, 'admin token: too many wrong attempts from one client, refused for a while');
  };

  scope.post(LOGIN_PATH, async (request: FastifyRequest, reply: FastifyReply) => {
    const wait = attempts.retryAfter(request.ip);
    if (wait) return tooMany(request, reply, wait);
    let given = '';
    try {
      const body = JSON.parse(String(request.body ?? '')) as { token?: unknown };
      if (typeof body.token === 'string') given = body.token;
    } catch {
      // not JSON: treated as a wrong token below
    }
    if (!given || !same(given, expected)) {
      failed(request);
      return reply.code(401).type('application/json').send(errorBody(errors.unauthorized(), request.id));
    }
    attempts.succeeded(request.ip);
    const expires = new Date(now() + lifetime * 1000).toUTCString();
    const secure = request.protocol === 'https' ? '; Secure' : '';
    reply.header('set-cookie', `${COOKIE}=${cookies.issue(now())}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${lifetime}; Expires=${expires}${secure}`);
    return reply.code(204).send();
  });

  scope.addHook('onRequest', async (request, reply) => {
    // The matched route, not the raw URL: `/ui/login?x=1` is the sign-in too, which checks its own token.
    if (request.method === 'POST' && request.routeOptions.url === LOGIN_PATH) return;
    const cookie = cookieValue(request.headers.cookie, COOKIE);
    if (cookie && cookies.verify(cookie, now())) return;
    const bearer = bearerToken(request.headers.authorization);
    if (bearer !== undefined) {
      // A client over the limit is refused before its token is even compared, right or wrong.
      const wait = attempts.retryAfter(request.ip);
      if (wait) return tooMany(request, reply, wait);
      // No success resets the failures here: a scraper behind the same address would reset a guesser's.
      if (same(bearer, expected)) return;
      failed(request);
    }
    reply.header('www-authenticate', 'Bearer realm="cylestio-gateway"');
    const path = request.url.split('?')[0];
    if (request.method === 'GET' && (path === '/ui' || path!.startsWith('/ui/'))) {
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage);
    }
    return reply.code(401).type('application/json').send(errorBody(errors.unauthorized(), request.id));
  });
  return { figures };
}

function bearerToken(header: string | undefined): string | undefined {
  return typeof header === 'string' ? /^Bearer\s+(.*)$/is.exec(header.trim())?.[1]?.trim() : undefined;
}

function tooMany(request: FastifyRequest, reply: FastifyReply, seconds: number): FastifyReply {
  const error: GatewayError = {
    status: 429,
    type: 'rate_limit_error',
    code: 'too_many_attempts',
    message: `Too many wrong admin tokens from this client: try again in ${seconds} s`,
    details: { retry_after_seconds: seconds },
  };
  return reply.code(429).header('retry-after', String(seconds)).type('application/json').send(errorBody(error, request.id));
}
