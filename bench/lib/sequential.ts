// Sequential latency: one request at a time over a single keep-alive connection, timing each one from
// sending to the first body byte (TTFB) and to the end of the body. With no concurrency, the difference
// between two targets' numbers is the per-request cost each adds, without queueing effects.
// The traffic is the caller's: it builds each body before the timing starts and is handed each complete
// response after the timing ended (a conversation reads the reply there), so neither is measured.

import { Pool } from 'undici';
import { summarize, type Summary } from './stats.js';

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface SequentialOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  /** Body of the next request; called once per request, before its timing starts. */
  nextBody(): string | Buffer;
  /** Every response, warm-up and measured, after its timing ended and after `verify`. */
  received?(status: number, headers: ResponseHeaders, body: Buffer): void;
  /** Measured requests. */
  count: number;
  /** Unmeasured requests first (JIT, connection pools, caches), each checked with `verify`. */
  warmup: number;
  /** Returns a problem description, or null if the response is right. Only run on warm-up responses. */
  verify(status: number, headers: ResponseHeaders, body: Buffer): string | null;
}

export interface SequentialResult {
  /** Milliseconds to the end of the response body. */
  total: Summary;
  /** Milliseconds to the first body chunk. */
  ttfb: Summary;
}

export async function measureSequential(options: SequentialOptions): Promise<SequentialResult> {
  const { url, path, headers, nextBody, received, count, warmup, verify } = options;
  // One connection, kept alive: what a single client (an agent loop) talking to the proxy does.
  const pool = new Pool(new URL(url).origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  const totals = new Float64Array(count);
  const ttfbs = new Float64Array(count);
  try {
    for (let i = 0; i < warmup + count; i++) {
      const measured = i >= warmup;
      const body = nextBody();
      const started = performance.now();
      const res = await pool.request({ path, method: 'POST', headers, body });
      let firstByteAt = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) {
        if (firstByteAt === 0) firstByteAt = performance.now();
        chunks.push(chunk as Buffer);
      }
      const endedAt = performance.now();
      const responseBody = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (measured) {
        if (res.statusCode !== 200) throw new Error(`${url}${path}: status ${res.statusCode} during measurement`);
        totals[i - warmup] = endedAt - started;
        ttfbs[i - warmup] = (firstByteAt || endedAt) - started;
      } else {
        const problem = verify(res.statusCode, res.headers, responseBody);
        if (problem) throw new Error(`${url}${path}: ${problem}`);
      }
      received?.(res.statusCode, res.headers, responseBody);
    }
  } finally {
    await pool.close();
  }
  return { total: summarize(totals), ttfb: summarize(ttfbs) };
}
