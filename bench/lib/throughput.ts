// Throughput under concurrency with autocannon: N keep-alive connections each sending the next request
// as soon as the previous response has fully arrived (closed loop), after a short warm-up whose numbers
// are discarded. autocannon reads whole responses, chunked SSE included. The requests come from the
// caller: entries with setupRequest/onResponse let every connection run its own stateful traffic
// (conversations that carry each reply into the next request).

import autocannon from 'autocannon';

export interface ThroughputOptions {
  /** Origin of the target; each request names its own path. */
  url: string;
  /** Walked in order by every connection, wrapping around (see autocannon's `requests`). */
  requests: autocannon.Request[];
  connections: number;
  /** Seconds. */
  duration: number;
  /** Seconds of discarded load before the measured run; 0 for none. */
  warmup: number;
}

export interface ThroughputResult {
  /** Mean of the per-second request counts. */
  rps: number;
  /** Milliseconds (autocannon's histogram has 1 ms resolution at best). */
  latency_p50: number;
  latency_p99: number;
  requests: number;
  duration_s: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { url, requests, connections, duration, warmup } = options;
  const result = await autocannon({
    url,
    requests,
    connections,
    duration,
    ...(warmup > 0 ? { warmup: { connections, duration: warmup } } : {}),
  });
  return {
    rps: result.requests.average,
    latency_p50: result.latency.p50,
    latency_p99: result.latency.p99,
    requests: result.requests.total,
    duration_s: result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}
