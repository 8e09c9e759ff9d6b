import { paragraphs, Fingerprinter, looseForm, type DigestKey } from './fingerprint.js';
import { spokenText } from '../conversation/segments.js';
import { COMPACTION_SCAN, PARAGRAPH_LIMIT, PARAGRAPH_MIN, type EngineParts } from './engine-parts.js';
import { digestHex, stringHex } from './fleet.js';
import { isReservedName, namedKey, partitionTag } from './identity.js';
import { indexKey } from './store/types.js';
import type { SessionRequest } from './types.js';

/** The keys a request may be found under in a shared store, gathered only when local detection missed. */
class FleetKeys {
  readonly keys: string[] = [];
  session(key: string): this {
    this.keys.push(indexKey.session(key));
    return this;
  }
  reply(key: DigestKey): this {
    this.keys.push(indexKey.reply(digestHex(key)));
    return this;
  }
  anchor(key: DigestKey): this {
    this.keys.push(indexKey.anchor(digestHex(key)));
    return this;
  }
  loose(key: DigestKey): this {
    this.keys.push(indexKey.loose(digestHex(key)));
    return this;
  }
  paragraph(key: string): this {
    this.keys.push(indexKey.paragraph(stringHex(key)));
    return this;
  }
  response(key: string): this {
    this.keys.push(indexKey.response(stringHex(key)));
    return this;
  }
}

/**
 * Every key a store may file this request's session under, mirroring what the local rules look up: the
 * client's name, the response it continues, its last reply, the first reply (anchor), the loose form for
 * fuzzy matching, and quoted paragraphs (compaction). Only after a local miss: a few hashes.
 */
export function fleetKeysOf(parts: EngineParts, request: SessionRequest): string[] {
  const { fingerprints, config } = parts;
  const { conversation: c, partition } = request;
  const keys = new FleetKeys();
  if (request.explicitId && !isReservedName(request.explicitId)) return keys.session(namedKey(request.explicitId, partitionTag(fingerprints, partition))).keys;
  if (request.previousResponseId) keys.response(fingerprints.keyString(partition, 'response', request.previousResponseId));
  let last = c.length - 1;
  while (last >= 0 && c.role(last) !== 'assistant') last--;
  if (last >= 0) {
    const lastKey = fingerprints.messageKey(partition, c.message(last));
    keys.reply(lastKey);
    let first = 0;
    while (first < last && c.role(first) !== 'assistant') first++;
    keys.anchor(Fingerprinter.derived(first === last ? lastKey : fingerprints.messageKey(partition, c.message(first))));
    if (config.fuzzy_matching) keys.loose(fingerprints.key(partition, 'loose', looseForm(c.message(last))));
  }
  let scanned = 0;
  for (let i = 0; i < c.length && scanned < COMPACTION_SCAN; i++) {
    if (c.role(i) !== 'user') continue;
    scanned++;
    for (const paragraph of paragraphs(spokenText(c.message(i)), PARAGRAPH_MIN, PARAGRAPH_LIMIT))
      keys.paragraph(fingerprints.keyString(partition, 'paragraph', paragraph));
  }
  return keys.keys;
}
