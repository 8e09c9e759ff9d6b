import type { Conversation } from '../conversation/canonical.js';
import { spokenText } from '../conversation/segments.js';
import type { EngineParts } from './engine-parts.js';
import { NO_SKETCH, sketchValue } from './fingerprint.js';
import { isReservedName, namedKey, partitionTag } from './identity.js';
import { compactionOwner, earlierTurn, fuzzyOwner, pickCandidate } from './owners.js';
import type { Candidate, Session } from './session-index.js';
import { newTurnWords, topicOverlap } from './topic.js';
import type { SessionRequest, SessionRule } from './types.js';

/** What the rules decided for one request, before any session is created. */
export interface Verdict {
  /** The session joined; absent for a new one, which is created only once the verdict is final. */
  session?: Session;
  /** The new session's id and key when a client named it. */
  named?: { id: string; key: string };
  /** Local detection knew nothing that links this request: a shared store may know more. */
  miss?: boolean;
  isNew: boolean;
  rule: SessionRule;
  reason: string;
  lastPosition: number;
  /** Index of the first request message that is new to the session. */
  firstNew: number;
}

/**
 * The detection rules of docs/sessions.md, tried in their documented order. A request is linked through the
 * last assistant message of its history: if it is a reply the gateway returned, the request continues that
 * reply's session. Only that message is hashed (plus, in the rare ambiguous or fuzzy cases, a few short
 * sketches), so the cost does not grow with the length of an agent's history. Reads the index; creates
 * nothing (the engine does, once the verdict is final).
 */
export class Detector {
  constructor(private readonly parts: EngineParts) {}

  detect(request: SessionRequest): Verdict {
    const name = request.explicitId;
    if (!name) return this.byContent(request);
    const { index, fingerprints } = this.parts;
    const { partition } = request;
    const n = request.conversation.length;
    const tag = this.parts.hash(() => partitionTag(fingerprints, partition));
    if (isReservedName(name)) {
      // The gateway's own id, echoed back: joins that session only from the partition that owns it.
      const own = index.peek(name);
      if (own && own.partitionTag !== 0 && own.partitionTag === tag.small && index.touch(name)) {
        return { session: own, isNew: false, rule: 'explicit', reason: 'the client named its own session', lastPosition: n - 1, firstNew: n - 1 };
      }
      // Not one of this client's sessions (another tenant's, gone, or made up): not a name; the same
      // answer either way, so it tells nothing about other partitions.
      const verdict = this.byContent(request);
      return { ...verdict, reason: `${verdict.reason} (the name ${name} was ignored: sess_ names only rejoin the client's own sessions)` };
    }
    const key = namedKey(name, tag);
    const session = index.touch(key);
    const named = session ? undefined : { id: name, key };
    return { session, named, miss: !session, isNew: !session, rule: 'explicit', reason: 'the client named its session', lastPosition: n - 1, firstNew: n - 1 };
  }

