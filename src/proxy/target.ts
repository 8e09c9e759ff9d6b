import type { Operation } from '../providers/types.js';
import { errors, type GatewayError } from '../server/errors.js';

/**
 * The first path segments that belong to the gateway itself. Their exact routes are served before the
 * proxy; any other spelling of them (`/Metrics`, `/metrics/`, `//sessions`, `/sessions;x`) reaches the
 * proxy route and must not go to the provider: it would carry the admin token upstream.
 */
const ADMIN_NAMESPACES = new Set(['health', 'ready', 'config', 'metrics', 'sessions', 'ui', 'favicon.ico']);

/** Percent-encodings that would smuggle a separator or a dot segment past the checks below. */
const SMUGGLED = /%(2e|2f|5c|00)/i;
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\\\u0000-\u001f\u007f]/;

/** Methods a provider API uses; others (TRACE, PROPFIND, …) are refused rather than forwarded. */
const FORWARDED_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

export type Target = { ok: true; route: Operation | null; path: string } | { ok: false; error: GatewayError };

const invalid = (reason: string): Target => ({
  ok: false,
  error: { status: 400, type: 'invalid_request_error', code: 'invalid_target', message: `The request target is not a path the gateway forwards: ${reason}` },
});

/**
 * Reads a request target into the path to forward (always below `llm.base_url`'s path) and the operation
 * serving it. Absolute-form and asterisk-form targets, dot segments and encoded separators are refused:
 * after the gateway's base path they could address anything on the provider's host. Odd spellings of a
 * route (`//v1/chat/completions`, a trailing slash, other letter case) resolve to the route itself, so
 * sessions and limits apply to them like to the canonical spelling.
 */
export function targetResolver(operations: Operation[]): (method: string, url: string) => Target {
  const byPath = new Map<string, Operation[]>();
  for (const operation of operations) {
    const key = operation.path.toLowerCase();
    byPath.set(key, [...(byPath.get(key) ?? []), operation]);
  }
  // The exact spelling of every route is by far the most common target: answered without splitting.
  const exact = new Map<string, Operation>();
  for (const operation of operations) exact.set(`${operation.method} ${operation.path}`, operation);

  return (method, url) => {
    const queryAt = url.indexOf('?');
    const pathPart = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = queryAt === -1 ? '' : url.slice(queryAt);
    const known = exact.get(`${method} ${pathPart}`);
    if (known) return { ok: true, route: known, path: url };

    if (!FORWARDED_METHODS.has(method)) {
      return {
        ok: false,
        error: {
          status: 405,
          type: 'invalid_request_error',
          code: 'method_not_allowed',
          message: `The gateway does not forward ${method.slice(0, 20)} requests`,
        },
      };
    }
    if (pathPart.charCodeAt(0) !== 47 /* / */) return invalid('only origin-form targets (starting with "/") are accepted');
    if (FORBIDDEN.test(pathPart)) return invalid('backslashes and control characters are not allowed in the path');
    if (SMUGGLED.test(pathPart)) return invalid('encoded dots, slashes and NUL are not allowed in the path');
    const segments = pathPart.split('/').filter((segment) => segment !== '');
    if (segments.some((segment) => segment === '.' || segment === '..')) return invalid('dot segments ("." and "..") are not allowed');

    const first = segments[0]?.split(';')[0].toLowerCase();
    if (first !== undefined && ADMIN_NAMESPACES.has(first))
      return { ok: false, error: errors.notFound(`${pathPart.slice(0, 200)} (the gateway's own endpoints have one spelling each, e.g. /metrics)`) };

    const normalised = `/${segments.join('/')}`;
    const route = byPath.get(normalised.toLowerCase())?.find((operation) => operation.method === method) ?? null;
    return { ok: true, route, path: (route ? route.path : normalised) + query };
  };
}
