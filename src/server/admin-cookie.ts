import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a sign-in of the web page lasts: a working day, then the token is asked for again. */
export const ADMIN_COOKIE_LIFETIME_SECONDS = 12 * 3600;

/**
 * The web page's sign-in cookie: `<issued, unix seconds>.<HMAC-SHA256 of it, keyed by the admin token>`.
 * The gateway, not the browser, enforces the lifetime: the issue time is under the signature, so a copied
 * cookie stops working when it expires, however long a browser or a thief keeps it. The cookie is not the
 * token, cannot be made without it, and every cookie dies when the token changes.
 */
export function adminCookieSigner(token: string, lifetimeSeconds = ADMIN_COOKIE_LIFETIME_SECONDS) {
  const sign = (issued: string) => createHmac('sha256', token).update(`cylestio-admin-cookie\0${issued}`).digest();
  return {
    issue(nowMs: number): string {
      const issued = String(Math.floor(nowMs / 1000));
      return `${issued}.${sign(issued).toString('base64url')}`;
    },
    /** True for a cookie this token signed, issued no longer than the lifetime ago (and not in the future). */
    verify(value: string, nowMs: number): boolean {
      const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!match) return false;
      const given = Buffer.from(match[2]!, 'base64url');
      if (given.length !== 32 || !timingSafeEqual(given, sign(match[1]!))) return false;
      const age = nowMs / 1000 - Number(match[1]);
      return age >= -60 && age <= lifetimeSeconds; // a minute of clock skew between replicas
    },
  };
}
