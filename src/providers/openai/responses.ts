import { CanonicalBuilder, conversationOf, type CanonicalMessage, type Conversation, type Role } from '../../conversation/canonical.js';
import { jsonText } from '../../conversation/json-text.js';
import { asArray, asObject, asString, textOf, type Json } from '../body.js';
import { conversationalRoute } from '../routes.js';
import type { SseReassembler } from '../sse.js';
import type { CapturedReply } from '../types.js';
import { openAiUsage } from './chat.js';

/**
 * Responses API. The conversation is the `input` items (`instructions` is the system prompt, left out like
 * every system prompt); an assistant turn arrives as several
 * items (a message, then function calls), so consecutive assistant items fold into one canonical message,
 * the same shape the gateway captured from the reply.
 */
function itemsConversation(input: unknown): Conversation {
  const messages: CanonicalMessage[] = [];
  if (typeof input === 'string') return conversationOf([new CanonicalBuilder().text(input).build('user')]);
  let assistant: CanonicalBuilder | null = null;
  const flush = () => {
    if (assistant) messages.push(assistant.build('assistant'));
    assistant = null;
  };
  for (const raw of asArray(input)) {
    const item = asObject(raw);
    if (!item) continue;
    if (item.type === 'function_call') {
      (assistant ??= new CanonicalBuilder()).toolCall(item.call_id, item.name, item.arguments);
      continue;
    }
    if (item.role === 'assistant') {
      flush();
      assistant = new CanonicalBuilder().text(textOf(item.content));
      continue;
    }
    flush();
    if (item.type === 'function_call_output') {
      const output = typeof item.output === 'string' ? item.output : jsonText(item.output ?? '');
      messages.push(new CanonicalBuilder().toolResult(item.call_id, output).build('tool'));
    } else if (item.role !== 'system' && item.role !== 'developer') {
      messages.push(new CanonicalBuilder().text(textOf(item.content)).build((item.role as Role) ?? 'user'));
    }
  }
  flush();
  return conversationOf(messages);
}

function replyFromResponse(body: unknown): CapturedReply | null {
  const response = asObject(body);
  if (!response) return null;
  const builder = new CanonicalBuilder();
  for (const raw of asArray(response.output)) {
    const item = asObject(raw);
    if (item?.type === 'message') builder.text(textOf(item.content));
    else if (item?.type === 'function_call') builder.toolCall(item.call_id, item.name, item.arguments);
  }
  return {
    replies: [builder.build('assistant')],
    usage: openAiUsage(response.usage),
    responseId: asString(response.id),
    model: asString(response.model),
  };
}

/** The stream's `response.completed` event carries the whole final response; earlier deltas are not needed. */
function responseEventsReassembler(): SseReassembler {
  let final: CapturedReply | null = null;
  return {
    onEvent(type, data) {
      const event = asObject(data) as Json | undefined;
      const eventType = type ?? asString(event?.type);
      if (eventType === 'response.completed' || eventType === 'response.incomplete') {
        final = replyFromResponse(event?.response);
        if (final) final.assembled = event?.response;
      }
    },
    finish: () => final,
  };
}

export const responses = conversationalRoute({
  name: 'responses',
  path: '/v1/responses',
  conversation: (request) => itemsConversation(request.input),
  sse: responseEventsReassembler,
  json: replyFromResponse,
});
