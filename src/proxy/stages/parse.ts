import type { GatewayError } from '../../server/errors.js';
import { errors } from '../../server/errors.js';
import { answerError } from '../answer.js';
import type { Exchange } from '../exchange.js';
import type { Stage } from '../runner.js';

/** JSON.parse of the client's bytes, once; the standard 400 when they are not a JSON object. */
function parseJson(raw: Buffer | null): { body: object } | GatewayError {
  let body: unknown;
  try {
    body = JSON.parse(raw ? raw.toString('utf8') : '');
  } catch (err) {
    return errors.malformedJson((err as Error).message);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return errors.notAnObject();
  return { body };
}

/**
 * Parse: reads the body once into the route's parsed request (model, stream flag, explicit ids, lazily the
 * conversation) and settles the credential the request goes upstream with. Pass-through routes and routes
 * without a JSON body are not parsed.
 */
export function parseStage(resolveCredential: (ex: Exchange) => GatewayError | null): Stage {
  return {
    name: 'parse',
    deadlineMs: 0,
    run(ex) {
      const route = ex.route;
      if (route?.jsonBody && route.parse) {
        const result = parseJson(ex.rawBody);
        if ('status' in result) return answerError(ex, result);
        ex.parsed = route.parse(result.body);
      }
      const refused = resolveCredential(ex);
      if (refused) answerError(ex, refused);
    },
  };
}
