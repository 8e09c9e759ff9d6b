import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { CanonicalMessage } from './canonical.js';

/**
 * Keyed running hash over a conversation. The per-deployment secret goes in first, so nobody can compute
 * (and so craft) the digest of another client's conversation; the partition goes in next, so equal
 * conversations under different credentials never share a key. Digests are internal lookup keys only.
 */
export class HistoryHasher {
  private readonly secret: Buffer;

  constructor(secret?: string) {
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  start(partition: string): Hash {
    return createHash('sha256').update(this.secret).update(partition).update('\0');
  }

  static add(hash: Hash, message: CanonicalMessage): void {
    hash.update(message.role).update('\0').update(message.text).update('\0');
  }

  /** Digest so far, leaving the running hash usable. */
  static peek(hash: Hash): string {
    return hash.copy().digest('base64url').slice(0, 22);
  }

  digest(partition: string, salt: string): string {
    return createHash('sha256').update(this.secret).update(partition).update('\0').update(salt).digest('base64url').slice(0, 22);
  }
}
