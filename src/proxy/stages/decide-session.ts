import type { Logger } from 'pino';
import type { SessionConfig } from '../../config/schema.js';
import { sessionRequestBuilder } from '../../sessions/request.js';
import type { SessionDecision, SessionEngine } from '../../sessions/types.js';
import type { Exchange } from '../exchange.js';
import type { Stage } from '../runner.js';

/**
 * Decide session: which conversation this request belongs to. Synchronous from the local index; a promise
 * only after a local miss with a shared store attached (one round trip). Only conversational routes.
 */
export function decideSessionStage(sessions: SessionEngine, config: SessionConfig, configuredKey: string | undefined, deadlineMs: number, log: Logger): Stage {
  const requestOf = sessionRequestBuilder(config, configuredKey);
  const adopt = (ex: Exchange, decision: SessionDecision) => {
    ex.decision = decision;
    ex.responseHeaders['x-session-id'] = decision.sessionId;
    // A sub-agent's session names the session it works for, in the id that session's client sees.
    if (decision.parent) ex.responseHeaders['x-parent-session-id'] = decision.parent.id;
    log.debug(
      {
        request_id: ex.requestId,
        session_id: decision.sessionId,
        parent_session_id: decision.parent?.id,
        rule: decision.rule,
        is_new: decision.isNew,
        reason: decision.reason,
      },
      'session decision',
    );
  };
  return {
    name: 'decide_session',
    deadlineMs,
    run(ex) {
      if (!ex.route?.conversational || !ex.parsed) return;
      const decided = sessions.decide(requestOf({ headers: ex.headers, clientIp: ex.clientIp, clientCredential: ex.clientKey, parsed: ex.parsed }));
      if (decided instanceof Promise) return decided.then((decision) => adopt(ex, decision));
      adopt(ex, decided);
    },
  };
}
