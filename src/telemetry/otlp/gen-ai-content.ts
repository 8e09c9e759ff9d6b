import { asArray, asObject, asString } from '../../providers/body.js';

/**
 * Prompts and replies in the GenAI conventions' message shape (`gen_ai.input.messages`,
 * `gen_ai.output.messages`, `gen_ai.system_instructions`): `[{role, parts: [{type: 'text', content}, …]}]`,
 * serialised as JSON strings because span attributes cannot hold structures. Opt-in only. Bounded: each text
 * is cut at `maxChars` (the conventions allow truncation that keeps the structure), at most `MAX_MESSAGES`
 * of the latest messages are kept, and images are described, never copied.
 */

type Part = Record<string, unknown>;
interface GenAiMessage {
  role: string;
  parts: Part[];
}

export interface GenAiContent {
  system?: string;
  input?: string;
  output?: string;
}

const MAX_MESSAGES = 256;
const MAX_PARTS = 64;

const cut = (text: string, maxChars: number) => (text.length > maxChars ? `${text.slice(0, maxChars)}…[truncated]` : text);

/** A JSON value shown as text (tool arguments that are strings stay strings). */
function jsonText(value: unknown, maxChars: number): unknown {
  if (typeof value === 'string') return cut(value, maxChars);
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  return text.length > maxChars ? cut(text, maxChars) : value;
}

function textPart(text: unknown, maxChars: number): Part | null {
  return typeof text === 'string' && text !== '' ? { type: 'text', content: cut(text, maxChars) } : null;
}

/** One content block of any of the wire formats, as a GenAI part. */
function partOf(raw: unknown, maxChars: number): Part | null {
  if (typeof raw === 'string') return textPart(raw, maxChars);
  const block = asObject(raw);
  if (!block) return null;
  switch (block.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return textPart(block.text, maxChars);
    case 'tool_use':
      return { type: 'tool_call', id: block.id, name: block.name, arguments: jsonText(block.input, maxChars) };
    case 'tool_result':
      return { type: 'tool_call_response', id: block.tool_use_id, response: jsonText(block.content, maxChars) };
    case 'function_call':
      return { type: 'tool_call', id: block.call_id, name: block.name, arguments: jsonText(block.arguments, maxChars) };
    case 'function_call_output':
      return { type: 'tool_call_response', id: block.call_id, response: jsonText(block.output, maxChars) };
    case 'thinking':
      return typeof block.thinking === 'string' ? { type: 'reasoning', content: cut(block.thinking, maxChars) } : null;
    case 'image':
    case 'image_url':
    case 'input_image':
      return { type: 'blob', modality: 'image' };
    default:
      return typeof block.type === 'string' ? { type: block.type } : null;
  }
}

function partsOf(content: unknown, maxChars: number): Part[] {
  const list = Array.isArray(content) ? content.slice(0, MAX_PARTS) : [content];
  return list.map((item) => partOf(item, maxChars)).filter((part): part is Part => part !== null);
}

/** An OpenAI chat message (tool calls and tool results included). */
function chatMessage(raw: unknown, maxChars: number): GenAiMessage | null {
  const message = asObject(raw);
  const role = asString(message?.role);
  if (!message || !role) return null;
  if (role === 'tool') return { role, parts: [{ type: 'tool_call_response', id: message.tool_call_id, response: jsonText(message.content, maxChars) }] };
  const parts = partsOf(message.content, maxChars);
  for (const rawCall of asArray(message.tool_calls).slice(0, MAX_PARTS)) {
    const call = asObject(rawCall);
    const fn = asObject(call?.function);
    if (call && fn) parts.push({ type: 'tool_call', id: call.id, name: fn.name, arguments: jsonText(fn.arguments, maxChars) });
  }
  return { role, parts };
}

/** A Responses API input item: a message, or a function call / output standing on its own. */
function responsesItem(raw: unknown, maxChars: number): GenAiMessage | null {
  const item = asObject(raw);
  if (!item) return null;
  if (item.type === 'function_call') return { role: 'assistant', parts: [partOf(item, maxChars)!] };
  if (item.type === 'function_call_output') return { role: 'tool', parts: [partOf(item, maxChars)!] };
  const role = asString(item.role);
  return role ? { role, parts: partsOf(item.content, maxChars) } : null;
}

const latest = <T>(items: T[]) => (items.length > MAX_MESSAGES ? items.slice(items.length - MAX_MESSAGES) : items);

function serialise(messages: (GenAiMessage | null)[]): string | undefined {
  const kept = messages.filter((message): message is GenAiMessage => message !== null);
  return kept.length > 0 ? JSON.stringify(kept) : undefined;
}

/** The request's instructions and messages, by operation. */
export function requestContent(operation: string, body: unknown, maxChars: number): GenAiContent {
  const request = asObject(body);
  if (!request) return {};
  if (operation === 'messages') {
    const system = typeof request.system === 'string' ? [textPart(request.system, maxChars)] : partsOf(request.system, maxChars);
    const messages = latest(asArray(request.messages)).map((raw) => {
      const message = asObject(raw);
      const role = asString(message?.role);
      return role ? { role, parts: partsOf(message?.content, maxChars) } : null;
    });
    const parts = system.filter((part): part is Part => part !== null);
    return { system: parts.length > 0 ? JSON.stringify(parts) : undefined, input: serialise(messages) };
  }
  if (operation === 'responses') {
    const instructions = textPart(request.instructions, maxChars);
    const input =
      typeof request.input === 'string'
        ? [{ role: 'user', parts: partsOf(request.input, maxChars) }]
        : latest(asArray(request.input)).map((raw) => responsesItem(raw, maxChars));
    return { system: instructions ? JSON.stringify([instructions]) : undefined, input: serialise(input) };
  }
  return { input: serialise(latest(asArray(request.messages)).map((raw) => chatMessage(raw, maxChars))) };
}

/** The reply's messages (one per choice), from the provider's JSON shape (a stream's is reassembled). */
export function replyContent(operation: string, body: unknown, maxChars: number): string | undefined {
  const reply = asObject(body);
  if (!reply) return undefined;
  if (operation === 'messages') return serialise([{ role: 'assistant', parts: partsOf(reply.content, maxChars) }]);
  if (operation === 'responses') {
    const parts = asArray(reply.output)
      .slice(0, MAX_PARTS)
      .flatMap((raw) => {
        const item = asObject(raw);
        if (item?.type === 'message') return partsOf(item.content, maxChars);
        const part = partOf(item, maxChars);
        return part && item?.type === 'function_call' ? [part] : [];
      });
    return serialise([{ role: 'assistant', parts }]);
  }
  return serialise(
    asArray(reply.choices)
      .slice(0, MAX_PARTS)
      .map((choice) => chatMessage(asObject(choice)?.message, maxChars)),
  );
}
