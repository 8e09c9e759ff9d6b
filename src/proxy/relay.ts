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
  /**
   * Gets the reassembled reply before the client's last byte, so a follow-up request always finds it. A
   * promise (a shared store's write) holds the client's last bytes until it settles, at most `holdMs`.
   */
  onReply(ex: Exchange, reply: CapturedReply): void | Promise<void>;
  /**
   * Milliseconds the last bytes of a chat reply may wait for `onReply`'s promise; 0 never holds them. With
   * a shared store, a follow-up sent the moment a client has its answer may reach another gateway (or
   * worker): it must find the reply in the store already.
   */
  holdMs: number;
  log: Logger;
}

/**
 * Streams the provider's answer to the client as it arrives (backpressure: a slow client pauses the
 * provider), while the route's decoder reassembles the reply from the same bytes. `done` is called exactly
 * once, when the exchange is over for any reason: completed, failed upstream, or left by the client.
 * Reassembly and the reply callback are the gateway's own business: a failure in them is logged and costs
 * the reply's capture, never the client's bytes. A class, so that no closure is made per request beyond
 * the two socket listeners.
 */
class Relay implements ResponseSink {
  private decoder: ReplyDecoder | null = null;
  private over = false;
  /** Body bytes still to come when the provider said how many (the last ones are held back); -1 otherwise. */
  private remaining = -1;
  /** The body's last bytes, held until the reply is recorded (Content-Length bodies only). */
  private tail: Buffer | null = null;
  /** Whether body bytes went to the client (the first write carries the headers with it). */
  private written = false;

  constructor(
    private readonly ex: Exchange,
    private readonly options: RelayOptions,
    private readonly done: () => void,
  ) {
    ex.res.on('close', () => this.clientClosed());
  }

  onStart(code: number, headers: Record<string, string | string[] | undefined>): void {
    const ex = this.ex;
    ex.status = code;
    ex.upstreamHeaders = headers;
    const contentType = String(headers['content-type'] ?? '');
    // The reply's text is kept for records only as far as the largest record keeps bodies (0: none).
    if (ex.route?.decoder && code >= 200 && code < 300) {
      this.decoder = ex.route.decoder(contentType, { keepChars: this.options.captureLimit });
      // A body of known length is complete for the client with its last byte, before the end is sent:
      // to hold the client until the reply is recorded, the last chunk itself must wait.
      const length = Number(headers['content-length']);
      if (this.options.holdMs > 0 && Number.isInteger(length) && length > 0) this.remaining = length;
    }
    if (this.options.captureLimit > 0) ex.capture = new BodyCapture(this.options.captureLimit);
    ex.res.writeHead(code, clientResponseHeaders(headers, ex.responseHeaders));
    // Event streams: clients must see the stream open before the first token, but the provider's first
    // event usually comes in the same read as its headers: flushing at once would cost a write (a system
    // call) of its own. So the status line goes out with the first chunk if one comes in this turn of the
    // event loop, else on its own at the next one.
    if (contentType.includes('text/event-stream')) setImmediate(openStream, this);
  }

  /** Sends the status line and headers unless body bytes (which carry them) went out already. */
  openStream(): void {
    if (!this.written && !this.over && !this.ex.res.destroyed) this.ex.res.flushHeaders();
  }

  onData(chunk: Buffer): boolean {
    const ex = this.ex;
    if (!ex.firstByteAt) ex.firstByteAt = performance.now();
    if (this.decoder) {
      try {
        this.decoder.onChunk(chunk);
      } catch (err) {
        this.dropDecoder(err);
      }
    }
    ex.capture?.add(chunk);
    if (this.remaining > 0) {
      this.remaining -= chunk.length;
      if (this.remaining <= 0) {
        this.tail = chunk;
        return true;
      }
    }
    this.written = true;
    if (ex.res.write(chunk)) return true;
    ex.res.once('drain', () => ex.call?.resume());
    return false;
  }

  onEnd(): void {
    const ex = this.ex;
    if (this.decoder) {
      try {
        ex.reply = this.decoder.end();
      } catch (err) {
        this.dropDecoder(err);
      }
    }
    let recorded: Promise<void> | undefined;
    if (ex.reply) {
      try {
        const result = this.options.onReply(ex, ex.reply);
        if (result instanceof Promise) recorded = result;
      } catch (err) {
        this.options.log.error({ err, request_id: ex.requestId }, 'recording the reply failed; the next request may start a new session');
      }
    }
    if (recorded && this.options.holdMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.holdMs)));
      // Whatever becomes of the write (stored, failed, too slow), the client gets its last bytes.
      const release = () => {
        clearTimeout(timer);
        this.complete();
      };
      void Promise.race([recorded, bound]).then(release, release);
      return;
    }
    this.complete();
  }

  /** Sends what was held back and the end of the body, unless the client left meanwhile. */
  private complete(): void {
    const ex = this.ex;
    if (this.over) return;
    if (this.tail) ex.res.write(this.tail);
    this.tail = null;
    ex.res.end();
    this.finish();
  }

  onError(error: Error, started: boolean, attempts: number): void {
    if (this.over) return;
    const ex = this.ex;
    const failure = classifyFailure(error);
    ex.failure = failure;
    if (started || ex.answered) {
      // The status line is gone already: the only honest signal left is to cut the stream.
      cut(ex, error);
      ex.note = `upstream failed mid-response: ${failure}`;
    } else {
      const gatewayError =
        failure === 'timeout'
          ? errors.gatewayTimeout(this.options.timeoutSeconds)
          : errors.badGateway(failure === 'unreachable' ? 'connection_failed' : failure, attempts);
      answerError(ex, gatewayError);
      ex.note = `upstream ${failure}: ${(error as NodeJS.ErrnoException).code ?? error.message}`;
    }
    this.finish();
  }

  private clientClosed(): void {
    const ex = this.ex;
    if (ex.res.writableFinished || this.over) return;
    ex.call?.abort();
    ex.status ||= 499;
    ex.failure ??= 'client_closed';
    ex.note ??= 'client closed the connection';
    this.finish();
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.done();
  }

  private dropDecoder(err: unknown): void {
    this.options.log.error({ err, request_id: this.ex.requestId }, 'reply reassembly failed; the reply is not captured');
    this.decoder = null;
  }
}

function openStream(relay: Relay): void {
  relay.openStream();
}

export function relay(ex: Exchange, options: RelayOptions, done: () => void): ResponseSink {
  return new Relay(ex, options, done);
}
