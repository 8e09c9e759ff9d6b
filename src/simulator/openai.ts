// The smaller OpenAI routes: legacy completions (JSON + SSE), embeddings and the model list.
// Chat completions and the Responses API live in their own files because their streams are richer.

import { contentText, embeddingVector, promptTokens, randomId, replyText, splitForStream, wordCount } from './replies.js';
import { nowSeconds, sendError, sendJson, sendSse, SSE_DONE, sseData, type SimContext } from './respond.js';

/** A prompt/input may be text, a list of texts, or token ids; token ids are keyed by their JSON. */
function asTexts(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.length === 0) return undefined;
  if (value.every((v) => typeof v === 'number')) return [JSON.stringify(value)];
  return value.map((v) => (typeof v === 'string' ? v : Array.isArray(v) ? JSON.stringify(v) : contentText(v)));
}

/** POST /v1/completions: one choice per prompt per `n`, like the legacy API. */
export function completions(ctx: SimContext): Promise<void> | void {
  const { body } = ctx;
  const prompts = asTexts(body.prompt ?? '');
  if (!prompts) return sendError(ctx, 400, "'prompt' must be a string or an array");
  const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 ? Math.min(body.n, 128) : 1;
  const texts: string[] = [];
  for (const p of prompts) for (let i = 0; i < n; i++) texts.push(replyText(p, 0, ctx.controls.reply));

  const prompt = promptTokens(ctx.rawBody);
  const completion = texts.reduce((sum, t) => sum + wordCount(t), 0);
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const id = `cmpl-${randomId(29)}`;
  const created = nowSeconds();
  const model = typeof body.model === 'string' ? body.model : 'gpt-3.5-turbo-instruct';

  if (body.stream === true) {
    const includeUsage = body.stream_options?.include_usage === true && !ctx.controls.noUsage;
    const chunk = (index: number, text: string, finish: string | null) => ({
      id,
      object: 'text_completion',
      created,
      choices: [{ text, index, logprobs: null, finish_reason: finish }],
      model,
      ...(includeUsage ? { usage: null } : {}),
    });
    const frames: string[] = [];
    texts.forEach((text, index) => {
      for (const piece of splitForStream(text)) frames.push(sseData(chunk(index, piece, null)));
      frames.push(sseData(chunk(index, '', 'stop')));
    });
    if (includeUsage) frames.push(sseData({ id, object: 'text_completion', created, choices: [], model, usage }));
    frames.push(SSE_DONE);
    return sendSse(ctx, frames);
  }

  sendJson(ctx, 200, {
    id,
    object: 'text_completion',
    created,
    model,
    choices: texts.map((text, index) => ({ text, index, logprobs: null, finish_reason: 'stop' })),
    ...(ctx.controls.noUsage ? {} : { usage }),
  });
}

/** Float32 little-endian bytes in base64: the format the openai SDK requests by default and decodes. */
function toBase64(vector: number[]): string {
  const buf = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

/** POST /v1/embeddings: 8 deterministic floats per input. */
export function embeddings(ctx: SimContext): void {
  const { body } = ctx;
  const inputs = asTexts(body.input);
  if (!inputs) {
    sendError(ctx, 400, "'input' must be a non-empty string or array");
    return;
  }
  const base64 = body.encoding_format === 'base64';
  const tokens = promptTokens(ctx.rawBody);
  sendJson(ctx, 200, {
    object: 'list',
    data: inputs.map((input, index) => {
      const vector = embeddingVector(input);
      return { object: 'embedding', index, embedding: base64 ? toBase64(vector) : vector };
    }),
    model: typeof body.model === 'string' ? body.model : 'text-embedding-3-small',
    ...(ctx.controls.noUsage ? {} : { usage: { prompt_tokens: tokens, total_tokens: tokens } }),
  });
}

export const OPENAI_MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small'];

/** GET /v1/models in OpenAI's list shape. */
export function openaiModels(ctx: SimContext): void {
  sendJson(ctx, 200, {
    object: 'list',
    data: OPENAI_MODELS.map((id) => ({ id, object: 'model', created: 1_715_367_049, owned_by: 'system' })),
  });
}
