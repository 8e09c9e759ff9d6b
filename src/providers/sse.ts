import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { CapturedReply, ReplyDecoder } from './types.js';

/** Folds a provider's stream of server-sent events into its reply; one per adapter route. */
export interface SseReassembler {
  onEvent(type: string | undefined, data: unknown): void;
  /**
   * Optional fast path: consume an event from its raw `data` text without a full JSON.parse, returning
   * true when handled. Anything it does not recognise exactly must return false (the event is then parsed).
   */
  onRawEvent?(type: string | undefined, data: string): boolean;
  finish(): CapturedReply | null;
}

/**
 * The one SSE parser every adapter shares. Bytes are decoded incrementally (a UTF-8 character or an event
 * may be split across chunks), each event's `data` is parsed as JSON once, and `[DONE]` markers are skipped.
 */
export function sseDecoder(reassembler: SseReassembler): ReplyDecoder {
  const text = new TextDecoder('utf-8');
  const parser = createParser({
    onEvent(message: EventSourceMessage) {
      if (message.data === '[DONE]') return;
      if (reassembler.onRawEvent?.(message.event, message.data)) return;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        return; // a malformed event is the provider's problem; the client still receives it untouched
      }
      reassembler.onEvent(message.event, data);
    },
  });
  return {
    onChunk(chunk) {
      parser.feed(text.decode(chunk, { stream: true }));
    },
    end() {
      parser.feed(text.decode());
      return reassembler.finish();
    },
  };
}

/** Buffers a JSON body (bounded) and reads the reply from it once complete. */
export function jsonDecoder(read: (body: unknown) => CapturedReply | null, maxBytes = 64 * 1024 * 1024): ReplyDecoder {
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  return {
    onChunk(chunk) {
      if (overflow) return;
      size += chunk.length;
      if (size > maxBytes) {
        overflow = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    },
    end() {
      if (overflow || size === 0) return null;
      try {
        return read(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch {
        return null;
      }
    },
  };
}

/** Chooses the decoder by the response's content type. */
export function decoderFor(contentType: string, sse: () => SseReassembler, json: (body: unknown) => CapturedReply | null): ReplyDecoder {
  return contentType.includes('text/event-stream') ? sseDecoder(sse()) : jsonDecoder(json);
}
