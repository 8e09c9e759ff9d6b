/**
 * The OpenTelemetry GenAI semantic conventions the gateway emits: the development line maintained in
 * open-telemetry/semantic-conventions-genai (schema `gen-ai-dev/1.42.0-dev`, main as of August 2026,
 * with `gen_ai.usage.cache_write.input_tokens`). Everything in it is still "Development", so names move.
 *
 * `OTEL_SEMCONV_STABILITY_OPT_IN` is the conventions' transition flag: with `gen_ai_latest_experimental`
 * the latest names are emitted and the older ones are not; without it an instrumentation keeps the names
 * of semantic conventions v1.36 (`gen_ai.system` instead of `gen_ai.provider.name`). Names the older line
 * never had (cache tokens, time to first chunk) are emitted in both modes under their one name.
 */
export interface GenAiNames {
  provider: string;
  cacheWrite: string;
}

export const LATEST: GenAiNames = { provider: 'gen_ai.provider.name', cacheWrite: 'gen_ai.usage.cache_write.input_tokens' };
/** Semantic conventions v1.36 and the cache name of v1.40–1.41 (the first to have one). */
export const V1_36: GenAiNames = { provider: 'gen_ai.system', cacheWrite: 'gen_ai.usage.cache_creation.input_tokens' };

export const ATTR = {
  operation: 'gen_ai.operation.name',
  requestModel: 'gen_ai.request.model',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheRead: 'gen_ai.usage.cache_read.input_tokens',
  conversationId: 'gen_ai.conversation.id',
  previousResponseId: 'gen_ai.request.previous_response.id',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  tokenType: 'gen_ai.token.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  httpMethod: 'http.request.method',
  httpStatus: 'http.response.status_code',
  sessionId: 'session.id',
  sessionRule: 'cylestio.session.rule',
  /** The session this one is a sub-agent of, as its client sees it (X-Parent-Session-ID). */
  sessionParentId: 'cylestio.session.parent_id',
  costUsd: 'cylestio.cost_usd',
} as const;

export const METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  duration: 'gen_ai.client.operation.duration',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
} as const;

/** Bucket advice of the conventions: tokens from 1 to 4^13, seconds from 10 ms doubling to 82 s. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** `gen_ai.operation.name` of each adapter operation that is a model call. */
export const OPERATION_NAMES: Record<string, string> = {
  'chat.completions': 'chat',
  responses: 'chat',
  messages: 'chat',
};
