// The admin sign-in over time, through HTTP on a bare server with a clock the test moves: the guessing
// window ends, and the cookie dies with its lifetime (no waiting, no forged cookie).
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { protectAdmin, type AdminAuthFigures } from '../../src/server/admin-auth.js';
import { ADMIN_COOKIE_LIFETIME_SECONDS } from '../../src/server/admin-cookie.js';
import { clientKey, LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS } from '../../src/server/login-attempts.js';

const token = 'clock-test-token';
let clock = Date.parse('2030-01-01T00:00:00Z');
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** The admin scope as the gateway builds it: raw bodies, the guard, one protected route. */
async function server(): Promise<{ url: string; figures(): AdminAuthFigures }> {
  const app = Fastify();
  apps.push(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  let auth: { figures(): AdminAuthFigures } | undefined;
  await app.register(async (scope) => {
    auth = protectAdmin(scope, token, { now: () => clock });
    scope.get('/metrics', async () => ({ ok: true }));
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, figures: () => auth!.figures() };
}

const login = (url: string, given: string) =>
  fetch(`${url}/ui/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: given }) });

describe('the guessing window', () => {
  it('refuses a client until the window that its first failure opened ends, then lets it try again', async () => {
    const { url, figures } = await server();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) await login(url, `guess-${i}`);
    clock += 60_000;
    const refused = await login(url, token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(LOGIN_WINDOW_SECONDS - 60);
    clock += (LOGIN_WINDOW_SECONDS - 61) * 1000;
    expect(Number((await login(url, token)).headers.get('retry-after'))).toBe(1);
    clock += 1000;
    expect((await login(url, 'one more guess')).status).toBe(401); // a new window
    expect((await login(url, token)).status).toBe(204);
    expect(figures()).toEqual({ login_failures: LOGIN_MAX_FAILURES + 1, login_limited: 2 });
  });
});

describe('the cookie lifetime', () => {
  it('is enforced by the gateway: valid to the last second, refused after', async () => {
    const { url } = await server();
    const cookie = (await login(url, token)).headers.get('set-cookie')!.split(';')[0]!;
    const metrics = () => fetch(`${url}/metrics`, { headers: { cookie } }).then((response) => response.status);
    expect(await metrics()).toBe(200);
    clock += ADMIN_COOKIE_LIFETIME_SECONDS * 1000;
    expect(await metrics()).toBe(200);
    clock += 1000;
    expect(await metrics()).toBe(401);
  });
});

describe('clientKey', () => {
  it('groups an IPv6 host by its /64, and reads IPv4 as such however it is written', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(clientKey('10.0.0.1')).toBe('10.0.0.1');
  });
});
