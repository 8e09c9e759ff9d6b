import type { InterceptorAnswer } from '../interceptors/types.js';
import { clientResponseHeaders } from '../server/headers.js';
import { errorBody, type GatewayError } from '../server/errors.js';
import type { Exchange } from './exchange.js';

/**
 * Writes an answer the gateway makes itself (an error, an interceptor's 429) with the gateway's own headers.
 * Only on a response that has not started; a started one can only be cut (see `cut`).
 */
function write(ex: Exchange, status: number, body: string, headers: Record<string, string> = {}): void {
  ex.status = status;
  const all = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers };
  ex.res.writeHead(status, clientResponseHeaders(all, ex.responseHeaders));
  ex.res.end(body);
}

/** Answers with a gateway error in the standard shape `{ error: { message, type, code, details }, … }`. */
export function answerError(ex: Exchange, error: GatewayError): void {
  if (ex.answered || ex.res.destroyed) return;
  write(ex, error.status, errorBody(error, ex.requestId));
}

/** Answers with what an interceptor's request hook returned instead of going upstream. */
export function answerWith(ex: Exchange, answer: InterceptorAnswer): void {
  if (ex.answered || ex.res.destroyed) return;
  write(ex, answer.status, typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body), answer.headers);
}

/** A response already under way cannot change its status: cutting the connection is the only honest signal. */
export function cut(ex: Exchange, reason?: Error): void {
  if (!ex.res.destroyed) ex.res.destroy(reason);
}
