// The new user message and the reply of one traced exchange, as text, for every wire format the gateway
// speaks: OpenAI chat (`messages`, `choices[0].message`), Anthropic messages (`messages` with content
// blocks, `content` blocks), OpenAI Responses (`input`, `output` items). Detection goes by the body's shape,
// not the path, so a pass-through or a renamed route still reads. Non-text parts are named in brackets
// (`[image]`, `[tool call: name]`) so a turn that only carried them is not shown as empty.

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Text of one content part (any of the three formats). */
function partText(part: unknown): string {
  if (typeof part === 'string') return part;
  if (!isObject(part)) return '';
  const type = str(part.type) ?? '';
  if (type === 'text' || type === 'input_text' || type === 'output_text') return str(part.text) ?? '';
  if (type === 'refusal') return `[refusal] ${str(part.refusal) ?? ''}`.trim();
  if (type === 'tool_use' || type === 'function_call') return `[tool call: ${str(part.name) ?? '?'}]`;
  if (type === 'tool_result') return `[tool result] ${contentText(part.content)}`.trim();
  if (type === 'function_call_output') return `[tool result] ${contentText(part.output)}`.trim();
  if (type === 'thinking' || type === 'redacted_thinking' || type === 'reasoning') return '';
  if (type === 'image_url' || type === 'input_image' || type === 'image') return '[image]';
  return type ? `[${type}]` : (str(part.text) ?? '');
}

/** Text of a message's content: a string, or a list of parts joined by spaces. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(partText).filter((text) => text !== '').join(' ');
  if (isObject(content)) return partText(content);
  return '';
}

/** The last message (or Responses input item) whose role is `user`, as text; undefined when none. */
export function lastUserMessage(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  // Responses API: `input` is a string (one user message) or a list of items.
  if (typeof body.input === 'string') return body.input;
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : undefined;
  if (!items) return undefined;
  for (let i = items.length - 1; i >= 0; i--) {
    const item: unknown = items[i];
    if (isObject(item) && item.role === 'user') return contentText(item.content);
  }
  return undefined;
}

/** Text of an OpenAI chat message: its content, then its tool calls by name. */
function chatMessageText(message: Json): string {
  const parts = [contentText(message.content)];
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls) {
      const fn: unknown = isObject(call) ? call.function : undefined;
      parts.push(`[tool call: ${(isObject(fn) && str(fn.name)) || '?'}]`);
    }
  }
  if (typeof message.refusal === 'string') parts.push(`[refusal] ${message.refusal}`);
  return parts.filter((text) => text !== '').join(' ');
}

/** The reply of a response body as text; an error body gives `[error] message`; undefined when unknown. */
export function replyText(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  // OpenAI `{error: {message}}` and Anthropic `{type: 'error', error: {message}}`.
  if (isObject(body.error)) return `[error] ${str(body.error.message) ?? str(body.error.type) ?? ''}`.trim();
  if (Array.isArray(body.choices)) {
    const choice: unknown = body.choices[0];
    if (!isObject(choice)) return '';
    if (isObject(choice.message)) return chatMessageText(choice.message);
    return str(choice.text) ?? ''; // legacy completions
  }
  // Responses API: output items (messages, tool calls; reasoning items give no text).
  if (Array.isArray(body.output)) {
    return body.output
      .map((item: unknown) => (isObject(item) && item.type === 'message' ? contentText(item.content) : partText(item)))
      .filter((text: string) => text !== '')
      .join(' ');
  }
  // Anthropic messages: content blocks.
  if (Array.isArray(body.content)) return contentText(body.content);
  return undefined;
}

export interface ExchangeTexts {
  user: string;
  reply: string;
}

/**
 * The user message and the reply of a whole trace record, with what the trace could not give said in
 * brackets: a body cut at `max_body_size` (its JSON is incomplete), bodies not traced (`include_body:
 * false`), a failed exchange (no response body).
 */
export function exchangeTexts(trace: Json): ExchangeTexts {
  const request = isObject(trace.request) ? trace.request : {};
  const response = isObject(trace.response) ? trace.response : {};
  let user: string;
  if (!('body' in request)) user = '[body not traced]';
  else if (request.body_truncated === true) user = `[request body truncated${typeof request.body_bytes === 'number' ? ` (${request.body_bytes} bytes)` : ''}]`;
  else user = lastUserMessage(request.body) ?? '-';
  let reply: string;
  if (typeof trace.failure === 'string' && (response.body === null || response.body === undefined)) reply = `[failed: ${trace.failure}]`;
  else if (!('body' in response)) reply = '[body not traced]';
  else if (response.body_truncated === true) reply = '[response body truncated]';
  else reply = replyText(response.body) ?? (typeof response.body === 'string' ? response.body : '-');
  return { user, reply };
}
