import type { Dispatcher } from 'undici';
import { isConnectFailure } from './failure.js';
import type { UpstreamTarget } from './pool.js';

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
}

/** Where the provider's answer goes, callback by callback, as it arrives. */
export interface ResponseSink {
  onStart(status: number, headers: Record<string, string | string[] | undefined>): void;
  /** Return false to pause the provider until `resume()` is called (client backpressure). */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /** `started` tells whether onStart already ran (the client already has a status line). */
  onError(error: Error, started: boolean, attempts: number): void;
}

export interface UpstreamCall {
  abort(reason?: Error): void;
  resume(): void;
}

/**
 * Sends one request with undici's streaming handler API: no intermediate stream objects, bytes go from the
 * provider's socket to the sink as they arrive. A connection failure is retried up to `maxRetries` times,
 * but only while no request byte has been dispatched on a socket (`onRequestStart` not yet called).
 */
export function forward(target: UpstreamTarget, request: UpstreamRequest, sink: ResponseSink): UpstreamCall {
  let controller: Dispatcher.DispatchController | null = null;
  let abortedReason: Error | null = null;
  let attempt = 0;

  const dispatchOnce = (): void => {
    let dispatched = false;
    let started = false;
    target.dispatcher.dispatch(
      {
        origin: target.origin,
        path: target.basePath + request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      },
      {
        onRequestStart(ctrl) {
          controller = ctrl;
          dispatched = true;
          if (abortedReason) ctrl.abort(abortedReason);
        },
        onResponseStart(_ctrl, status, headers) {
          if (status < 200 && status !== 101) return; // 1xx informational: wait for the real answer
          started = true;
          sink.onStart(status, headers);
        },
        onResponseData(ctrl, chunk) {
          if (!sink.onData(chunk)) ctrl.pause();
        },
        onResponseEnd() {
          sink.onEnd();
        },
        onResponseError(_ctrl, error) {
          if (!dispatched && !started && !abortedReason && attempt < target.maxRetries && isConnectFailure(error)) {
            attempt++;
            dispatchOnce();
            return;
          }
          sink.onError(error, started, attempt + 1);
        },
      },
    );
  };

  dispatchOnce();
  return {
    abort(reason = new Error('client closed the connection')) {
      if (abortedReason) return;
      abortedReason = reason;
      controller?.abort(reason);
    },
    resume() {
      controller?.resume();
    },
  };
}
