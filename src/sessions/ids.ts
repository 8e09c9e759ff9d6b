import { randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

/** `sess_` + 20 base32 characters (100 random bits). Random, never derived from content (no fixation). */
export function newSessionId(): string {
  const bytes = randomBytes(20);
  let out = 'sess_';
  for (let i = 0; i < 20; i++) out += alphabet[bytes[i] & 31];
  return out;
}

/** Explicit names are kept readable but bounded and stripped of anything a log or header could trip on. */
export function sanitiseExplicitId(value: string): string | undefined {
  const cleaned = value.trim().replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 128);
  return cleaned === '' ? undefined : cleaned;
}
