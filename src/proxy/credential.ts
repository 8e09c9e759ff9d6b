import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProviderAdapter } from '../providers/types.js';
import type { GatewayError } from '../server/errors.js';
import type { Exchange } from './exchange.js';

export interface CredentialPolicy {
  /** `llm.api_key`: added upstream for clients that bring no key of their own. */
  configuredKey: string | undefined;
  /** `server.admin_token`: the gateway's own secret, never forwarded on any route. */
  adminToken: string | undefined;
  /** `server.cors.allow_origins`: web origins allowed to spend the configured key (`*` for any). */
  allowOrigins: string[];
}

const digest = (text: string) => createHash('sha256').update(text).digest();
const BEARER = /^\s*bearer\s+(.*?)\s*$/i;

/** The headers that can carry a credential; the admin token is withheld from each of them. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key'] as const;

const crossOriginRefused = (origin: string): GatewayError => ({
  status: 401,
  type: 'authentication_error',
  code: 'credential_required',
  message: `A cross-origin request must bring its own API key: origin ${origin.slice(0, 200)} is not allowed to use the gateway's configured key (server.cors.allow_origins)`,
});

/** True when `origin` names the host the request was sent to (a page served by the gateway's own origin). */
function sameOrigin(origin: string, host: string | string[] | undefined): boolean {
  if (typeof host !== 'string') return false;
  const at = origin.indexOf('://');
  return at !== -1 && origin.slice(at + 3).toLowerCase() === host.toLowerCase();
}

function withoutHeaders(headers: Exchange['headers'], names: string[]): Exchange['headers'] {
  const out = { ...headers };
  for (const name of names) delete out[name];
  return out;
}

/**
 * Decides which credential a request goes upstream with. The client's own key (as the adapter reads and
 * normalises it) wins; otherwise the configured key is added, except for a cross-origin browser request
 * from an origin not explicitly allowed: any web page could otherwise spend the gateway's key and read the
 * answer (CORS lets every origin read). Requests without an `Origin` header (SDKs, curl, servers) and
 * same-origin pages are unaffected. The admin token is never a provider credential: it is withheld.
 */
export function credentialResolver(adapter: ProviderAdapter, policy: CredentialPolicy): (ex: Exchange) => GatewayError | null {
  const adminDigest = policy.adminToken ? digest(policy.adminToken) : null;
  const anyOrigin = policy.allowOrigins.includes('*');
  const allowed = new Set(policy.allowOrigins.map((origin) => origin.toLowerCase()));
  const injected = policy.configuredKey ? adapter.authHeaders(policy.configuredKey) : null;

  const isAdminToken = (value: string | string[] | undefined): boolean => {
    if (!adminDigest || typeof value !== 'string') return false;
    const token = BEARER.exec(value)?.[1] ?? value.trim();
    return timingSafeEqual(digest(token), adminDigest);
  };

  return (ex) => {
    if (adminDigest) {
      for (const name of CREDENTIAL_HEADERS) {
        if (isAdminToken(ex.headers[name])) (ex.withheld ??= []).push(name);
      }
    }
    const visible = ex.withheld ? withoutHeaders(ex.headers, ex.withheld) : ex.headers;
    const clientKey = adapter.clientCredential(visible);
    if (clientKey) {
      ex.clientKey = clientKey;
      ex.credential = clientKey;
      return null;
    }
    if (!injected) return null;
    const origin = ex.headers.origin;
    if (typeof origin === 'string' && !anyOrigin && !allowed.has(origin.toLowerCase()) && !sameOrigin(origin, ex.headers.host)) {
      return crossOriginRefused(origin);
    }
    ex.credential = policy.configuredKey!;
    ex.injectedAuth = injected;
    return null;
  };
}
