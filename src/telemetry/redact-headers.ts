/** Header names whose values are secrets, whatever an interceptor's settings say. */
const alwaysSecret = ['authorization', 'x-api-key', 'api-key', 'cookie', 'set-cookie', 'proxy-authorization', 'x-goog-api-key'];

export const REDACTED = '[REDACTED]';

type Headers = Record<string, string | string[] | undefined>;

/** A copy of the headers with every secret replaced; configured extra names are redacted as well. */
export function headerRedactor(extra: string[] = []): (headers: Headers) => Record<string, string | string[]> {
  const secret = new Set([...alwaysSecret, ...extra.map((name) => name.toLowerCase())]);
  return (headers) => {
    const out: Record<string, string | string[]> = {};
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      out[name] = secret.has(name.toLowerCase()) ? REDACTED : value;
    }
    return out;
  };
}
