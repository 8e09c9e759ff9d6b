import { BoundedJsonParser } from './bounded-json.js';
import { ReplyBudget, WHOLE_PARSE_CHARS } from './reply-budget.js';
import { SseFramer } from './sse-framer.js';
import type { CapturedReply, DecoderOptions, ReplyDecoder } from './types.js';

/** Folds a provider's stream of server-sent events into its reply; one per adapter route. */
export interface SseReassembler {
  /** An event's data, parsed: JSON.parse's value, or for an event too large to parse whole, the bounded
   * parser's (its long strings are BoundedStrings). */
  onEvent(type: string | undefined, data: unknown): void;
  /**
   * Optional fast path: consume an event from its raw `data` text without a full JSON.parse, returning
   * true when handled. Anything it does not recognise exactly must return false (the event is then parsed).
   */
  onRawEvent?(type: string | undefined, data: string): boolean;
  finish(): CapturedReply | null;
}

/**
 * The one SSE decoder every adapter shares. Bytes are decoded incrementally (a UTF-8 character or an event
 * may be split across chunks), each event's `data` is parsed as JSON once, and `[DONE]` markers are
 * skipped. Memory is bounded whatever the stream: events are framed without holding more than
 * WHOLE_PARSE_CHARS of one, and larger ones are parsed as they arrive (reply-budget.ts).
 */
export function sseDecoder(reassembler: SseReassembler, options: DecoderOptions = {}): ReplyDecoder {
  const text = new TextDecoder('utf-8');
  let bytes = 0;
  const framer = new SseFramer(
    {
      event(type, data) {
        if (data === '[DONE]') return;
        if (reassembler.onRawEvent?.(type, data)) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          return; // a malformed event is the provider's problem; the client still receives it untouched
        }
        reassembler.onEvent(type, parsed);
      },
      large() {
        // Read with a budget of its own: the event is used and dropped, only what the reassembler takes
        // from it stays (within the reply's budget).
        const parser = new BoundedJsonParser(new ReplyBudget(options.keepChars));
        return {
          write: (data) => parser.write(data),
          end(type) {
            const parsed = parser.end();
            if (parsed !== undefined) reassembler.onEvent(type, parsed);
          },
        };
      },
    },
    WHOLE_PARSE_CHARS,
  );
  return {
    onChunk(chunk) {
      bytes += chunk.length;
      framer.write(text.decode(chunk, { stream: true }));
    },
    end() {
      framer.write(text.decode());
      const reply = reassembler.finish();
      if (reply) reply.bodyBytes = bytes;
      return reply;
    },
  };
}

/**
 * Reads a JSON body once complete: up to WHOLE_PARSE_CHARS it is buffered and parsed with JSON.parse; a
 * larger one is parsed as it arrives, in bounded memory (its long strings become BoundedStrings).
 */
export function jsonDecoder(read: (body: unknown) => CapturedReply | null, options: DecoderOptions = {}): ReplyDecoder {
  const chunks: Buffer[] = [];
  let size = 0;
  // The BOM is kept, so that the bounded parser refuses it as JSON.parse does.
  let text: TextDecoder | null = null;
  let parser: BoundedJsonParser | null = null;
  return {
    onChunk(chunk) {
      size += chunk.length;
      if (parser) return parser.write(text!.decode(chunk, { stream: true }));
      chunks.push(chunk);
      if (size <= WHOLE_PARSE_CHARS) return;
      text = new TextDecoder('utf-8', { ignoreBOM: true });
      parser = new BoundedJsonParser(new ReplyBudget(options.keepChars));
      for (const held of chunks.splice(0)) parser.write(text.decode(held, { stream: true }));
    },
    end() {
      let body: unknown;
      if (parser) {
        parser.write(text!.decode());
        body = parser.end();
        if (body === undefined) return null;
      } else {
        if (size === 0) return null;
        try {
          body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
        } catch {
          return null;
        }
      }
      const reply = read(body);
      if (reply) reply.bodyBytes = size;
      return reply;
    },
  };
}

/** Chooses the decoder by the response's content type; each reply gets its own budget. */
export function decoderFor(
  contentType: string,
  sse: (budget: ReplyBudget) => SseReassembler,
  json: (body: unknown) => CapturedReply | null,
  options: DecoderOptions = {},
): ReplyDecoder {
  return contentType.includes('text/event-stream') ? sseDecoder(sse(new ReplyBudget(options.keepChars)), options) : jsonDecoder(json, options);
}
