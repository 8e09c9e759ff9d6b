import type { Fingerprinter } from './fingerprint.js';

/**
 * Session identities. Generated ids (`sess_` + 20 random characters) are unique by themselves. A name a
 * client gives is only unique within its partition (two tenants may both say `session-2`), so a named
 * session is filed, listed, timed and ended under the name plus a tag of its partition: `session-2~3f9a…`.
 * The tag is a keyed digest of the partition, so it never shows the credential and cannot be computed (or
 * aimed at) without the gateway's hash key. Names cannot contain `~` (sanitiseExplicitId), so a named key
 * never equals a generated id or another name's key.
 */

/** Prefix of the gateway's own ids: a client-given name with it is not a name (see `isReservedName`). */
const GENERATED_PREFIX = 'sess_';
/** Hex digits of the tag: 64 bits, so two partitions' keys for one name never meet by chance. */
const TAG_HEX = 16;

/** The keyed tag of a partition: hex for named keys, and a small integer kept on generated sessions. */
export interface PartitionTag {
  hex: string;
  /** 30 bits, never 0 (0 marks a session whose partition is unknown): a small integer V8 keeps unboxed. */
  small: number;
}

/** Tags of recent partitions, per hash key: a deployment has few partitions, and every new session asks. */
const recentTags = new WeakMap<Fingerprinter, Map<string, PartitionTag>>();
const RECENT_TAGS = 1024;

export function partitionTag(fingerprints: Fingerprinter, partition: string): PartitionTag {
  let recent = recentTags.get(fingerprints);
  if (!recent) recentTags.set(fingerprints, (recent = new Map()));
  let tag = recent.get(partition);
  if (tag) return tag;
  const digest = Buffer.from(fingerprints.keyString(partition, 'explicit', ''), 'latin1');
  tag = { hex: digest.toString('hex', 0, TAG_HEX / 2), small: digest.readUInt32LE(8) & 0x3fffffff || 1 };
  // Bounded: a deployment with more partitions than this starts the cache afresh rather than grow it.
  if (recent.size >= RECENT_TAGS) recent.clear();
  recent.set(partition, tag);
  return tag;
}

/** The key (admin identity) of a session a client named. */
export const namedKey = (name: string, tag: PartitionTag): string => `${name}~${tag.hex}`;

/**
 * A client-given name that looks like a generated id: honoured only as the client's own generated session,
 * never as a name, so no client can create a session that another tenant's id would appear to name.
 */
export const isReservedName = (name: string): boolean => name.startsWith(GENERATED_PREFIX);

/** True for a bare client-given name (not an admin identity): it may name one session per partition. */
export const isBareName = (id: string): boolean => !id.includes('~') && !isReservedName(id);
