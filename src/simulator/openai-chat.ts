// POST /v1/chat/completions: JSON and SSE, text or a single tool call, `n` choices.
// Field order and chunk sequence copy what api.openai.com emits so the official SDK's stream helpers
// (ChatCompletionStream) accumulate it exactly as they would a real response.

import { argumentsFromSchema, contentText, promptTokens, randomId, replyText, splitForStream, splitJson, toolCallTokens, wordCount } from './replies.js';
import { largeArguments, largeArgumentsPieces, largeReplyTokens, largeText, largeTextPieces } from './large-reply.js';
import { nowSeconds, type ScriptedToolCall, sendError, sendJson, sendSse, sendSseFrames, SSE_DONE, sseData, type SimContext } from './respond.js';

interface ChatMessage {
  role?: unknown;
  content?: unknown;
}

interface FunctionTool {
  name: string;
  parameters?: unknown;
}

/** The tool to call, if this turn should produce a tool call: tools given, user spoke last, not disabled. */
function toolToCall(body: Record<string, any>, last: ChatMessage | undefined): FunctionTool | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return undefined;
  if (last?.role !== 'user' || body.tool_choice === 'none') return undefined;
  const first = body.tools.find((t: any) => t && t.type === 'function' && typeof t.function?.name === 'string');
  return first ? { name: first.function.name, parameters: first.function.parameters } : undefined;
}

function choiceCount(n: unknown): number {
  // Capped so a typo in a test cannot make the simulator build a huge response.
  return typeof n === 'number' && Number.isInteger(n) && n > 1 ? Math.min(n, 128) : 1;
}

export function chatCompletions(ctx: SimContext): Promise<void> | void {
  const { body } = ctx;
  const messages: ChatMessage[] | undefined = Array.isArray(body.messages) ? body.messages : undefined;
  if (!messages) return sendError(ctx, 400, "'messages' is a required property");

  let lastUserText = '';
  let assistantTurns = 0;
  for (const m of messages) {
    if (m?.role === 'user') lastUserText = contentText(m.content);
    else if (m?.role === 'assistant') assistantTurns++;
  }
  if (ctx.controls.toolCalls?.length) return scriptedCalls(ctx, ctx.controls.toolCalls);
  const large = ctx.controls.replyBytes;
  const tool = toolToCall(body, messages[messages.length - 1]);
  // A large reply is built only for JSON answers; streams produce it piece by piece (see largeStream).
  const buildLarge = large > 0 && body.stream !== true;
  const text =
    buildLarge && !tool ? largeText(`${replyText(lastUserText, assistantTurns)} `, large) : replyText(lastUserText, assistantTurns, ctx.controls.reply);
  const argsJson = !tool ? '' : buildLarge ? largeArguments(large) : JSON.stringify(argumentsFromSchema(tool.parameters));
  const n = large > 0 ? 1 : choiceCount(body.n);
  const callIds = Array.from({ length: n }, () => `call_${randomId(24)}`);

  const prompt = promptTokens(ctx.rawBody);
  const completion = large > 0 ? largeReplyTokens(large) : (tool ? toolCallTokens(argsJson) : wordCount(text)) * n;
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const finishReason = tool ? 'tool_calls' : 'stop';
  const id = `chatcmpl-${randomId(29)}`;
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  // Same key order as the real API, for anyone eyeballing recorded traffic.
  const head = (object: string) => ({ id, object, created, model });

  if (body.stream === true) {
    const includeUsage = body.stream_options?.include_usage === true && !ctx.controls.noUsage;
    const chunk = (index: number, delta: Record<string, unknown>, finish: string | null = null) => ({
      ...head('chat.completion.chunk'),
      service_tier: 'default',
      system_fingerprint: 'fp_simulator',
      choices: [{ index, delta, logprobs: null, finish_reason: finish }],
      // With include_usage, OpenAI puts `usage: null` on every chunk before the final usage chunk.
      ...(includeUsage ? { usage: null } : {}),
    });
    if (large > 0) {
      const pieces = tool ? largeArgumentsPieces(large, ctx.controls.deltaBytes) : largeTextPieces(`${text} `, large, ctx.controls.deltaBytes);
      const usageChunk = { ...head('chat.completion.chunk'), service_tier: 'default', system_fingerprint: 'fp_simulator', choices: [], usage };
      return sendSseFrames(ctx, largeStream(chunk, pieces, tool ? { id: callIds[0], name: tool.name } : null, finishReason, includeUsage ? usageChunk : null));
    }
    const frames: string[] = [];
    for (let index = 0; index < n; index++) {
      if (tool) {
        // First delta names the call; the arguments then arrive as string fragments on the same index.
        frames.push(
          sseData(
            chunk(index, {
              role: 'assistant',
              content: null,
              tool_calls: [{ index: 0, id: callIds[index], type: 'function', function: { name: tool.name, arguments: '' } }],
              refusal: null,
            }),
          ),
        );
        for (const piece of splitJson(argsJson)) {
          frames.push(sseData(chunk(index, { tool_calls: [{ index: 0, function: { arguments: piece } }] })));
        }
      } else {
        frames.push(sseData(chunk(index, { role: 'assistant', content: '', refusal: null })));
        for (const piece of splitForStream(text)) frames.push(sseData(chunk(index, { content: piece })));
      }
      frames.push(sseData(chunk(index, {}, finishReason)));
    }
    if (includeUsage) {
      frames.push(
        sseData({
          ...head('chat.completion.chunk'),
          service_tier: 'default',
          system_fingerprint: 'fp_simulator',
          choices: [],
          usage,
        }),
      );
    }
    frames.push(SSE_DONE);
    return sendSse(ctx, frames);
  }

  const choices = callIds.map((callId, index) => ({
    index,
    message: tool
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: callId, type: 'function', function: { name: tool.name, arguments: argsJson } }],
          refusal: null,
          annotations: [],
        }
      : { role: 'assistant', content: text, refusal: null, annotations: [] },
    logprobs: null,
    finish_reason: finishReason,
  }));
  sendJson(ctx, 200, {
    ...head('chat.completion'),
    choices,
    ...(ctx.controls.noUsage ? {} : { usage }),
    service_tier: 'default',
    system_fingerprint: 'fp_simulator',
  });
}

