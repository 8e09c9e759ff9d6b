import { CanonicalBuilder, lazyConversation, type CanonicalMessage, type Conversation } from '../../conversation/canonical.js';
import { asArray, asObject, asString, textOf, type Json } from '../body.js';
import { conversationalRoute } from '../routes.js';
import { eventReassembler, replyFromMessage } from './messages-reply.js';

/**
 * Anthropic Messages. Blocks count by meaning: text, tool_use (id, name, input), tool_result, images by
 * source. Thinking blocks and `cache_control` markers are ignored because clients drop or move them freely.
 */
function addBlocks(builder: CanonicalBuilder, content: unknown): void {
  if (typeof content === 'string') {
    builder.text(content);
    return;
  }
  for (const raw of asArray(content)) {
    const block = asObject(raw);
    if (!block) continue;
    switch (block.type) {
      case 'text':
        builder.text(block.text);
        break;
      case 'tool_use':
        builder.toolCall(block.id, block.name, block.input);
        break;
      case 'tool_result':
        builder.toolResult(block.tool_use_id, textOf(block.content));
        break;
      case 'image':
      case 'document': {
        const source = asObject(block.source);
        const data = asString(source?.data) ?? asString(source?.url);
        if (data) builder.image(data);
        break;
      }
      default:
        break; // thinking, redacted_thinking and future block types do not identify a turn
    }
  }
}

function canonicalMessage(message: Json): CanonicalMessage {
  const builder = new CanonicalBuilder();
  addBlocks(builder, message.content);
  return builder.build(message.role === 'assistant' ? 'assistant' : 'user');
}

/** The top-level `system` is left out: clients rewrite it on every request. */
function messagesConversation(messages: unknown): Conversation {
  const turns = asArray(messages).filter((raw): raw is Json => asObject(raw) !== undefined);
  return lazyConversation(turns, (message) => (message.role === 'assistant' ? 'assistant' : 'user'), canonicalMessage);
}

// The reply side (JSON messages and event streams, in bounded memory) lives in messages-reply.ts.

export const messages = conversationalRoute({
  name: 'messages',
  path: '/v1/messages',
  conversation: (request) => messagesConversation(request.messages),
  sse: eventReassembler,
  json: replyFromMessage,
});
