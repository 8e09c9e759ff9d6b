import { CanonicalBuilder } from '../../conversation/canonical.js';
import { asArray, asNumber, asObject, asString, boundedIndex, finishReasonsOf } from '../body.js';
import { BoundedString } from '../bounded-string.js';
import type { ReplyBudget } from '../reply-budget.js';
import type { SseReassembler } from '../sse.js';
import type { CapturedReply, Usage } from '../types.js';

/** The reply side of Anthropic Messages: a JSON message or a stream of events, read in bounded memory. */

export function anthropicUsage(usage: unknown, previous: Usage | null = null): Usage | null {
  const u = asObject(usage);
  if (!u) return previous;
  const cacheWrite = asNumber(u.cache_creation_input_tokens);
  const cacheRead = asNumber(u.cache_read_input_tokens);
  const reported = asNumber(u.input_tokens) + cacheWrite + cacheRead;
  // message_delta repeats only what changed: the counts of message_start stand when it gives none.
  const input = reported || (previous?.input_tokens ?? 0);
  const output = asNumber(u.output_tokens) || (previous?.output_tokens ?? 0);
  const counted: Usage = { input_tokens: input, output_tokens: output, total_tokens: input + output };
  const read = reported ? cacheRead : previous?.cache_read_input_tokens;
  const write = reported ? cacheWrite : previous?.cache_write_input_tokens;
  if (read) counted.cache_read_input_tokens = read;
  if (write) counted.cache_write_input_tokens = write;
  return counted;
}

/**
 * A reply's blocks as the request side reads them echoed: text and tool_use (a long text or input value the
 * bounded parser folded counts as it is); thinking and server-side blocks do not identify a turn.
 */
export function replyFromMessage(body: unknown): CapturedReply | null {
  const message = asObject(body);
  if (message?.type !== 'message') return null;
  const builder = new CanonicalBuilder();
  for (const raw of asArray(message.content)) {
    const block = asObject(raw);
    if (block?.type === 'text') builder.text(block.text);
    else if (block?.type === 'tool_use') builder.toolCall(block.id, block.name, block.input);
  }
  return {
    replies: [builder.build('assistant')],
    usage: anthropicUsage(message.usage),
    model: asString(message.model),
    messageId: asString(message.id),
    finishReasons: finishReasonsOf([message.stop_reason]),
  };
}

/** Content blocks read; later ones are ignored (an upstream cannot make us allocate a huge array). */
const MAX_BLOCKS = 256;

interface BlockDraft {
  type: string;
  /** Text, or thinking (kept for traces, never for matching). */
  text: BoundedString;
  id?: unknown;
  name?: unknown;
  input?: unknown;
  partialJson: BoundedString;
}

const blockIndex = (index: unknown) => boundedIndex(index, MAX_BLOCKS);

/**
 * Rebuilds the message from `content_block_*` events; tool inputs arrive as `input_json_delta` pieces. Each
 * text and input is a BoundedString: held while short, folded into its canonical digest when long, its
 * start kept for `assembled` within the reply's budget.
 */
export function eventReassembler(budget: ReplyBudget): SseReassembler {
  const blocks: (BlockDraft | undefined)[] = [];
  let usage: Usage | null = null;
  let model: string | undefined;
  let stopReason: unknown = null;
  let messageId: string | undefined;
  return {
    onEvent(_type, data) {
      const event = asObject(data);
      if (!event) return;
      switch (event.type) {
        case 'message_start': {
          const message = asObject(event.message);
          model = asString(message?.model);
          messageId = asString(message?.id);
          usage = anthropicUsage(message?.usage);
          break;
        }
        case 'content_block_start': {
          const index = blockIndex(event.index);
          if (index === undefined) break;
          const block = asObject(event.content_block) ?? {};
          const draft: BlockDraft = {
            type: String(block.type),
            text: new BoundedString(budget),
            id: block.id,
            name: block.name,
            input: block.input,
            partialJson: new BoundedString(budget, { json: true }),
          };
          draft.text.appendValue(block.text);
          blocks[index] = draft;
          break;
        }
        case 'content_block_delta': {
          const index = blockIndex(event.index);
          const draft = index === undefined ? undefined : blocks[index];
          const delta = asObject(event.delta);
          if (!draft || !delta) break;
          if (delta.type === 'text_delta') draft.text.appendValue(delta.text);
          else if (delta.type === 'input_json_delta') draft.partialJson.appendValue(delta.partial_json);
          else if (delta.type === 'thinking_delta') draft.text.appendValue(delta.thinking);
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
      let truncated = false;
      const shown = (field: BoundedString) => {
        const { text, truncated: cut } = field.display();
        truncated ||= cut;
        return text;
      };
      const builder = new CanonicalBuilder();
      const content: unknown[] = [];
      for (const block of blocks) {
        if (!block) continue;
        if (block.type === 'text') {
          builder.text(block.text);
          content.push({ type: 'text', text: shown(block.text) });
        } else if (block.type === 'tool_use') {
          const streamed = block.partialJson.length > 0;
          builder.toolCall(block.id, block.name, streamed ? block.partialJson : (block.input ?? {}));
          content.push({ type: 'tool_use', id: block.id, name: block.name, input: streamed ? inputOf(block.partialJson, shown) : (block.input ?? {}) });
        } else if (block.type === 'thinking') {
          content.push({ type: 'thinking', thinking: shown(block.text) });
        }
      }
      const assembled = { type: 'message', role: 'assistant', model, content, stop_reason: stopReason, usage };
      const finishReasons = finishReasonsOf([stopReason]);
      return { replies: [builder.build('assistant')], usage, model, messageId, finishReasons, assembled, ...(truncated ? { truncated } : {}) };
    },
  };
}

/** A streamed input as records show it: the parsed value when it was held whole, else its text's start. */
function inputOf(partialJson: BoundedString, shown: (field: BoundedString) => string): unknown {
  const whole = partialJson.whole();
  const text = shown(partialJson);
  if (whole === undefined || text.length < whole.length) return text;
  try {
    return JSON.parse(whole);
  } catch {
    return whole;
  }
}
