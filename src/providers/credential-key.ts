/**
 * The key in an `Authorization` value, one string for every way of writing it: the auth scheme is
 * case-insensitive and may be followed by any run of spaces and tabs (RFC 9110 §11.1), so `Bearer k`,
 * `bearer k`, `BEARER  k` and `Bearer<TAB>k` are all the key `k`, as is `k` sent bare. Limits and session
 * partitions are keyed by this string: were each spelling its own key, a client could multiply its
 * per-credential limits by respelling one key. Another scheme keeps its (lowercased) name, so a Basic
 * credential never equals a Bearer token. Undefined for a blank value.
 */
export function authorizationKey(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const match = /^(\S+)[ \t]+(.+)$/s.exec(trimmed);
  if (!match) return /^bearer$/i.test(trimmed) ? 'bearer' : trimmed; // a scheme without a key, or a bare key
  const scheme = match[1]!.toLowerCase();
  return scheme === 'bearer' ? match[2]! : `${scheme} ${match[2]!}`;
}

/** A key sent in a header of its own (`x-api-key`): the same key however it is padded. */
export function headerKey(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
