// autocannon ships no type declarations and there is no @types package installed; this covers only the
// part of its programmatic API the benchmark uses (see node_modules/autocannon/README.md, "API").
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Builds the request to send from this entry (defaults merged in) and the connection's context;
       *  a falsy return makes the connection restart from the first entry with a fresh context. */
      setupRequest?(req: Request, context: Record<string, any>): Request | null | undefined;
      /** Called with every response to this entry: status, whole body (decoded), context, headers. */
      onResponse?(status: number, body: string, context: Record<string, any>, headers: Record<string, string | string[]>): void;
    }

    interface Options {
      url: string;
      connections?: number;
      /** Seconds. */
      duration?: number;
      /** Seconds to wait for a response. */
      timeout?: number;
      pipelining?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      /** Cycled through by every connection; built once up front when they have no setupRequest. Each
       *  connection keeps a context object across the entries, reset when it wraps to the first one. */
      requests?: Request[];
      /** What every connection's context starts as (deep-cloned); default {}. */
      initialContext?: Record<string, unknown>;
      /** Run first with these overrides; its numbers are kept apart from the measured run. */
      warmup?: { connections?: number; duration?: number };
    }

    /** hdr-histogram-percentiles-obj: latency in ms, requests and throughput per second. */
    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p50: number;
      p90: number;
      p99: number;
      p99_9: number;
    }

    interface Result {
      url: string;
      requests: Histogram;
      latency: Histogram;
      throughput: Histogram;
      /** Seconds. */
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      mismatches: number;
      connections: number;
    }

    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
