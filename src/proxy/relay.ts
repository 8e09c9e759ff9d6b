import type { Logger } from 'pino';
import { BodyCapture } from '../capture/body-capture.js';
import type { CapturedReply, ReplyDecoder } from '../providers/types.js';
import { errors } from '../server/errors.js';
import { clientResponseHeaders } from '../server/headers.js';
import { classifyFailure } from '../upstream/failure.js';
import type { ResponseSink } from '../upstream/forward.js';
import { answerError, cut } from './answer.js';
import type { Exchange } from './exchange.js';

export interface RelayOptions {
  /** `llm.timeout`, for the 504's message. */
  timeoutSeconds: number;
  /** Bytes of the response body to keep for the record; 0 keeps none. */
  captureLimit: number;
  /** Gets the reassembled reply before the client's last byte, so a follow-up request always finds it. */
  onReply(ex: Exchange, reply: CapturedReply): void;
  log: Logger;
}

/**
 * Streams the provider's answer to the client as it arrives (backpressure: a slow client pauses the
 * provider), while the route's decoder reassembles the reply from the same bytes. `done` is called exactly
 * once, when the exchange is over for any reason: completed, failed upstream, or left by the client.
 * Reassembly and the reply callback are the gateway's own business: a failure in them is logged and costs
 * the reply's capture, never the client's bytes.
 */
export function relay(ex: Exchange, options: RelayOptions, done: () => void): ResponseSink {
  let decoder: ReplyDecoder | null = null;
  let over = false;
  const res = ex.res;

  const finish = () => {
    if (over) return;
    over = true;
    done();
  };
  const dropDecoder = (err: unknown) => {
    options.log.error({ err, request_id: ex.requestId }, 'reply reassembly failed; the reply is not captured');
    decoder = null;
  };

  res.on('close', () => {
    if (res.writableFinished || over) return;
    ex.call?.abort();
    ex.status ||= 499;
    ex.failure ??= 'client_closed';
    ex.note ??= 'client closed the connection';
    finish();
  });

  return {
    onStart(code, headers) {
      ex.status = code;
      ex.upstreamHeaders = headers;
      const contentType = String(headers['content-type'] ?? '');
      // The reply's text is kept for records only as far as the largest record keeps bodies (0: none).
      if (ex.route?.decoder && code >= 200 && code < 300) decoder = ex.route.decoder(contentType, { keepChars: options.captureLimit });
      if (options.captureLimit > 0) ex.capture = new BodyCapture(options.captureLimit);
      res.writeHead(code, clientResponseHeaders(headers, ex.responseHeaders));
      // Event streams: send the status line now, so clients see the stream open before the first token.
      if (contentType.includes('text/event-stream')) res.flushHeaders();
    },
    onData(chunk) {
      if (!ex.firstByteAt) ex.firstByteAt = performance.now();
      if (decoder) {
        try {
          decoder.onChunk(chunk);
        } catch (err) {
          dropDecoder(err);
        }
      }
      ex.capture?.add(chunk);
      if (res.write(chunk)) return true;
      res.once('drain', () => ex.call?.resume());
      return false;
    },
    onEnd() {
      if (decoder) {
        try {
          ex.reply = decoder.end();
        } catch (err) {
          dropDecoder(err);
        }
      }
      if (ex.reply) {
        try {
          options.onReply(ex, ex.reply);
        } catch (err) {
          options.log.error({ err, request_id: ex.requestId }, 'recording the reply failed; the next request may start a new session');
        }
      }
      res.end();
      finish();
    },
    onError(error, started, attempts) {
      if (over) return;
      const failure = classifyFailure(error);
      ex.failure = failure;
      if (started || ex.answered) {
        // The status line is gone already: the only honest signal left is to cut the stream.
        cut(ex, error);
        ex.note = `upstream failed mid-response: ${failure}`;
      } else {
        const gatewayError =
          failure === 'timeout'
            ? errors.gatewayTimeout(options.timeoutSeconds)
            : errors.badGateway(failure === 'unreachable' ? 'connection_failed' : failure, attempts);
        answerError(ex, gatewayError);
        ex.note = `upstream ${failure}: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
      }
      finish();
    },
  };
}