  /** The rules that read the conversation itself (every rule but a client-given name). */
  private byContent(request: SessionRequest): Verdict {
    const { index, fingerprints, config } = this.parts;
    const hash = <T>(compute: () => T) => this.parts.hash(compute);
    const { conversation: c, partition } = request;
    const n = c.length;

    if (request.previousResponseId) {
      const owner = index.responseOwner(hash(() => fingerprints.keyString(partition, 'response', request.previousResponseId!)));
      if (owner && index.alive(owner)) {
        return this.continuing(c, owner, 'continued', 'previous_response_id names a reply of this session', owner.messageCount + n - 1, 0);
      }
    }

    let last = n - 1;
    while (last >= 0 && c.role(last) !== 'assistant') last--;
    let turn = n - 1;
    while (turn > last && c.role(turn) !== 'user') turn--;

    if (turn > last) {
      const phrase = this.parts.resetPhrase(spokenText(c.message(turn)));
      if (phrase) return this.fresh(c, 'reset_phrase', `the latest user message says "${phrase}"`);
    }

    const lastKey = last >= 0 ? hash(() => fingerprints.messageKey(partition, c.message(last))) : undefined;
    if (lastKey) {
      const candidates = index.replies(lastKey);
      if (candidates.length > 0) {
        const chosen = pickCandidate(candidates, c, last);
        if (chosen) return this.fromReply(c, chosen, last);
        return this.fresh(c, 'first', `${candidates.length} sessions share this history and none fits better: a session of its own rather than a guess`);
      }
    }

    const early = lastKey ? earlierTurn(this.parts, c, partition, last, lastKey) : undefined;
    if (early && early.drop >= config.min_messages_for_new_session) {
      return this.fresh(c, 'count_drop', `the history went back to the start of ${early.session.id}, dropping ${early.drop} messages`);
    }
    if (early && early.first === last) {
      // Back to the first reply with only new user turns after it: an edit the recent replies no longer
      // reach. (Unknown assistant messages after it would be history this session never had.)
      const reason = 'the history goes back to an earlier turn of this session (an edit)';
      return this.continuing(c, early.session, 'continued', reason, early.position + (n - 1 - early.first), last + 1);
    }

    const compacted = compactionOwner(this.parts, c, partition);
    if (compacted) {
      const how = compacted.share === undefined ? 'as a paragraph' : `by content (${Math.round(compacted.share * 100)}% of its sampled shingles)`;
      const reason = `a user message quotes the latest reply of this session ${how}: a compacted history`;
      return this.continuing(c, compacted.session, 'compaction', reason, compacted.session.messageCount + n - 1 - compacted.at, compacted.at);
    }

    if (config.fuzzy_matching && last >= 0) {
      const fuzzy = fuzzyOwner(this.parts, c, partition, last);
      if (fuzzy) {
        const reason = `history ${Math.round(fuzzy.similarity * 100)}% similar to this session`;
        return this.continuing(c, fuzzy.session, 'fuzzy', reason, fuzzy.session.messageCount - 1 + (n - 1 - last), last + 1);
      }
    }

    if (last < 0 && !request.previousResponseId) return this.fresh(c, 'first', 'first request of a conversation');
    return { ...this.fresh(c, 'first', 'no known reply in the history'), miss: true };
  }

  /** The request continues the conversation at `candidate`; decide continued, retry, edit, or a count drop. */
  private fromReply(c: Conversation, candidate: Candidate, last: number): Verdict {
    const { session, position } = candidate;
    const requestAfter = c.length - (last + 1);
    const drop = session.messageCount - (position + 1) - requestAfter;
    if (drop >= this.parts.config.min_messages_for_new_session) {
      return this.fresh(c, 'count_drop', `the history dropped ${drop} messages from ${session.id}`);
    }
    const follow = last + 1 < c.length ? sketchValue(c.message(last + 1)) : NO_SKETCH;
    const latest = session.latestPosition === position;
    let rule: SessionRule = 'continued';
    let reason = 'the history contains the latest reply of this session';
    if (!latest && candidate.followUp !== NO_SKETCH && candidate.followUp === follow) {
      rule = 'retry';
      reason = 'the same turn was sent again';
    } else if (!latest) {
      reason = 'an earlier turn was edited or regenerated';
    }
    if (candidate.followUp === NO_SKETCH && follow !== NO_SKETCH) {
      this.parts.index.claim(candidate, follow); // first come, first served
      this.parts.fleet?.claim(session, position, follow);
    }
    return this.continuing(c, session, rule, reason, position + requestAfter, last + 1);
  }

  /** Joins an existing session, unless the optional context-break rule sees a change of subject. */
  private continuing(c: Conversation, session: Session, rule: SessionRule, reason: string, lastPosition: number, firstNew: number): Verdict {
    const { index, config } = this.parts;
    index.touch(session.key); // marks it used: LRU order and idle TTL
    const topic = session.extra?.topic;
    if (config.context_break.enabled && topic) {
      const overlap = topicOverlap(topic, newTurnWords(c, firstNew));
      if (overlap < config.context_break.threshold) {
        return this.fresh(c, 'context_break', `the new turn shares ${Math.round(overlap * 100)}% of its words with ${session.id}`);
      }
    }
    return { session, isNew: false, rule, reason, lastPosition, firstNew };
  }

  private fresh(c: Conversation, rule: SessionRule, reason: string): Verdict {
    return { isNew: true, rule, reason, lastPosition: c.length - 1, firstNew: 0 };
  }
}
