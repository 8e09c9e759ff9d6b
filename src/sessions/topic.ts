import type { Conversation } from '../conversation/canonical.js';
import { spokenText } from '../conversation/segments.js';
import { fnv32, words } from './fingerprint.js';

/**
 * Topic sketch for the optional context-break rule: the content words of recent user turns. A new turn
 * whose content words barely overlap the session's is a change of subject.
 */
const stopWords = new Set(
  'about above after again also been before being below between both could does doing down during each from further have having here into itself just more most other over same should some such than that their them then there these they this those through under until very what when where which while will with would your yours please thanks thank okay'.split(
    ' ',
  ),
);

/** Hashed content words (4+ letters, not stop words), de-duplicated, at most `limit`. */
function topicWords(text: string, limit = 64): number[] {
  const out = new Set<number>();
  for (const word of words(text)) {
    if (word.length < 4 || stopWords.has(word)) continue;
    out.add(fnv32(word));
    if (out.size >= limit) break;
  }
  return [...out];
}

/** Share of the new turn's content words already seen in the session; 1 when there is too little to judge. */
export function topicOverlap(session: readonly number[], turn: readonly number[]): number {
  if (turn.length < 3 || session.length < 5) return 1;
  const known = new Set(session);
  let shared = 0;
  for (const word of turn) if (known.has(word)) shared++;
  return shared / turn.length;
}

/** Keeps the most recent `limit` distinct words. */
export function mergeTopic(session: number[], turn: readonly number[], limit = 64): number[] {
  const merged = [...session.filter((word) => !turn.includes(word)), ...turn];
  return merged.length > limit ? merged.slice(merged.length - limit) : merged;
}

/** Content words of the user turns a request adds (from `firstNew` on): the turn the context-break rule judges. */
export function newTurnWords(c: Conversation, firstNew: number): number[] {
  const out: number[] = [];
  for (let i = firstNew; i < c.length; i++) if (c.role(i) === 'user') out.push(...topicWords(spokenText(c.message(i))));
  return out;
}
