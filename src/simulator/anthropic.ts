// Anthropic Messages API: POST /v1/messages (JSON + SSE), /v1/messages/count_tokens and the model list.
// The SSE event names and order (message_start, content_block_start, ping, content_block_delta...,
// content_block_stop, message_delta, message_stop) copy api.anthropic.com so the SDK's MessageStream works.

import { argumentsFromSchema, contentText, promptTokens, randomId, replyText, splitForStream, splitJson, toolCallTokens, wordCount } from './replies.js';
import { largeArguments, largeArgumentsPieces, largeReplyTokens, largeText, largeTextPieces } from './large-reply.js';
import { type ScriptedToolCall, sendError, sendJson, sendSse, sendSseFrames, sseEvent, type SimContext } from './respond.js';

interface Block {
  type?: unknown;
  text?: unknown;
  content?: unknown;
}

interface Message {
  role?: unknown;
  content?: unknown;
}

function blocksOf(content: unknown): Block[] {
  return Array.isArray(content) ? (content as Block[]) : [];
}

/** Text the user said last: its text blocks, or, for a pure tool_result turn, the tool results' text. */
function userText(message: Message | undefined): string {
  if (!message) return '';
  if (typeof message.content === 'string') return message.content;
  const text = contentText(blocksOf(message.content).filter((b) => b?.type === 'text'));
  if (text !== '') return text;
  return blocksOf(message.content)
    .filter((b) => b?.type === 'tool_result')
    .map((b) => contentText(b.content))
    .join(' ');
}

export function messages(ctx: SimContext): Promise<void> | void {
  const { body } = ctx;
  const history: Message[] | undefined = Array.isArray(body.messages) ? body.messages : undefined;
  if (!history) return sendError(ctx, 400, 'messages: Field required');

  let lastUser: Message | undefined;
  let assistantTurns = 0;
  for (const m of history) {
    if (m?.role === 'user') lastUser = m;
    else if (m?.role === 'assistant') assistantTurns++;
  }
  if (ctx.controls.toolCalls?.length) return scriptedCalls(ctx, ctx.controls.toolCalls);
  const large = ctx.controls.replyBytes;
  const shortText = replyText(userText(lastUser), assistantTurns, ctx.controls.reply);

  // A tool is called when tools are offered and the user did not just hand back tool results.
  const answeringToolResult = blocksOf(lastUser?.content).some((b) => b?.type === 'tool_result');
  const tools: any[] = Array.isArray(body.tools) ? body.tools : [];
  const firstTool = tools.find((t) => t && typeof t.name === 'string');
  const tool = firstTool && !answeringToolResult && body.tool_choice?.type !== 'none' ? firstTool : undefined;
  // `x-sim-reply-bytes`: the tool input (when a tool is called) or else the text is that large. JSON answers
  // build it in memory; streams produce it piece by piece (largeStream).
  const buildLarge = large > 0 && body.stream !== true;
  const text = buildLarge && !tool ? largeText(`${shortText} `, large) : shortText;
  const input = !tool ? undefined : buildLarge ? JSON.parse(largeArguments(large)) : argumentsFromSchema(tool.input_schema);
  const inputJson = input ? JSON.stringify(input) : '';
  const toolId = `toolu_${randomId(24)}`;

  const inputTokens = promptTokens(ctx.rawBody);
  const outputTokens = large > 0 ? largeReplyTokens(large) : wordCount(text) + (tool ? toolCallTokens(inputJson) : 0);
  const stopReason = tool ? 'tool_use' : 'end_turn';
  const id = `msg_${randomId(24)}`;
  const model = typeof body.model === 'string' ? body.model : 'claude-haiku-4-5';
  const noUsage = ctx.controls.noUsage;

  if (body.stream !== true) {
    const content: unknown[] = [{ type: 'text', text }];
    if (tool) content.push({ type: 'tool_use', id: toolId, name: tool.name, input });
    return sendJson(ctx, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      ...(noUsage ? {} : { usage: { input_tokens: inputTokens, output_tokens: outputTokens } }),
    });
  }

  const ev = (type: string, fields: Record<string, unknown> = {}) => sseEvent(type, { type, ...fields });
  // Anthropic reports a provisional output count at start and the real one in message_delta.
  const start = ev('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      ...(noUsage ? {} : { usage: { input_tokens: inputTokens, output_tokens: 1 } }),
    },
  });
  const end = [
    ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, ...(noUsage ? {} : { usage: { output_tokens: outputTokens } }) }),
    ev('message_stop'),
  ];
  if (large > 0) {
    const pieces = tool ? largeArgumentsPieces(large, ctx.controls.deltaBytes) : largeTextPieces(`${text} `, large, ctx.controls.deltaBytes);
    return sendSseFrames(ctx, largeStream(ev, start, pieces, tool ? { id: toolId, name: tool.name } : null, end));
  }
  const frames = [start, ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), ev('ping')];
  for (const piece of splitForStream(text)) {
    frames.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }));
  }
  frames.push(ev('content_block_stop', { index: 0 }));
  if (tool) {
    frames.push(ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: toolId, name: tool.name, input: {} } }));
    // The real API opens a tool_use block with an empty partial_json before the actual pieces.
    for (const partial of ['', ...splitJson(inputJson)]) {
      frames.push(ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: partial } }));
    }
    frames.push(ev('content_block_stop', { index: 1 }));
  }
  frames.push(...end);
  return sendSse(ctx, frames);
}

