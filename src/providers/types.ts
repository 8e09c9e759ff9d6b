import type { CanonicalMessage, Conversation } from '../conversation/canonical.js';

/** Token usage as the provider reported it, in one vocabulary for every wire format. */
export interface Usage {
  /** All input tokens, cached ones included (each wire format's own count is converted to this). */
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** Of the input, tokens read from the provider's prompt cache (priced lower); absent when not reported. */
  cache_read_input_tokens?: number;
  /** Of the input, tokens written to the prompt cache (Anthropic; priced higher); absent when not reported. */
  cache_write_input_tokens?: number;
}

/** What the provider answered, reassembled from JSON or SSE, in the form the client will echo back. */
export interface CapturedReply {
  /** One canonical message per choice (OpenAI `n` may give several). */
  replies: CanonicalMessage[];
  usage: Usage | null;
  /** Provider-side response id (Responses API `resp_…`), used to link `previous_response_id`. */
  responseId?: string;
  model?: string;
  /** The provider's id of this answer (`chatcmpl-…`, `msg_…`, `resp_…`), for telemetry; sessions use `responseId`. */
  messageId?: string;
  /** Why generation stopped, one per choice, in the provider's own words (`stop`, `end_turn`, `tool_use`, …). */
  finishReasons?: string[];
  /**
   * A streamed reply reassembled in the provider's own non-streaming shape (what a JSON response would
   * have held), for traces and message logs. Absent for JSON responses: their body already is that.
   */
  assembled?: unknown;
  /** `assembled` holds only the start of some long field (records must say the body was cut). */
  truncated?: boolean;
  /** Bytes of the response body as the client received them (for records that cut it). */
  bodyBytes?: number;
  /** USD by the price catalog, set by the gateway once the reply is complete; null when not priced. */
  costUsd?: number | null;
}

/** How a reply decoder may be tuned by whoever reads its result. */
export interface DecoderOptions {
  /**
   * Characters of the reply's text fields kept for `assembled`, all fields together (default KEEP_CHARS,
   * 1 Mi): records (traces, message logs) never show more than their own `max_body_size` anyway.
   */
  keepChars?: number;
}

/** Incremental decoder of one response body; fed the exact bytes the client receives. */
export interface ReplyDecoder {
  onChunk(chunk: Buffer): void;
  end(): CapturedReply | null;
}

/** What an operation reads out of a parsed request body. The conversation is built only when asked for. */
export interface ParsedRequest {
  model?: string;
  stream: boolean;
  /** Session name the body carries (`metadata.session_id`). */
  explicitSessionId?: string;
  /** Responses API: the response this request continues. */
  previousResponseId?: string;
  /** The messages without the system prompt; canonical forms are computed lazily, message by message. */
  conversation(): Conversation;
}

/** One API route of a provider: how to read its requests and its replies. */
export interface Operation {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  /** True when the request body must be valid JSON (malformed JSON answers 400 without calling upstream). */
  jsonBody: boolean;
  /** True for requests that carry a conversation: sessions apply and replies are captured. */
  conversational: boolean;
  parse?(body: unknown): ParsedRequest;
  decoder?(contentType: string, options?: DecoderOptions): ReplyDecoder;
}

/** A provider wire format. Adding a provider is one folder exporting one of these. */
export interface ProviderAdapter {
  name: string;
  operations: Operation[];
  /** Headers that carry the configured key upstream. */
  authHeaders(apiKey: string): Record<string, string>;
  /** The credential the client itself sent, if any; a client's own key wins over the configured one. */
  clientCredential(headers: Record<string, string | string[] | undefined>): string | undefined;
  /** An error body in this provider's own shape (a 429 its SDKs understand), for answers the gateway gives. */
  errorBody(type: string, code: string, message: string): unknown;
}
