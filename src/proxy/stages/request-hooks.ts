import type { InterceptorChain } from '../../interceptors/chain.js';
import type { InterceptorAnswer } from '../../interceptors/types.js';
import { answerWith } from '../answer.js';
import type { Exchange } from '../exchange.js';
import type { Stage } from '../runner.js';

/**
 * Request hooks: the interceptors' `onRequest`, in config order; the first answer given (a rate limiter's
 * 429) goes to the client instead of the provider's. A hook that throws or rejects fails this stage, which
 * the runner turns into the standard 500.
 */
export function requestHooksStage(interceptors: InterceptorChain, deadlineMs: number): Stage {
  const answered = (ex: Exchange, answer: InterceptorAnswer | undefined) => {
    if (!answer) return;
    ex.note = 'answered by an interceptor';
    answerWith(ex, answer);
  };
  return {
    name: 'request_hooks',
    deadlineMs,
    run(ex) {
      const result = interceptors.onRequest(ex);
      if (result instanceof Promise) return result.then((answer) => answered(ex, answer));
      answered(ex, result);
    },
  };
}