type ChunkOf = (index: number, delta: Record<string, unknown>, finish?: string | null) => unknown;

/** The frames of a one-choice reply whose text (or tool arguments) comes from `pieces`, produced lazily. */
function* largeStream(
  chunk: ChunkOf,
  pieces: Iterable<string>,
  tool: { id: string; name: string } | null,
  finishReason: string,
  usageChunk: unknown,
): Generator<string> {
  if (tool) {
    yield sseData(
      chunk(0, {
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id: tool.id, type: 'function', function: { name: tool.name, arguments: '' } }],
        refusal: null,
      }),
    );
    for (const piece of pieces) yield sseData(chunk(0, { tool_calls: [{ index: 0, function: { arguments: piece } }] }));
  } else {
    yield sseData(chunk(0, { role: 'assistant', content: '', refusal: null }));
    for (const piece of pieces) yield sseData(chunk(0, { content: piece }));
  }
  yield sseData(chunk(0, {}, finishReason));
  if (usageChunk) yield sseData(usageChunk);
  yield SSE_DONE;
}

/** The reply `x-sim-tool-calls` scripts: those tool calls, in parallel, as JSON or as a stream. */
function scriptedCalls(ctx: SimContext, calls: ScriptedToolCall[]): Promise<void> | void {
  const { body } = ctx;
  const id = `chatcmpl-${randomId(29)}`;
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const toolCalls = calls.map((call) => ({
    id: `call_${randomId(24)}`,
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
  const prompt = promptTokens(ctx.rawBody);
  const completion = toolCalls.reduce((sum, call) => sum + toolCallTokens(call.function.arguments), 0);
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (body.stream !== true) {
    return sendJson(ctx, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls, refusal: null }, logprobs: null, finish_reason: 'tool_calls' }],
      usage,
    });
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const frames = [sseData(chunk({ role: 'assistant', content: null }))];
  toolCalls.forEach((call, index) => {
    frames.push(sseData(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] })));
    for (const piece of splitJson(call.function.arguments)) frames.push(sseData(chunk({ tool_calls: [{ index, function: { arguments: piece } }] })));
  });
  frames.push(sseData(chunk({}, 'tool_calls')));
  if (body.stream_options?.include_usage === true) frames.push(sseData({ id, object: 'chat.completion.chunk', created, model, choices: [], usage }));
  frames.push(SSE_DONE);
  return sendSse(ctx, frames);
}
