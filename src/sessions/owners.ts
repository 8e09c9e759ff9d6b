import type { Conversation } from '../conversation/canonical.js';
import { spokenText } from '../conversation/segments.js';
import { contextSketch, Fingerprinter, looseForm, NO_SKETCH, paragraphs, sketchValue, type DigestKey } from './fingerprint.js';
import { COMPACTION_SCAN, PARAGRAPH_LIMIT, PARAGRAPH_MIN, SKETCH_SIZE, type EngineParts } from './engine-parts.js';
import type { Candidate, Session } from './session-index.js';
import { CANDIDATE_WORDS, contentWords, SHINGLE_MATCH, shingleKeys } from './shingles.js';

/**
 * The lookups behind the detection rules that are not a plain "this reply is known": which of several
 * sessions returned the same reply, which session's history this one was cut back from, which session's
 * reply a compacted history quotes, and which session an altered echo most resembles.
 */

/**
 * Several sessions returned this very reply ("OK.", identical openings, batch agents running one prompt).
 * Those whose reply came after the same last three messages are preferred. Among them, a branch nobody
 * has taken yet wins, oldest first (first come, first served: twenty identical runs stay twenty sessions);
 * then the branch this very turn already took (a retry). When every fitting branch was taken by another
 * turn, nothing tells the sessions apart: undefined, and the request starts a session of its own rather
 * than joining someone else's.
 */
export function pickCandidate(candidates: Candidate[], c: Conversation, last: number): Candidate | undefined {
  if (candidates.length === 1) return candidates[0];
  const context = contextSketch(c, last - 1);
  const sameContext = candidates.filter((candidate) => candidate.prev === context);
  const pool = sameContext.length > 0 ? sameContext : candidates;
  if (pool.length === 1) return pool[0];
  const oldest = (list: Candidate[]) => list.reduce((a, b) => (b.session.createdAt < a.session.createdAt ? b : a));
  const open = pool.filter((candidate) => candidate.followUp === NO_SKETCH);
  if (open.length > 0) return oldest(open);
  const follow = last + 1 < c.length ? sketchValue(c.message(last + 1)) : NO_SKETCH;
  const taken = pool.filter((candidate) => follow !== NO_SKETCH && candidate.followUp === follow);
  return taken.length > 0 ? oldest(taken) : undefined;
}

export interface EarlierTurn {
  session: Session;
  /** Messages the history dropped compared with the session. */
  drop: number;
  /** The session's position of the history's first reply. */
  position: number;
  /** The history's index of its first assistant message. */
  first: number;
}

/**
 * No recent reply matched, but the history may still begin like a live session: its first assistant
 * message is that session's first reply (its anchor). The user went back to an earlier point of that
 * conversation: a count drop when the history is shorter by min_messages or more (however far back),
 * else an edit of a turn the recent replies no longer reach. With several owners (identical openings),
 * the largest drop is reported, so a cut-back is never mistaken for an edit of another conversation.
 */
export function earlierTurn(parts: EngineParts, c: Conversation, partition: string, last: number, lastKey: DigestKey): EarlierTurn | undefined {
  const min = parts.config.min_messages_for_new_session;
  let first = 0;
  while (first < last && c.role(first) !== 'assistant') first++;
  const firstKey = first === last ? lastKey : parts.hash(() => parts.fingerprints.messageKey(partition, c.message(first)));
  const owners = parts.index.anchorOwners(Fingerprinter.derived(firstKey));
  if (owners.length !== 1) {
    // Identical openings: only a drop can be told (a new session either way); an edit would be a guess.
    let found: EarlierTurn | undefined;
    for (const { session, position } of owners) {
      const drop = session.messageCount - (position + 1) - (c.length - (first + 1));
      if (drop >= min && (!found || drop > found.drop)) found = { session, drop, position, first };
    }
    return found;
  }
  const { session, position } = owners[0];
  return { session, drop: session.messageCount - (position + 1) - (c.length - (first + 1)), position, first };
}

/**
 * The session whose latest reply one of the first user messages quotes (compaction), and where: as a
 * paragraph of its own (the whole-paragraph rule, also for replies too short to be sampled), or by content,
 * when the message holds at least SHINGLE_MATCH of the reply's sampled shingles (shingles.ts). Only the
 * first COMPACTION_SCAN user messages are read, each up to CANDIDATE_WORDS words: a compacted history puts
 * its summary up front.
 */
export function compactionOwner(parts: EngineParts, c: Conversation, partition: string): { session: Session; at: number; share?: number } | undefined {
  const { index } = parts;
  const byParagraph = index.hasParagraphs();
  const byContent = index.hasShingles();
  if (!byParagraph && !byContent) return undefined;
  let scanned = 0;
  for (let i = 0; i < c.length && scanned < COMPACTION_SCAN; i++) {
    if (c.role(i) !== 'user') continue;
    scanned++;
    const text = spokenText(c.message(i));
    if (byParagraph) {
      for (const paragraph of paragraphs(text, PARAGRAPH_MIN, PARAGRAPH_LIMIT)) {
        const owner = index.paragraphOwner(parts.hash(() => parts.fingerprints.keyString(partition, 'paragraph', paragraph)));
        if (owner && index.alive(owner)) return { session: owner, at: i };
      }
    }
    if (byContent) {
      const keys = parts.hash(() => shingleKeys(parts.fingerprints, partition, contentWords(text, CANDIDATE_WORDS)));
      const best = keys.hi.length > 0 ? index.shingleOwners(keys)[0] : undefined;
      if (best && best.share >= SHINGLE_MATCH) return { session: best.session, at: i, share: best.share };
    }
  }
  return undefined;
}

/** Sessions whose latest reply starts like this history's last assistant message, scored on the history. */
export function fuzzyOwner(parts: EngineParts, c: Conversation, partition: string, last: number): { session: Session; similarity: number } | undefined {
  const { config } = parts;
  const owners = parts.index.looseOwners(parts.hash(() => parts.fingerprints.key(partition, 'loose', looseForm(c.message(last)))));
  if (owners.length === 0) return undefined;
  const window: number[] = [];
  for (let i = Math.max(0, last + 1 - SKETCH_SIZE); i <= last; i++) window.push(sketchValue(c.message(i)));
  let found: { session: Session; similarity: number } | undefined;
  for (const session of owners) {
    if (Math.abs(last + 1 - session.messageCount) > config.fuzzy_max_diff) continue;
    const known = session.sketch;
    const similarity = window.filter((value) => known.includes(String.fromCharCode(value))).length / window.length;
    if (similarity >= config.fuzzy_threshold && (!found || similarity > found.similarity)) found = { session, similarity };
  }
  return found;
}
