import { CanonicalBuilder, lazyConversation, type CanonicalMessage, type Conversation } from '../../conversation/canonical.js';
import { asArray, asNumber, asObject, asString, textOf, type Json } from '../body.js';
import { conversationalRoute } from '../routes.js';
import type { SseReassembler } from '../sse.js';
import type { CapturedReply, Usage } from '../types.js';

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

function anthropicUsage(usage: unknown, previous: Usage | null = null): Usage | null {
  const u = asObject(usage);
  if (!u) return previous;
  const input =
    asNumber(u.input_tokens) + asNumber(u.cache_creation_input_tokens) + asNumber(u.cache_read_input_tokens) ||
    (previous?.input_tokens ?? 0);
  const output = asNumber(u.output_tokens) || (previous?.output_tokens ?? 0);
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
}

function replyFromMessage(body: unknown): CapturedReply | null {
  const message = asObject(body);
  if (!message || message.type !== 'message') return null;
  return { replies: [canonicalMessage(message)], usage: anthropicUsage(message.usage), model: asString(message.model) };
}

interface BlockDraft {
  type: string;
  text: string;
  id?: unknown;
  name?: unknown;
  input?: unknown;
  partialJson: string;
}

/** Rebuilds the message from `content_block_*` events; tool inputs arrive as `input_json_delta` pieces. */
function eventReassembler(): SseReassembler {
  const blocks: BlockDraft[] = [];
  let usage: Usage | null = null;
  let model: string | undefined;
  let stopReason: unknown = null;
  return {
    onEvent(_type, data) {
      const event = asObject(data);
      if (!event) return;
      switch (event.type) {
        case 'message_start': {
          const message = asObject(event.message);
          model = asString(message?.model);
          usage = anthropicUsage(message?.usage);
          break;
        }
        case 'content_block_start': {
          const block = asObject(event.content_block) ?? {};
          blocks[asNumber(event.index)] = {
            type: String(block.type),
            text: asString(block.text) ?? '',
            id: block.id,
            name: block.name,
            input: block.input,
            partialJson: '',
          };
          break;
        }
        case 'content_block_delta': {
          const draft = blocks[asNumber(event.index)];
          const delta = asObject(event.delta);
          if (!draft || !delta) break;
          if (delta.type === 'text_delta') draft.text += asString(delta.text) ?? '';
          else if (delta.type === 'input_json_delta') draft.partialJson += asString(delta.partial_json) ?? '';
          else if (delta.type === 'thinking_delta') draft.text += asString(delta.thinking) ?? '';
          break;
        }
        case 'message_delta':
          usage = anthropicUsage(event.usage, usage);
          stopReason = asObject(event.delta)?.stop_reason ?? stopReason;
          break;
        default:
          break;
      }
    },
    finish() {
      const builder = new CanonicalBuilder();
      const content: unknown[] = [];
      for (const block of blocks) {
        if (!block) continue;
        if (block.type === 'text') {
          builder.text(block.text);
          content.push({ type: 'text', text: block.text });
        } else if (block.type === 'tool_use') {
          let input = block.input ?? {};
          if (block.partialJson) {
            try {
              input = JSON.parse(block.partialJson);
            } catch {
              input = block.partialJson;
            }
          }
          builder.toolCall(block.id, block.name, input);
          content.push({ type: 'tool_use', id: block.id, name: block.name, input });
        } else if (block.type === 'thinking') {
          content.push({ type: 'thinking', thinking: block.text }); // kept for traces, never for matching
        }
      }
      const assembled = { type: 'message', role: 'assistant', model, content, stop_reason: stopReason, usage };
      return { replies: [builder.build('assistant')], usage, model, assembled };
    },
  };
}

export const messages = conversationalRoute({
  name: 'messages',
  path: '/v1/messages',
  conversation: (request) => messagesConversation(request.messages),
  sse: eventReassembler,
  json: replyFromMessage,
});
