import type { Logger } from 'pino';
import type { SessionConfig } from '../../config/schema.js';
import { explicitIdFinder } from '../../sessions/explicit.js';
import type { SessionDecision, SessionEngine, SessionRequest } from '../../sessions/types.js';
import type { Exchange } from '../exchange.js';
import type { Stage } from '../runner.js';

/** What detection needs of an exchange: its partition, an explicit name, the conversation. */
function sessionRequestOf(config: SessionConfig): (ex: Exchange) => SessionRequest {
  const findExplicitId = explicitIdFinder(config.explicit_id_headers);
  const partitionBy = config.partition_by;
  return (ex) => {
    const parsed = ex.parsed!;
    const credential = ex.credential ?? '';
    return {
      partition: partitionBy === 'none' ? '' : partitionBy === 'credential' ? credential : `${credential}|${ex.clientIp}`,
      explicitId: findExplicitId(ex.headers, parsed.explicitSessionId),
      previousResponseId: parsed.previousResponseId,
      conversation: parsed.conversation(),
    };
  };
}

/**
 * Decide session: which conversation this request belongs to. Synchronous from the local index; a promise
 * only after a local miss with a shared store attached (one round trip). Only conversational routes.
 */
export function decideSessionStage(sessions: SessionEngine, config: SessionConfig, deadlineMs: number, log: Logger): Stage {
  const requestOf = sessionRequestOf(config);
  const adopt = (ex: Exchange, decision: SessionDecision) => {
    ex.decision = decision;
    ex.responseHeaders['x-session-id'] = decision.sessionId;
    log.debug({ request_id: ex.requestId, session_id: decision.sessionId, rule: decision.rule, is_new: decision.isNew, reason: decision.reason }, 'session decision');
  };
  return {
    name: 'decide_session',
    deadlineMs,
    run(ex) {
      if (!ex.route?.conversational || !ex.parsed) return;
      const decided = sessions.decide(requestOf(ex));
      if (decided instanceof Promise) return decided.then((decision) => adopt(ex, decision));
      adopt(ex, decided);
    },
  };
}
