import { CanonicalBuilder, lazyConversation, type CanonicalMessage, type Conversation, type Role } from '../../conversation/canonical.js';
import { jsonText } from '../../conversation/json-text.js';
import { asArray, asObject, asString, type Json } from '../body.js';
import { conversationalRoute } from '../routes.js';
import { chunkReassembler, replyFromJson } from './chat-reply.js';

/** Content parts: text counts by its text, images by their URL or data; SDK-only fields are ignored. */
function addContent(builder: CanonicalBuilder, content: unknown): void {
  if (typeof content === 'string') {
    builder.text(content);
    return;
  }
  for (const raw of asArray(content)) {
    const part = asObject(raw);
    if (!part) continue;
    if (typeof part.text === 'string') builder.text(part.text);
    const image = asString(asObject(part.image_url)?.url);
    if (image) builder.image(image);
  }
}

function addToolCalls(builder: CanonicalBuilder, toolCalls: unknown): void {
  for (const raw of asArray(toolCalls)) {
    const call = asObject(raw);
    const fn = asObject(call?.function);
    if (call && fn) builder.toolCall(call.id, fn.name, fn.arguments);
  }
}

function roleOf(role: unknown): Role {
  if (role === 'system' || role === 'developer') return 'system';
  if (role === 'assistant' || role === 'tool') return role;
  return 'user';
}

function canonicalChatMessage(message: Json): CanonicalMessage {
  const role = roleOf(message.role);
  const builder = new CanonicalBuilder();
  if (role === 'tool') builder.toolResult(message.tool_call_id, typeof message.content === 'string' ? message.content : jsonText(message.content ?? ''));
  else addContent(builder, message.content);
  addToolCalls(builder, message.tool_calls);
  return builder.build(role);
}

/** System and developer messages are left out: clients rewrite them on every request. */
function chatConversation(messages: unknown): Conversation {
  const turns: Json[] = [];
  for (const raw of asArray(messages)) {
    const message = asObject(raw);
    if (message && roleOf(message.role) !== 'system') turns.push(message);
  }
  return lazyConversation(turns, (message) => roleOf(message.role), canonicalChatMessage);
}

// The reply side (JSON completions and chunk streams, in bounded memory) lives in chat-reply.ts.
export const chatCompletions = conversationalRoute({
  name: 'chat.completions',
  path: '/v1/chat/completions',
  conversation: (request) => chatConversation(request.messages),
  sse: chunkReassembler,
  json: replyFromJson,
});
