import { CanonicalBuilder, conversationOf, type CanonicalMessage, type Conversation, type Role } from '../../conversation/canonical.js';
import { jsonText } from '../../conversation/json-text.js';
import { asArray, asObject, textOf } from '../body.js';
import { conversationalRoute } from '../routes.js';
import { replyFromResponse, responseEventsReassembler } from './responses-reply.js';

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

// The reply side (JSON responses and event streams, in bounded memory) lives in responses-reply.ts.

export const responses = conversationalRoute({
  name: 'responses',
  path: '/v1/responses',
  conversation: (request) => itemsConversation(request.input),
  sse: responseEventsReassembler,
  json: replyFromResponse,
});
