import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { CanonicalMessage } from './canonical.js';

/**
 * Keyed running hash over a conversation. The per-deployment secret goes in first, so nobody can compute
 * (and so craft) the digest of another client's conversation; the partition goes in next, so equal
 * conversations under different credentials never share a key. Digests are internal lookup keys only.
 */
export class HistoryHasher {
  /** Hash state after the secret, copied per request rather than re-fed. */
  private readonly keyed: Hash;

  constructor(secret?: string) {
    this.keyed = createHash('sha256').update(secret ? Buffer.from(secret) : randomBytes(32));
  }

  start(partition: string): Hash {
    return this.keyed.copy().update(partition).update('\0');
  }

  /** One update per message: each call into the hash costs far more than joining a few strings. */
  static add(hash: Hash, message: CanonicalMessage): void {
    hash.update(`${message.role}\0${message.text}\0`);
  }

  /** Digest so far, leaving the running hash usable. */
  static peek(hash: Hash): string {
    return hash.copy().digest('base64url').slice(0, 22);
  }

  digest(partition: string, salt: string): string {
    return this.start(partition).update(salt).digest('base64url').slice(0, 22);
  }
}
