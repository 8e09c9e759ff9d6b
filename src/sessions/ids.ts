import { randomFillSync } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * Random bytes drawn from the OS in 4 KiB batches: one syscall per ~200 IDs instead of one per ID, which
 * showed up in profiles of the proxy hot path. Each byte is used once.
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

function take(count: number): number {
  if (offset + count > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += count;
  return start;
}

const idBytes = Buffer.from('sess_01234567890123456789', 'latin1');

/**
 * `sess_` + 20 base32 characters (100 random bits). Random, never derived from content (no fixation).
 * Built in a buffer and decoded once: appending character by character would leave a 20-piece rope
 * behind every live session id, more memory than the rest of the session.
 */
export function newSessionId(): string {
  const start = take(20);
  for (let i = 0; i < 20; i++) idBytes[5 + i] = alphabet.charCodeAt(pool[start + i] & 31);
  return idBytes.toString('latin1');
}

/** `req_` + 32 hex characters (128 random bits), for X-Request-ID. */
export function newRequestId(): string {
  const start = take(16);
  return `req_${pool.toString('hex', start, start + 16)}`;
}

/** Explicit names are kept readable but bounded and stripped of anything a log or header could trip on. */
export function sanitiseExplicitId(value: string): string | undefined {
  const cleaned = value
    .trim()
    .replace(/[^A-Za-z0-9._:@-]/g, '_')
    .slice(0, 128);
  return cleaned === '' ? undefined : cleaned;
}
