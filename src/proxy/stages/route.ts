import type { Operation } from '../../providers/types.js';
import { answerError } from '../answer.js';
import type { Stage } from '../runner.js';
import { targetResolver } from '../target.js';

/**
 * Route: which operation serves the request target, and the path to forward. Refuses targets that could
 * leave `llm.base_url`'s path (400) and other spellings of the gateway's own endpoints (404).
 */
export function routeStage(operations: Operation[]): Stage {
  const resolve = targetResolver(operations);
  return {
    name: 'route',
    deadlineMs: 0,
    run(ex) {
      const target = resolve(ex.method, ex.path);
      if (!target.ok) return answerError(ex, target.error);
      ex.route = target.route;
      ex.path = target.path;
    },
  };
}
