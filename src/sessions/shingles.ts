import type { DigestKey, Fingerprinter } from './fingerprint.js';
import { words } from './fingerprint.js';

/**
 * Compaction by content (docs/sessions.md, "Compaction"). A client that compacts its history sends a summary
 * the gateway returned inside a user message of a new history, but rarely verbatim: after a lead-in on the
 * same line, inside or stripped of `<summary>` tags, re-wrapped, or cut. So a reply is compared by its words
 * only, as overlapping runs of SHINGLE_WORDS words (shingles), and a sample of them is indexed.
 */

/** Words per shingle: long enough that unrelated texts sharing common phrases share few shingles. */
export const SHINGLE_WORDS = 8;
/** Shingle keys indexed per session (of its latest reply only): a fixed bound on the index. */
export const SHINGLE_SAMPLE = 32;
/** Share of a reply's sampled shingles a user message must contain to continue its session. */
export const SHINGLE_MATCH = 0.6;
/** Shortest reply (in words) recognised by content; shorter ones only by the whole-paragraph rule. */
export const SHINGLE_MIN_WORDS = 12;
/** Words of a reply that are shingled (a summary is identified well before its end). */
export const REPLY_WORDS = 2048;
/** Words read per scanned user message: a reply's words plus room for a lead-in and what follows. */
export const CANDIDATE_WORDS = 2 * REPLY_WORDS;

const ANALYSIS_OPEN = /<analysis>/gi;
const ANALYSIS_CLOSE = /<\/analysis>/gi;
/** Any other bare tag, such as `<summary>`: bounded length, so the scan stays linear. */
const TAG = /<\/?[A-Za-z][\w-]{0,40}>/g;
/** Characters read per word wanted: words plus punctuation, markdown and tags, with room to spare. */
const CHARS_PER_WORD = 16;

/**
 * The words a reply and its quotation share however the client re-laid them out: `<analysis>…</analysis>`
 * dropped (clients strip it), other tags, punctuation, markdown emphasis and line breaks ignored, lower case.
 * Reads at most `limit * CHARS_PER_WORD` characters, in one pass each (a user message may be megabytes).
 */
export function contentWords(text: string, limit: number): string[] {
  const head = text.length > limit * CHARS_PER_WORD ? text.slice(0, limit * CHARS_PER_WORD) : text;
  return words(head.includes('<') ? withoutMarkup(head) : head, limit);
}

function withoutMarkup(text: string): string {
  const kept: string[] = [];
  let from = 0;
  ANALYSIS_OPEN.lastIndex = 0;
  for (let open = ANALYSIS_OPEN.exec(text); open; open = ANALYSIS_OPEN.exec(text)) {
    ANALYSIS_CLOSE.lastIndex = ANALYSIS_OPEN.lastIndex;
    const close = ANALYSIS_CLOSE.exec(text);
    if (!close) break; // unclosed: kept as text (one search to the end, never one per opening)
    kept.push(text.slice(from, open.index));
    from = ANALYSIS_CLOSE.lastIndex;
    ANALYSIS_OPEN.lastIndex = from;
  }
  kept.push(text.slice(from));
  return kept.join(' ').replace(TAG, ' ');
}

/** The keys of a text's shingles, in order, repeats included: two halves of 64-bit keys. */
export interface ShingleKeys {
  hi: Uint32Array;
  lo: Uint32Array;
}

/**
 * Keys of every shingle of `list`. One keyed digest of the engine (the secret and the partition) seeds a
 * fast 64-bit hash of the words, so no one without the hash key can compute a key, and keys never match
 * across partitions; a keyed digest per shingle (or per word) cost about a millisecond per thousand words,
 * on every reply. Collisions crafted against the fast hash could at worst link two texts of the same
 * partition, whose client could as well quote the reply itself.
 */
export function shingleKeys(fingerprints: Fingerprinter, partition: string, list: string[]): ShingleKeys {
  const count = Math.max(0, list.length - SHINGLE_WORDS + 1);
  const out = { hi: new Uint32Array(count), lo: new Uint32Array(count) };
  if (count === 0) return out;
  const seed = fingerprints.key(partition, 'shingle', '');
  const hi = new Uint32Array(list.length);
  const lo = new Uint32Array(list.length);
  for (let w = 0; w < list.length; w++) {
    const word = list[w];
    let a = seed.hi;
    let b = seed.lo;
    for (let i = 0; i < word.length; i++) {
      const code = word.charCodeAt(i);
      a = Math.imul(a ^ code, 0x01000193);
      b = Math.imul(b ^ code, 0x5bd1e995);
    }
    hi[w] = fmix(a ^ word.length);
    lo[w] = fmix(b + seed.hi);
  }
  for (let start = 0; start < count; start++) {
    let h = seed.lo;
    let l = seed.hi;
    for (let i = start; i < start + SHINGLE_WORDS; i++) {
      // Mixed in order (rotate, multiply): the same words in another order give another key.
      h = Math.imul(((h << 13) | (h >>> 19)) ^ hi[i], 0x9e3779b1);
      l = Math.imul(((l << 17) | (l >>> 15)) ^ lo[i], 0x85ebca6b);
    }
    out.hi[start] = fmix(h ^ (l >>> 7));
    out.lo[start] = fmix(l + h);
  }
  return out;
}

/** The 32-bit finaliser of MurmurHash3: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The sample of a reply's shingles that is indexed: the SHINGLE_SAMPLE smallest distinct keys (keys are
 * keyed and uniform, so this is a random sample no one can steer, spread over the whole reply), or every
 * distinct shingle of a shorter reply. Empty below SHINGLE_MIN_WORDS words.
 */
export function replySample(fingerprints: Fingerprinter, partition: string, text: string): DigestKey[] {
  const list = contentWords(text, REPLY_WORDS);
  if (list.length < SHINGLE_MIN_WORDS) return [];
  const keys = shingleKeys(fingerprints, partition, list);
  // Kept sorted, smallest first; a key enters only when smaller than the largest kept (rare after the start).
  const kept: DigestKey[] = [];
  const below = (a: DigestKey, hi: number, lo: number) => a.hi < hi || (a.hi === hi && a.lo < lo);
  for (let i = 0; i < keys.hi.length; i++) {
    const hi = keys.hi[i];
    const lo = keys.lo[i];
    if (kept.length === SHINGLE_SAMPLE && !below({ hi, lo }, kept[kept.length - 1].hi, kept[kept.length - 1].lo)) continue;
    let at = kept.length;
    while (at > 0 && below({ hi, lo }, kept[at - 1].hi, kept[at - 1].lo)) at--;
    if (at > 0 && kept[at - 1].hi === hi && kept[at - 1].lo === lo) continue; // a repeated run counts once
    kept.splice(at, 0, { hi, lo });
    if (kept.length > SHINGLE_SAMPLE) kept.pop();
  }
  return kept;
}