/** POST /v1/messages/count_tokens: the same size-based estimate the messages route charges. */
export function countTokens(ctx: SimContext): void {
  sendJson(ctx, 200, { input_tokens: promptTokens(ctx.rawBody) });
}

const ANTHROPIC_MODELS = [
  { id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2025-10-15T00:00:00Z' },
  { id: 'claude-opus-4-1', display_name: 'Claude Opus 4.1', created_at: '2025-08-05T00:00:00Z' },
];

/** GET /v1/models when the caller is an Anthropic client (it sends `anthropic-version`). */
export function anthropicModels(ctx: SimContext): void {
  sendJson(ctx, 200, {
    data: ANTHROPIC_MODELS.map((m) => ({ type: 'model', ...m })),
    has_more: false,
    first_id: ANTHROPIC_MODELS[0].id,
    last_id: ANTHROPIC_MODELS[ANTHROPIC_MODELS.length - 1].id,
  });
}

type EventOf = (type: string, fields?: Record<string, unknown>) => string;

/** A one-block reply (text, or a tool_use whose input comes from `pieces`), produced lazily. */
function* largeStream(ev: EventOf, start: string, pieces: Iterable<string>, tool: { id: string; name: string } | null, end: string[]): Generator<string> {
  yield start;
  yield ev('content_block_start', {
    index: 0,
    content_block: tool ? { type: 'tool_use', id: tool.id, name: tool.name, input: {} } : { type: 'text', text: '' },
  });
  for (const piece of pieces) {
    yield ev('content_block_delta', { index: 0, delta: tool ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece } });
  }
  yield ev('content_block_stop', { index: 0 });
  yield* end;
}

/** The reply `x-sim-tool-calls` scripts: one tool_use block per call (parallel), as JSON or as a stream. */
function scriptedCalls(ctx: SimContext, calls: ScriptedToolCall[]): Promise<void> | void {
  const { body } = ctx;
  const id = `msg_${randomId(24)}`;
  const model = typeof body.model === 'string' ? body.model : 'claude-haiku-4-5';
  const blocks = calls.map((call) => ({ type: 'tool_use', id: `toolu_${randomId(24)}`, name: call.name, input: call.arguments }));
  const usage = {
    input_tokens: promptTokens(ctx.rawBody),
    output_tokens: blocks.reduce((sum, block) => sum + toolCallTokens(JSON.stringify(block.input)), 0),
  };
  if (body.stream !== true) {
    return sendJson(ctx, 200, { id, type: 'message', role: 'assistant', model, content: blocks, stop_reason: 'tool_use', stop_sequence: null, usage });
  }
  const ev = (type: string, fields: Record<string, unknown> = {}) => sseEvent(type, { type, ...fields });
  const frames = [
    ev('message_start', {
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    }),
  ];
  blocks.forEach((block, index) => {
    frames.push(ev('content_block_start', { index, content_block: { ...block, input: {} } }));
    for (const partial of ['', ...splitJson(JSON.stringify(block.input))]) {
      frames.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: partial } }));
    }
    frames.push(ev('content_block_stop', { index }));
  });
  frames.push(
    ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }),
    ev('message_stop'),
  );
  return sendSse(ctx, frames);
}
