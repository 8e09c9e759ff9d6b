import { randomBytes } from 'node:crypto';

/**
 * Finding one text inside another by content, whatever its line layout: both are read as lower-case words
 * (punctuation and markup dropped, as `words()` does), and a needle is found where a window of its first
 * HEAD_WORDS words starts, then verified whole. Windows are hashed with a rolling polynomial hash over
 * per-word hashes, so scanning a message costs one multiply-add per word, not a digest per window. The
 * hash is seeded per process: nobody can craft texts whose windows collide on purpose, and a collision
 * costs a verification, never a link.
 */

/** Words of a needle's head window: long enough to be distinctive, short enough to start anywhere. */
export const HEAD_WORDS = 8;

const SEED = randomBytes(4).readUInt32LE(0) | 1;
const BASE = 0x01000193;

function wordHash(word: string): number {
  let hash = 0x811c9dc5 ^ SEED;
  for (let i = 0; i < word.length; i++) {
    hash ^= word.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** BASE^(HEAD_WORDS - 1) mod 2^32: what the word leaving a window weighs. */
let outWeight = 1;
for (let i = 1; i < HEAD_WORDS; i++) outWeight = Math.imul(outWeight, BASE);

/** The hash of the window `words[start .. start + HEAD_WORDS)`. */
export function windowHash(words: string[], start = 0): number {
  let hash = 0;
  for (let i = start; i < start + HEAD_WORDS; i++) hash = (Math.imul(hash, BASE) + wordHash(words[i])) | 0;
  return hash >>> 0;
}

/** Calls `visit(hash, start)` for every window of `words`, in order; stops when it returns true. */
export function forEachWindow(words: string[], visit: (hash: number, start: number) => boolean): void {
  if (words.length < HEAD_WORDS) return;
  const hashes = words.map(wordHash);
  let hash = 0;
  for (let i = 0; i < HEAD_WORDS; i++) hash = (Math.imul(hash, BASE) + hashes[i]) | 0;
  if (visit(hash >>> 0, 0)) return;
  for (let start = 1; start + HEAD_WORDS <= words.length; start++) {
    hash = (Math.imul(hash - Math.imul(hashes[start - 1], outWeight), BASE) + hashes[start + HEAD_WORDS - 1]) | 0;
    if (visit(hash >>> 0, start)) return;
  }
}
