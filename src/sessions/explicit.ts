import { sanitiseExplicitId } from './ids.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * Headers the gateway itself answers with that a pattern such as `x-*-session-id` would match: a client
 * that echoes every response header back must not name its session after its parent.
 */
const OWN_HEADERS = new Set(['x-parent-session-id']);

/**
 * Finds the session name a client sent, trying the configured header names in order. A name with `*`
 * (`x-*-session-id`) matches any vendor's header. Per-request ids (`x-request-id`) are never in the list.
 */
export function explicitIdFinder(headerNames: string[]): (headers: Headers, bodyId?: string) => string | undefined {
  // Header names and patterns, in the configured order (the first that matches wins).
  const order: (string | RegExp)[] = [];
  for (const name of headerNames) {
    const lower = name.toLowerCase();
    if (lower.includes('*')) {
      order.push(
        new RegExp(
          `^${lower
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('[a-z0-9-]+')}$`,
        ),
      );
    } else {
      order.push(lower);
    }
  }
  return (headers, bodyId) => {
    for (const entry of order) {
      if (typeof entry === 'string') {
        const value = headers[entry];
        if (typeof value === 'string' && value) return sanitiseExplicitId(value);
      } else {
        for (const name in headers) {
          const value = headers[name];
          if (entry.test(name) && !OWN_HEADERS.has(name) && typeof value === 'string' && value) return sanitiseExplicitId(value);
        }
      }
    }
    return bodyId ? sanitiseExplicitId(bodyId) : undefined;
  };
}
