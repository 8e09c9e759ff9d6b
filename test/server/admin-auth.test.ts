// The web page's sign-in, attacked through HTTP: a query string that dodged the login route, unlimited
// token guessing, and a cookie that never expired.
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_COOKIE_LIFETIME_SECONDS, adminCookieSigner } from '../../src/server/admin-cookie.js';
import { LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS } from '../../src/server/login-attempts.js';
import { startStack, type Stack } from '../helpers/stack.js';

const token = 'admin-secret-token';
const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((stack) => stack.close()));
});

async function stack(): Promise<Stack> {
  const started = await startStack({ server: { admin_token: token } });
  stacks.push(started);
  return started;
}

/** Requests from another loopback address: another client, as far as the gateway can tell. */
const otherClient = new Agent({ localAddress: '127.0.0.2' });

function login(s: Stack, given: string, options: { path?: string; dispatcher?: Agent } = {}): Promise<Response> {
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: given }), dispatcher: options.dispatcher };
  return fetch(`${s.url}${options.path ?? '/ui/login'}`, init as RequestInit);
}

const cookieOf = (response: Response) => response.headers.get('set-cookie')!.split(';')[0]!;

describe('POST /ui/login', () => {
  it('signs in whatever the query string', async () => {
    const s = await stack();
    for (const path of ['/ui/login?x=1', '/ui/login?', '/ui/login?next=%2Fui']) {
      const response = await login(s, token, { path });
      expect(response.status, path).toBe(204);
      expect((await fetch(`${s.url}/sessions`, { headers: { cookie: cookieOf(response) } })).status, path).toBe(200);
    }
  });

  it('still guards every other admin path that carries a query string', async () => {
    const s = await stack();
    for (const path of ['/sessions?x=/ui/login', '/metrics?/ui/login', '/config?ui/login']) {
      expect((await fetch(`${s.url}${path}`)).status, path).toBe(401);
    }
    expect((await fetch(`${s.url}/sessions/any?/ui/login`, { method: 'DELETE' })).status).toBe(401);
  });
});

describe('guessing the admin token', () => {
  it(`answers 429 after ${LOGIN_MAX_FAILURES} failures from one address, even to the right token, until the window ends`, async () => {
    const s = await stack();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) expect((await login(s, `guess-${i}`)).status).toBe(401);
    const refused = await login(s, token);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(LOGIN_WINDOW_SECONDS);
    const body = (await refused.json()) as { error: { type: string; code: string; details: { retry_after_seconds: number } }; request_id: string };
    expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_attempts', details: { retry_after_seconds: retryAfter } });
    expect(body.request_id).toBeTruthy();
    expect(refused.headers.get('set-cookie')).toBeNull();
    // The header is the same secret: it is refused from this address too, right or wrong.
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(429);
    // Another client signs in as usual.
    expect((await login(s, token, { dispatcher: otherClient })).status).toBe(204);
  });

  it('counts wrong Bearer tokens on the admin endpoints as failures too', async () => {
    const s = await stack();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
      expect((await fetch(`${s.url}/config`, { headers: { authorization: `Bearer guess-${i}` } })).status).toBe(401);
    }
    expect((await login(s, token)).status).toBe(429);
  });

  it('forgets the failures of a client that then signs in', async () => {
    const s = await stack();
    for (let i = 0; i < LOGIN_MAX_FAILURES - 1; i++) await login(s, `typo-${i}`);
    expect((await login(s, token)).status).toBe(204);
    for (let i = 0; i < LOGIN_MAX_FAILURES - 1; i++) expect((await login(s, `typo-again-${i}`)).status).toBe(401);
    expect((await login(s, token)).status).toBe(204);
  });
});

describe('the sign-in cookie', () => {
  it(`expires after ${ADMIN_COOKIE_LIFETIME_SECONDS / 3600} h in the browser`, async () => {
    const s = await stack();
    const before = Date.now();
    const header = (await login(s, token)).headers.get('set-cookie')!;
    expect(header).toContain(`Max-Age=${ADMIN_COOKIE_LIFETIME_SECONDS}`);
    const expires = Date.parse(/Expires=([^;]+)/.exec(header)![1]!);
    expect(Math.abs(expires - before - ADMIN_COOKIE_LIFETIME_SECONDS * 1000)).toBeLessThan(5_000);
  });

  it('is refused by the gateway once older than its lifetime, whatever the browser kept', async () => {
    const s = await stack();
    const signer = adminCookieSigner(token);
    const justValid = signer.issue(Date.now() - (ADMIN_COOKIE_LIFETIME_SECONDS - 60) * 1000);
    const expired = signer.issue(Date.now() - (ADMIN_COOKIE_LIFETIME_SECONDS + 1) * 1000);
    expect((await fetch(`${s.url}/sessions`, { headers: { cookie: `cylestio_admin=${justValid}` } })).status).toBe(200);
    expect((await fetch(`${s.url}/sessions`, { headers: { cookie: `cylestio_admin=${expired}` } })).status).toBe(401);
  });

  it('carries its issue time under the signature: a cookie made younger is refused', async () => {
    const s = await stack();
    const old = adminCookieSigner(token).issue(Date.now() - (ADMIN_COOKIE_LIFETIME_SECONDS + 1) * 1000);
    const [issued, signature] = old.split('.');
    expect(Number(issued)).toBeGreaterThan(0);
    const rejuvenated = `${Math.floor(Date.now() / 1000)}.${signature}`;
    expect((await fetch(`${s.url}/sessions`, { headers: { cookie: `cylestio_admin=${rejuvenated}` } })).status).toBe(401);
    // Nor can a cookie signed with another gateway's token get in.
    const foreign = adminCookieSigner('another-token').issue(Date.now());
    expect((await fetch(`${s.url}/sessions`, { headers: { cookie: `cylestio_admin=${foreign}` } })).status).toBe(401);
  });
});
