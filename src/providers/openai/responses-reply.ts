import { CanonicalBuilder } from '../../conversation/canonical.js';
import { asArray, asObject, asString, finishReasonsOf, textOf, type Json } from '../body.js';
import { plainJson } from '../bounded-json.js';
import { UnreadableString } from '../bounded-string.js';
import type { SseReassembler } from '../sse.js';
import type { CapturedReply } from '../types.js';
import { openAiUsage } from './chat-reply.js';

/**
 * The reply side of the Responses API. A large response (JSON body or final event) comes from the bounded
 * parser, whose long strings are BoundedStrings: the canonical builder takes those as they are.
 */

/** A message item's text as the request side reads it (`textOf`: its parts joined by newlines). */
function messageText(content: unknown): unknown {
  const texts = asArray(content).map((part) => asObject(part)?.text);
  if (texts.every((text) => typeof text === 'string' || text === undefined)) return textOf(content);
  const present = texts.filter((text) => text !== undefined);
  // One long part is the text itself; several cannot be joined once folded.
  return present.length === 1 ? present[0] : new UnreadableString();
}

export function replyFromResponse(body: unknown): CapturedReply | null {
  const response = asObject(body);
  if (!response) return null;
  const builder = new CanonicalBuilder();
  for (const raw of asArray(response.output)) {
    const item = asObject(raw);
    if (item?.type === 'message') builder.text(messageText(item.content));
    else if (item?.type === 'function_call') builder.toolCall(item.call_id, item.name, item.arguments);
  }
  return {
    replies: [builder.build('assistant')],
    usage: openAiUsage(response.usage),
    responseId: asString(response.id),
    messageId: asString(response.id),
    model: asString(response.model),
    // The Responses API has no finish reason: why an answer is incomplete, else its status.
    finishReasons: finishReasonsOf([asObject(response.incomplete_details)?.reason ?? response.status]),
  };
}

/**
 * The stream's `response.completed` event carries the whole final response; earlier deltas are not needed.
 * That event is as large as the reply: past WHOLE_PARSE_CHARS it is read by the bounded parser (sse.ts).
 */
export function responseEventsReassembler(): SseReassembler {
  let final: CapturedReply | null = null;
  return {
    onEvent(type, data) {
      const event = asObject(data) as Json | undefined;
      const eventType = type ?? asString(event?.type);
      if (eventType === 'response.completed' || eventType === 'response.incomplete') {
        final = replyFromResponse(event?.response);
        if (!final) return;
        let truncated = false;
        final.assembled = plainJson(event?.response, () => (truncated = true));
        if (truncated) final.truncated = true;
      }
    },
    finish: () => final,
  };
}
