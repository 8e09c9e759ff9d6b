import type { Fingerprinter } from './fingerprint.js';

/** Client-given names are scoped to the partition: two tenants that both say "session-1" stay apart. */
export function explicitKey(fingerprints: Fingerprinter, partition: string, name: string): string {
  return `${Buffer.from(fingerprints.keyString(partition, 'explicit', ''), 'latin1').toString('hex')}:${name}`;
}
