import { CanonicalBuilder, type CanonicalMessage } from '../../conversation/canonical.js';
import { asArray, asNumber, asObject, asString, boundedIndex, finishReasonsOf, type Json } from '../body.js';
import { BoundedString } from '../bounded-string.js';
import type { ReplyBudget } from '../reply-budget.js';
import type { SseReassembler } from '../sse.js';
import type { CapturedReply, Usage } from '../types.js';

/** The reply side of Chat Completions: a JSON completion or a stream of chunks, read in bounded memory. */

export function openAiUsage(usage: unknown): Usage | null {
  const u = asObject(usage);
  if (!u) return null;
  const input = asNumber(u.prompt_tokens ?? u.input_tokens);
  const output = asNumber(u.completion_tokens ?? u.output_tokens);
  const counted: Usage = { input_tokens: input, output_tokens: output, total_tokens: asNumber(u.total_tokens) || input + output };
  // Chat Completions: prompt_tokens_details; Responses: input_tokens_details. Both count within the input.
  const cached = asNumber(asObject(u.prompt_tokens_details ?? u.input_tokens_details)?.cached_tokens);
  if (cached > 0) counted.cache_read_input_tokens = cached;
  return counted;
}

/**
 * A reply message as the request side will see it echoed: text (a string, text parts, or a long string the
 * bounded parser folded) and tool calls. Replies carry no images or tool results.
 */
function replyMessage(message: Json): CanonicalMessage {
  const builder = new CanonicalBuilder();
  if (Array.isArray(message.content)) for (const part of message.content) builder.text(asObject(part)?.text);
  else builder.text(message.content);
  for (const raw of asArray(message.tool_calls)) {
    const call = asObject(raw);
    const fn = asObject(call?.function);
    if (call && fn) builder.toolCall(call.id, fn.name, fn.arguments);
  }
  return builder.build('assistant');
}

export function replyFromJson(body: unknown): CapturedReply | null {
  const completion = asObject(body);
  if (!completion) return null;
  const choices = asArray(completion.choices);
  const replies = choices.map((choice) => replyMessage(asObject(asObject(choice)?.message) ?? {}));
  return {
    replies,
    usage: openAiUsage(completion.usage),
    model: asString(completion.model),
    messageId: asString(completion.id),
    finishReasons: finishReasonsOf(choices.map((choice) => asObject(choice)?.finish_reason)),
  };
}

const TEXT_DELTA = '"delta":{"content":"';

/**
 * The text of the most common chunk, `…"choices":[{"index":0,"delta":{"content":"…"}…}]…` with one choice
 * and nothing else of interest, read without parsing the whole event (a stream is mostly such chunks).
 * Returns undefined for any other shape, which then gets a full parse.
 */
export function plainTextDelta(data: string): string | undefined {
  const at = data.indexOf(TEXT_DELTA);
  if (at === -1 || data.indexOf('"index":') !== data.lastIndexOf('"index":') || !data.includes('"index":0')) return undefined;
  if (data.includes('"tool_calls"') || data.includes('"usage":{') || data.includes('"logprobs":{')) return undefined;
  const start = at + TEXT_DELTA.length;
  let end = start;
  while (end < data.length && data.charCodeAt(end) !== 34 /* " */) end += data.charCodeAt(end) === 92 /* \ */ ? 2 : 1;
  if (end >= data.length || data.charCodeAt(end + 1) !== 125 /* } */) return undefined; // more fields in the delta
  const literal = data.slice(start, end);
  return literal.includes('\\') ? (JSON.parse(`"${literal}"`) as string) : literal;
}

/** Choices (`n`) and tool calls per choice read; the API allows 128 of each, later ones are ignored. */
const MAX_INDEX = 128;
/** Longest tool name kept (names arrive in pieces; real ones are at most 64 characters). */
const MAX_NAME = 256;

interface ToolCallDraft {
  id?: string;
  name: string;
  args: BoundedString;
}

interface ChoiceDraft {
  content: BoundedString;
  toolCalls: (ToolCallDraft | undefined)[];
  finishReason: unknown;
}

const slot = (index: unknown) => boundedIndex(index, MAX_INDEX);

/**
 * Rebuilds each choice's message from `chat.completion.chunk` deltas (text and indexed tool-call pieces).
 * Each text and arguments field is a BoundedString: held while short, folded into its canonical digest
 * when long, its start kept for `assembled` within the reply's budget.
 */
export function chunkReassembler(budget: ReplyBudget): SseReassembler {
  const choices: (ChoiceDraft | undefined)[] = [];
  let usage: Usage | null = null;
  let model: string | undefined;
  let messageId: string | undefined;
  const draftAt = (index: number): ChoiceDraft => (choices[index] ??= { content: new BoundedString(budget), toolCalls: [], finishReason: null });
  return {
    onRawEvent(_type, data) {
      if (choices[0] === undefined) return false; // the first chunk carries the model and role: parse it
      const text = plainTextDelta(data);
      if (text === undefined) return false;
      choices[0].content.append(text);
      return true;
    },
    onEvent(_type, data) {
      const chunk = asObject(data);
      if (!chunk) return;
      model ??= asString(chunk.model);
      messageId ??= asString(chunk.id);
      if (chunk.usage) usage = openAiUsage(chunk.usage);
      for (const rawChoice of asArray(chunk.choices)) {
        const choice = asObject(rawChoice);
        const delta = asObject(choice?.delta);
        const index = slot(choice?.index);
        if (!choice || !delta || index === undefined) continue;
        const draft = draftAt(index);
        if (choice.finish_reason) draft.finishReason = choice.finish_reason;
        draft.content.appendValue(delta.content);
        for (const rawCall of asArray(delta.tool_calls)) {
          const call = asObject(rawCall);
          const at = slot(call?.index);
          if (!call || at === undefined) continue;
          const fn = asObject(call.function);
          const toolCall = (draft.toolCalls[at] ??= { name: '', args: new BoundedString(budget, { json: true }) });
          if (typeof call.id === 'string') toolCall.id = call.id;
          if (typeof fn?.name === 'string') toolCall.name = (toolCall.name + fn.name).slice(0, MAX_NAME);
          toolCall.args.appendValue(fn?.arguments);
        }
      }
    },
    finish() {
      let truncated = false;
      const shown = (field: BoundedString) => {
        const { text, truncated: cut } = field.display();
        truncated ||= cut;
        return text;
      };
      const drafts = choices.filter((draft): draft is ChoiceDraft => draft !== undefined);
      const replies = drafts.map((draft) => {
        const builder = new CanonicalBuilder().text(draft.content);
        for (const call of draft.toolCalls) if (call) builder.toolCall(call.id, call.name, call.args);
        return builder.build('assistant');
      });
      const assembled = {
        object: 'chat.completion',
        model,
        choices: drafts.map((draft, index) => {
          const calls = draft.toolCalls.filter((call): call is ToolCallDraft => call !== undefined);
          return {
            index,
            message: {
              role: 'assistant',
              content: shown(draft.content) || null,
              ...(calls.length > 0
                ? { tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: shown(call.args) } })) }
                : {}),
            },
            finish_reason: draft.finishReason,
          };
        }),
        usage,
      };
      const finishReasons = finishReasonsOf(drafts.map((draft) => draft.finishReason));
      return { replies, usage, model, messageId, finishReasons, assembled, ...(truncated ? { truncated } : {}) };
    },
  };
}
