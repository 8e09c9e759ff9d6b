import { conversationOf } from '../sessions/canonical.js';
import { asObject, asString } from './body.js';
import type { Operation } from './types.js';

/** A route whose body must be JSON but that carries no conversation: validated, forwarded, not tracked. */
export function plainJsonRoute(name: string, path: string): Operation {
  return {
    name,
    method: 'POST',
    path,
    jsonBody: true,
    conversational: false,
    parse(body) {
      const request = asObject(body) ?? {};
      return { model: asString(request.model), stream: request.stream === true, conversation: () => conversationOf([]) };
    },
  };
}
