import type { Conversation } from '../conversation/canonical.js';
import { spokenText } from '../conversation/segments.js';
import { KEEP_RESPONSES, PARAGRAPH_LIMIT, PARAGRAPH_MIN, SKETCH_SIZE, type EngineParts } from './engine-parts.js';
import { contextSketch, Fingerprinter, looseForm, paragraphs, sketchValue, type DigestKey } from './fingerprint.js';
import type { Session } from './session-index.js';
import { replySample } from './shingles.js';
import type { SessionWrite } from './store/types.js';
import { mergeTopic, newTurnWords } from './topic.js';
import type { RecordedReply } from './types.js';

/**
 * What a decision leaves for its reply (the decision's `pending`): the session, where in its conversation
 * the reply will sit, and what the request added. The reply is recorded once complete, before the client
 * sees its last byte, so a follow-up request already finds it.
 */
export interface Pending {
  session: Session;
  partition: string;
  /** Conversation position of the request's last message. */
  lastPosition: number;
  /** Context sketch of the request's last messages: the `prev` of the replies to come. */
  context: number;
  /** Sketch values of the messages this request added to the conversation. */
  added: number[];
  topic: number[] | null;
}

/** The pending state of a request that joined (or created) `session`; `firstNew` is its first new message. */
export function pendingFor(parts: EngineParts, session: Session, partition: string, c: Conversation, lastPosition: number, firstNew: number): Pending {
  const added: number[] = [];
  for (let i = Math.max(firstNew, c.length - SKETCH_SIZE); i < c.length; i++) added.push(sketchValue(c.message(i)));
  return {
    session,
    partition,
    lastPosition: Math.max(lastPosition, -1),
    context: contextSketch(c, c.length - 1),
    added,
    topic: parts.config.context_break.enabled ? newTurnWords(c, firstNew) : null,
  };
}

/**
 * Files the reply under its session: reply keys (with the anchor on the first reply), the paragraphs,
 * shingle sample and loose form of the main reply, its sketch, the response id. With a shared store, returns the write that
 * shares the session's new state; the caller sends it.
 */
export function recordReply(parts: EngineParts, pending: Pending, reply: RecordedReply): SessionWrite | null {
  const { index, fingerprints, fleet, config } = parts;
  const { session, partition } = pending;
  const position = pending.lastPosition + 1;
  session.messageCount = position + 1;
  session.inputTokens += reply.usage?.input_tokens ?? 0;
  session.outputTokens += reply.usage?.output_tokens ?? 0;
  session.costUsd += reply.costUsd ?? 0;

  let loose: DigestKey | null = null;
  if (reply.replies.length > 0) {
    const keys = reply.replies.map((message) => fingerprints.messageKey(partition, message));
    index.addReplies(session, keys, position, pending.context);
    fleet?.addReplies(session, keys, position, pending.context);
    if (session.anchorSeq === 0) {
      const anchor = Fingerprinter.derived(keys[0]);
      index.setAnchor(session, anchor, position);
      fleet?.setAnchor(session, anchor, position);
    }
  }
  const main = reply.replies[0];
  if (main) {
    const quoted = paragraphs(spokenText(main), PARAGRAPH_MIN, PARAGRAPH_LIMIT);
    index.setParagraphs(
      session,
      quoted.map((p) => fingerprints.keyString(partition, 'paragraph', p)),
    );
    index.setShingles(session, replySample(fingerprints, partition, spokenText(main)));
    if (config.fuzzy_matching) index.setLoose(session, (loose = fingerprints.key(partition, 'loose', looseForm(main))));
    session.sketch = (session.sketch + String.fromCharCode(...pending.added, sketchValue(main))).slice(-SKETCH_SIZE);
  }
  if (reply.responseId) index.addResponse(session, fingerprints.keyString(partition, 'response', reply.responseId), KEEP_RESPONSES);
  if (pending.topic) session.extras().topic = mergeTopic(session.extra?.topic ?? [], pending.topic);
  if (!fleet) return null;
  const tokens = { input: reply.usage?.input_tokens ?? 0, output: reply.usage?.output_tokens ?? 0, costUsd: reply.costUsd ?? 0 };
  return fleet.write(session, loose, session.extra?.paragraphKeys ?? [], session.extra?.responseKeys ?? [], tokens);
}
