import { CanonicalBuilder, lazyConversation, type CanonicalMessage, type Conversation, type Role } from '../../conversation/canonical.js';
import { jsonText } from '../../conversation/json-text.js';
import { asArray, asNumber, asObject, asString, type Json } from '../body.js';
import { conversationalRoute } from '../routes.js';
import type { SseReassembler } from '../sse.js';
import type { CapturedReply, Usage } from '../types.js';

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

export function openAiUsage(usage: unknown): Usage | null {
  const u = asObject(usage);
  if (!u) return null;
  const input = asNumber(u.prompt_tokens ?? u.input_tokens);
  const output = asNumber(u.completion_tokens ?? u.output_tokens);
  return { input_tokens: input, output_tokens: output, total_tokens: asNumber(u.total_tokens) || input + output };
}

function replyFromJson(body: unknown): CapturedReply | null {
  const completion = asObject(body);
  if (!completion) return null;
  const replies = asArray(completion.choices).map((choice) => canonicalChatMessage(asObject(asObject(choice)?.message) ?? {}));
  return { replies, usage: openAiUsage(completion.usage), model: asString(completion.model) };
}

interface ChoiceDraft {
  content: string;
  toolCalls: { id?: string; name: string; args: string }[];
  finishReason: unknown;
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

/** Rebuilds each choice's message from `chat.completion.chunk` deltas (text and indexed tool-call pieces). */
function chunkReassembler(): SseReassembler {
  const choices: ChoiceDraft[] = [];
  let usage: Usage | null = null;
  let model: string | undefined;
  return {
    onRawEvent(_type, data) {
      if (choices[0] === undefined) return false; // the first chunk carries the model and role: parse it
      const text = plainTextDelta(data);
      if (text === undefined) return false;
      choices[0].content += text;
      return true;
    },
    onEvent(_type, data) {
      const chunk = asObject(data);
      if (!chunk) return;
      model ??= asString(chunk.model);
      if (chunk.usage) usage = openAiUsage(chunk.usage);
      for (const rawChoice of asArray(chunk.choices)) {
        const choice = asObject(rawChoice);
        const delta = asObject(choice?.delta);
        if (!choice || !delta) continue;
        const index = asNumber(choice.index);
        const draft = (choices[index] ??= { content: '', toolCalls: [], finishReason: null });
        if (choice.finish_reason) draft.finishReason = choice.finish_reason;
        if (typeof delta.content === 'string') draft.content += delta.content;
        for (const rawCall of asArray(delta.tool_calls)) {
          const call = asObject(rawCall);
          if (!call) continue;
          const fn = asObject(call.function);
          const slot = (draft.toolCalls[asNumber(call.index)] ??= { name: '', args: '' });
          if (typeof call.id === 'string') slot.id = call.id;
          if (typeof fn?.name === 'string') slot.name += fn.name;
          if (typeof fn?.arguments === 'string') slot.args += fn.arguments;
        }
      }
    },
    finish() {
      const drafts = choices.filter(Boolean);
      const replies = drafts.map((draft) => {
        const builder = new CanonicalBuilder().text(draft.content);
        for (const call of draft.toolCalls.filter(Boolean)) builder.toolCall(call.id, call.name, call.args);
        return builder.build('assistant');
      });
      const assembled = {
        object: 'chat.completion',
        model,
        choices: drafts.map((draft, index) => ({
          index,
          message: {
            role: 'assistant',
            content: draft.content || null,
            ...(draft.toolCalls.length > 0
              ? { tool_calls: draft.toolCalls.filter(Boolean).map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.args } })) }
              : {}),
          },
          finish_reason: draft.finishReason,
        })),
        usage,
      };
      return { replies, usage, model, assembled };
    },
  };
}

export const chatCompletions = conversationalRoute({
  name: 'chat.completions',
  path: '/v1/chat/completions',
  conversation: (request) => chatConversation(request.messages),
  sse: chunkReassembler,
  json: replyFromJson,
});
