import { ADMIN_COOKIE } from './admin-auth.js';
/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so a proxy drops them in
 * both directions. `host` and `content-length` are recomputed for the upstream connection.
 */
const hopByHop = new Set([
  'connection',
  // The expectation is the gateway's to answer (Node sends 100 Continue itself); undici refuses to send it.
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

type InHeaders = Record<string, string | string[] | undefined>;

function connectionListed(headers: InHeaders): Set<string> | null {
  const value = headers.connection;
  if (typeof value !== 'string' || value === '' || value === 'keep-alive' || value === 'close') return null;
  return new Set(value.split(',').map((token) => token.trim().toLowerCase()));
}

export interface UpstreamHeaderOptions {
  /** Headers carrying the configured key, for clients that brought none. */
  inject: Record<string, string> | null;
  /** Ask for an uncompressed reply (the gateway reads replies to link the next request). */
  identityEncoding: boolean;
  /** Headers never forwarded for this request (they carried the gateway's admin token). */
  withheld?: string[] | null;
}

export function upstreamRequestHeaders(headers: InHeaders, { inject, identityEncoding, withheld }: UpstreamHeaderOptions): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || hopByHop.has(name) || name === 'host' || name === 'content-length') continue;
    if (listed?.has(name)) continue;
    out[name] = value;
  }
  if (withheld) for (const name of withheld) delete out[name];
  // The web page's admin cookie is the gateway's own: it never goes to the provider.
  const cookie = out.cookie;
  if (typeof cookie === 'string' && cookie.includes(ADMIN_COOKIE)) {
    const kept = cookie.split(';').filter((part) => !part.trim().startsWith(`${ADMIN_COOKIE}=`));
    if (kept.length > 0) out.cookie = kept.join(';').trim();
    else delete out.cookie;
  }
  // Compressed replies would need decoding before the gateway could read them.
  if (identityEncoding) out['accept-encoding'] = 'identity';
  if (inject) Object.assign(out, inject);
  return out;
}

export function clientResponseHeaders(upstream: InHeaders, own: InHeaders): Record<string, string | string[]> {
  const listed = connectionListed(upstream);
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || hopByHop.has(name) || listed?.has(name)) continue;
    out[name] = value;
  }
  // The gateway's own headers (request id, provider, session, CORS) win over anything upstream sent.
  for (const name in own) {
    const value = own[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
