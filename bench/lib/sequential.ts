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

/** One target's sequential client: a keep-alive connection and its samples. */
class SequentialRunner {
  private readonly pool: Pool;
  private readonly totals: Float64Array;
  private readonly ttfbs: Float64Array;

  constructor(private readonly options: SequentialOptions) {
    // One connection, kept alive: what a single client (an agent loop) talking to the proxy does.
    this.pool = new Pool(new URL(options.url).origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
    this.totals = new Float64Array(options.count);
    this.ttfbs = new Float64Array(options.count);
  }

  /** Request number `i` (warm-up ones first). */
  async step(i: number): Promise<void> {
    const { url, path, headers, nextBody, received, warmup, verify } = this.options;
    const measured = i >= warmup;
    const body = nextBody();
    const started = performance.now();
    const res = await this.pool.request({ path, method: 'POST', headers, body });
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
      this.totals[i - warmup] = endedAt - started;
      this.ttfbs[i - warmup] = (firstByteAt || endedAt) - started;
    } else {
      const problem = verify(res.statusCode, res.headers, responseBody);
      if (problem) throw new Error(`${url}${path}: ${problem}`);
    }
    received?.(res.statusCode, res.headers, responseBody);
  }

  result(): SequentialResult {
    return { total: summarize(this.totals), ttfb: summarize(this.ttfbs) };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Several targets measured together, one request to each in turn: on a shared machine whose speed drifts
 * from second to second, measuring targets one after the other would fold that drift into their
 * differences; interleaved, every target sees the same conditions.
 */
export async function measureSequentialInterleaved(targets: SequentialOptions[]): Promise<SequentialResult[]> {
  const runners = targets.map((options) => new SequentialRunner(options));
  try {
    const total = Math.max(...targets.map((t) => t.warmup + t.count));
    for (let i = 0; i < total; i++) {
      for (const [index, runner] of runners.entries()) if (i < targets[index].warmup + targets[index].count) await runner.step(i);
    }
    return runners.map((runner) => runner.result());
  } finally {
    await Promise.all(runners.map((runner) => runner.close()));
  }
}

export async function measureSequential(options: SequentialOptions): Promise<SequentialResult> {
  const [result] = await measureSequentialInterleaved([options]);
  return result;
}
