// POST /v1/responses: the OpenAI Responses API, JSON and its named-event SSE stream.
// The event sequence (created → in_progress → output_item.added → content_part.added → deltas → ... →
// completed, each with a sequence_number) is what the SDK's ResponseStream accumulator expects.

import { contentText, promptTokens, randomId, replyText, splitForStream, wordCount } from './replies.js';
import { nowSeconds, sendError, sendJson, sendSse, sseEvent, type SimContext } from './respond.js';

interface InputItem {
  type?: unknown;
  role?: unknown;
  content?: unknown;
}

/** Text of the last user item and the number of assistant items in `input`. */
function readInput(input: unknown): { lastUserText: string; assistantTurns: number } | undefined {
  if (typeof input === 'string') return { lastUserText: input, assistantTurns: 0 };
  if (!Array.isArray(input)) return undefined;
  let lastUserText = '';
  let assistantTurns = 0;
  for (const item of input as InputItem[]) {
    if (item?.role === 'user') lastUserText = contentText(item.content);
    else if (item?.role === 'assistant') assistantTurns++;
  }
  return { lastUserText, assistantTurns };
}

export function responses(ctx: SimContext): Promise<void> | void {
  const { body } = ctx;
  const parsed = readInput(body.input);
  if (!parsed) return sendError(ctx, 400, "'input' must be a string or an array of input items");
  const text = replyText(parsed.lastUserText, parsed.assistantTurns, ctx.controls.reply);

  const inputTokens = promptTokens(ctx.rawBody);
  const outputTokens = wordCount(text);
  const usage = { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
  const id = `resp_${randomId(48)}`;
  const itemId = `msg_${randomId(48)}`;
  const createdAt = nowSeconds();

  const part = (partText: string) => ({ type: 'output_text', annotations: [], logprobs: [], text: partText });
  const message = (status: string, content: unknown[]) => ({
    id: itemId,
    type: 'message',
    status,
    content,
    role: 'assistant',
  });
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: typeof body.model === 'string' ? body.model : 'gpt-4o-mini',
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    ...(withUsage && !ctx.controls.noUsage ? { usage } : { usage: null }),
    user: null,
    metadata: body.metadata ?? {},
  });
  const finalOutput = [message('completed', [part(text)])];

  if (body.stream !== true) {
    const final = response('completed', finalOutput, true);
    // Outside a stream, "omit usage" means the key is absent rather than null.
    if (ctx.controls.noUsage) delete (final as { usage?: unknown }).usage;
    return sendJson(ctx, 200, final);
  }

  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>) => sseEvent(type, { type, sequence_number: seq++, ...fields });
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  const frames = [
    ev('response.created', { response: response('in_progress', [], false) }),
    ev('response.in_progress', { response: response('in_progress', [], false) }),
    ev('response.output_item.added', { output_index: 0, item: message('in_progress', []) }),
    ev('response.content_part.added', { ...at, part: part('') }),
  ];
  for (const delta of splitForStream(text)) frames.push(ev('response.output_text.delta', { ...at, delta, logprobs: [] }));
  frames.push(
    ev('response.output_text.done', { ...at, text, logprobs: [] }),
    ev('response.content_part.done', { ...at, part: part(text) }),
    ev('response.output_item.done', { output_index: 0, item: finalOutput[0] }),
    ev('response.completed', { response: response('completed', finalOutput, true) }),
  );
  return sendSse(ctx, frames);
}
