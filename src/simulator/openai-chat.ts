// POST /v1/chat/completions: JSON and SSE, text or a single tool call, `n` choices.
// Field order and chunk sequence copy what api.openai.com emits so the official SDK's stream helpers
// (ChatCompletionStream) accumulate it exactly as they would a real response.

import {
  argumentsFromSchema,
  contentText,
  promptTokens,
  randomId,
  replyText,
  splitForStream,
  splitJson,
  toolCallTokens,
  wordCount,
} from './replies.js';
import { nowSeconds, sendError, sendJson, sendSse, SSE_DONE, sseData, type SimContext } from './respond.js';

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
  const text = replyText(lastUserText, assistantTurns, ctx.controls.reply);
  const tool = toolToCall(body, messages[messages.length - 1]);
  const argsJson = tool ? JSON.stringify(argumentsFromSchema(tool.parameters)) : '';
  const n = choiceCount(body.n);
  const callIds = Array.from({ length: n }, () => `call_${randomId(24)}`);

  const prompt = promptTokens(ctx.rawBody);
  const completion = (tool ? toolCallTokens(argsJson) : wordCount(text)) * n;
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
    const frames: string[] = [];
    for (let index = 0; index < n; index++) {
      if (tool) {
        // First delta names the call; the arguments then arrive as string fragments on the same index.
        frames.push(
          sseData(
            chunk(index, {
              role: 'assistant',
              content: null,
              tool_calls: [
                { index: 0, id: callIds[index], type: 'function', function: { name: tool.name, arguments: '' } },
              ],
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
