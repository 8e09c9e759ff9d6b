import type { Logger } from 'pino';
import type { ExchangeRecord } from '../capture/record.js';
import type { Interceptor, InterceptorAnswer, InterceptorOutput, RequestContext } from './types.js';

const NOTHING: InterceptorOutput = Object.freeze({});

export interface ChainEntry {
  /** The `type` of its config entry (`trace`, `custom`, …): the key of its figures in `/metrics`. */
  type: string;
  interceptor: Interceptor;
  enabled: boolean;
}

/**
 * The interceptors in config order. `onRequest` hooks run one after the other and stop at the first
 * answer; a hook that returns synchronously costs no promise. `onResponse`/`onError` hooks are isolated:
 * one that throws is logged and the others still run; none can fail the request.
 */
export class InterceptorChain {
  private readonly active: Interceptor[];
  private readonly withRequestHook: Interceptor[];
  readonly needsBodies: boolean;
  readonly maxBodyBytes: number;

  constructor(
    private readonly entries: ChainEntry[],
    private readonly log: Logger,
  ) {
    this.active = entries.filter((entry) => entry.enabled).map((entry) => entry.interceptor);
    this.withRequestHook = this.active.filter((interceptor) => interceptor.onRequest);
    this.needsBodies = this.active.some((interceptor) => interceptor.needsBodies);
    this.maxBodyBytes = Math.max(0, ...this.active.map((interceptor) => (interceptor.needsBodies ? (interceptor.maxBodyBytes ?? 0) : 0)));
  }

  get empty(): boolean {
    return this.active.length === 0;
  }

  get hasRequestHooks(): boolean {
    return this.withRequestHook.length > 0;
  }

  /** Runs the request hooks; resolves to the first answer given, or undefined to go upstream. */
  onRequest(ctx: RequestContext): InterceptorAnswer | undefined | Promise<InterceptorAnswer | undefined> {
    for (let i = 0; i < this.withRequestHook.length; i++) {
      const result = this.withRequestHook[i].onRequest!(ctx);
      if (result && typeof (result as Promise<unknown>).then === 'function') return this.finishAsync(ctx, i, result as Promise<InterceptorAnswer | void>);
      if (result) return result as InterceptorAnswer;
    }
    return undefined;
  }

  /** Runs the response hooks (`onError` for a failed exchange); returns what they handed on, merged. */
  finished(ctx: RequestContext, record: ExchangeRecord): InterceptorOutput {
    const failed = record.failure !== null;
    let merged: InterceptorOutput | undefined;
    for (const interceptor of this.active) {
      try {
        const output = failed ? interceptor.onError?.(ctx, record) : interceptor.onResponse?.(ctx, record);
        if (output) merged = { ...merged, ...output };
      } catch (err) {
        this.log.error({ err, interceptor: interceptor.type, request_id: record.requestId }, 'interceptor failed');
      }
    }
    return merged ?? NOTHING;
  }

  /** Per interceptor type: enabled, and its counters (the `interceptors` section of `/metrics`). */
  figures(): Record<string, { enabled: boolean } & Record<string, number | boolean>> {
    const out: Record<string, { enabled: boolean } & Record<string, number | boolean>> = {};
    for (const { type, interceptor, enabled } of this.entries) out[type] = { enabled, ...(interceptor.figures?.() ?? {}) };
    return out;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.active.map((interceptor) => interceptor.close?.()));
  }

  private async finishAsync(ctx: RequestContext, index: number, pending: Promise<InterceptorAnswer | void>): Promise<InterceptorAnswer | undefined> {
    const first = await pending;
    if (first) return first;
    for (let i = index + 1; i < this.withRequestHook.length; i++) {
      const answer = await this.withRequestHook[i].onRequest!(ctx);
      if (answer) return answer;
    }
    return undefined;
  }
}
